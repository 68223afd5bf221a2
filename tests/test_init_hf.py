"""The initialisation explorer on Hugging Face configs (`hf:`): real weights, so a size bound, and torch's layers.

A tiny Llama config written here keeps each run to a second; the shelf's 7B is only counted on meta.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from torch import nn

from inspector.cli import main
from inspector.core.errors import InvalidArgumentError
from inspector.init.models import MAX_HF_PARAMS, SMALL_HF, hf_names
from inspector.init.report import compare_with_default, init_report
from inspector.model.sources import model_source

TINY_LLAMA = {
    "model_type": "llama",
    "architectures": ["LlamaForCausalLM"],
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "num_hidden_layers": 3,
    "vocab_size": 100,
    "max_position_embeddings": 128,
}


@pytest.fixture
def tiny(tmp_path: Path) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(TINY_LLAMA))
    return f"hf:{path}"


def test_an_hf_config_is_initialised_layer_by_layer_as_transformers_builds_it(tiny):
    report = init_report(tiny, "kaiming_normal", options={"seq_len": 8}, nonlinearity="relu")
    built = model_source(tiny).build("cpu")  # the same config, built by transformers
    linears = {name: module for name, module in built.named_modules() if isinstance(module, nn.Linear)}
    assert [layer.name for layer in report.initialised_layers()] == list(linears)  # named as transformers names them
    for layer in report.initialised_layers():
        assert layer.weight_shape == tuple(linears[layer.name].weight.shape)
        assert layer.gradient_norm is not None and layer.gradient_norm > 0  # the backward reached every layer
    assert report.input_size == (1, 8)  # one sequence of --seq-len token ids
    embedding = next(layer for layer in report.layers if layer.type == "Embedding")
    assert not embedding.initialised  # kept as transformers built it (and named in the notes)
    assert any("Embedding" in note for note in report.notes)


def test_an_hf_model_beside_pytorchs_default(tiny):
    comparison = compare_with_default(tiny, "xavier_uniform", options={"seq_len": 4}, batch=2)
    assert comparison.chosen.input_size == comparison.default.input_size == (2, 4)
    assert len(comparison.chosen.initialised_layers()) == 3 * 7 + 1  # 3 × (q, k, v, o, gate, up, down) + lm_head


def test_init_hf_on_the_command_line(capsys, tiny):
    assert main(["init", tiny, "--seq-len", "8", "--scheme", "normal", "--std", "0.02", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["input_size"] == [1, 8]
    assert "model.layers.0.self_attn.q_proj" in [layer["name"] for layer in document["layers"]]


def test_a_7b_config_is_refused_before_anything_real_is_built(capsys):
    assert main(["init", "hf:llama-2-7b"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "6,738,415,616" in err  # Llama-2-7B's parameter count, pinned in test_hf
    assert f"{MAX_HF_PARAMS:,}" in err and "hf:gpt2" in err  # the limit, and what fits
    with pytest.raises(InvalidArgumentError) as raised:
        init_report("hf:llama-2-7b")
    assert raised.value.key == "init.hf_too_large"


def test_the_small_shelf_configs_are_those_within_the_limit():
    assert hf_names() == [f"hf:{name}" for name in SMALL_HF]


def test_an_input_size_is_refused_for_an_hf_model(tiny):
    with pytest.raises(InvalidArgumentError):
        init_report(tiny, input_size=(1, 8))
