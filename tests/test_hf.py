"""Hugging Face architectures from their config: counts from torch's numel(), FLOPs from FlopCounterMode.

Built on meta from the reference configs in models/hf/ (no weights, no network), and on cpu from a small
config written by the test, where the real forward's output shape is the reference too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from inspector.core.errors import InspectorError, InvalidArgumentError, UnknownNameError
from inspector.model.hf import build_hf_model, hf_inputs, inspect_hf_model, load_source, shelf

pytest.importorskip("transformers")


def _torch_counts(name: str, seq_len: int = 8) -> tuple[int, int]:
    """Return torch's own parameter count (each tied tensor once) and FlopCounterMode's total on meta."""
    source = load_source(name)
    model = build_hf_model(source, "meta")
    with FlopCounterMode(display=False) as counter:
        model(**hf_inputs(source, 1, seq_len, "meta"))
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops()


@pytest.mark.parametrize("name", sorted(shelf()))
def test_shelf_config_counts_equal_torch(name: str) -> None:
    report = inspect_hf_model(name, seq_len=8)
    params, flops = _torch_counts(name)
    assert report.total_params == params
    assert report.flops == flops > 0


# The published counts, each with its arithmetic:
PUBLISHED = {
    # wte 50257·768 + wpe 1024·768 + 12 blocks × 7,087,872 + ln_f 2·768 (lm_head tied to wte);
    # a block: 2 LayerNorms 2·(2·768) + c_attn 768·2304+2304 + c_proj 768·768+768
    #          + c_fc 768·3072+3072 + c_proj 3072·768+768
    "gpt2": 38_597_376 + 786_432 + 12 * 7_087_872 + 1_536,  # = 124,439,808
    # embeddings 30522·768 + 512·768 + 2·768 + LN 1536 + 12 layers × 7,087,872 + pooler 768·768+768
    "bert-base-uncased": 23_837_184 + 12 * 7_087_872 + 590_592,  # = 109,482,240
    # shared 32128·512; encoder 6 × (4·512² + 2·512·2048 + 2·512) + relative bias 32·8 + LN 512;
    # decoder 6 × (8·512² + 2·512·2048 + 3·512) + 32·8 + 512 (lm_head tied to shared)
    "t5-small": 16_449_536 + (6 * 3_146_752 + 256 + 512) + (6 * 4_195_840 + 256 + 512),  # = 60,506,624
    # embed 32000·4096, twice (lm_head untied) + 32 × (4·4096² + 3·4096·11008 + 2·4096) + final norm 4096
    "llama-2-7b": 2 * 131_072_000 + 32 * 202_383_360 + 4_096,  # = 6,738,415,616
}


@pytest.mark.parametrize(("name", "expected"), sorted(PUBLISHED.items()))
def test_published_counts(name: str, expected: int) -> None:
    assert inspect_hf_model(name, seq_len=4).total_params == expected


def test_a_small_config_file_runs_for_real_on_cpu(tmp_path: Path) -> None:
    config = json.loads((Path(__file__).parent.parent / "models" / "hf" / "gpt2.json").read_text())
    config.update(n_layer=2, n_embd=64, n_head=4, vocab_size=1000, n_positions=64)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    report = inspect_hf_model(f"hf:{path}", batch_size=2, seq_len=10, device="cpu")
    source = load_source(str(tmp_path))  # the folder holding config.json names the same config
    model = build_hf_model(source, "cpu")
    with FlopCounterMode(display=False) as counter:
        logits = model(**hf_inputs(source, 2, 10, "cpu")).logits
    assert report.output_shape["logits"] == list(logits.shape) == [2, 10, 1000]
    assert report.flops == counter.get_total_flops()
    assert report.total_params == sum(p.numel() for p in model.parameters())


def test_encoder_decoder_and_vision_inputs() -> None:
    t5 = hf_inputs(load_source("t5-small"), 2, 5)
    assert sorted(t5) == ["decoder_input_ids", "input_ids"] and t5["input_ids"].dtype == torch.long
    vit = hf_inputs(load_source("vit-base-patch16-224"), 2)
    assert list(vit["pixel_values"].shape) == [2, 3, 224, 224]


@pytest.mark.parametrize(
    ("text", "error", "words"),
    [
        ("{not json", InvalidArgumentError, "not valid JSON"),
        ("[1, 2]", InvalidArgumentError, "must be a JSON object"),
        ('{"model_type": "evil", "auto_map": {"AutoModel": "x.Y"}}', UnknownNameError, "transformers ships"),
        ('{"model_type": "gpt2", "n_embd": -5}', InspectorError, "hf:"),
        ("[" * 100_000, InvalidArgumentError, "not valid JSON"),
        (" " * (2 << 20), InvalidArgumentError, "the limit is 1,048,576"),
    ],
)
def test_hostile_configs_get_one_clear_error(tmp_path: Path, text: str, error: type, words: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(text)
    with pytest.raises(error) as raised:
        inspect_hf_model(str(path), seq_len=4)
    assert words in str(raised.value)


def test_unknown_source_bad_head_and_sizes() -> None:
    with pytest.raises(UnknownNameError, match="reference configs: gpt2"):
        load_source("hf:no-such-model")
    with pytest.raises(InvalidArgumentError, match="head must be one of base, causal-lm"):
        load_source("gpt2", head="regression")
    with pytest.raises(InvalidArgumentError, match="sequence length must be a whole number from 1 to 1,048,576, got 0"):
        inspect_hf_model("gpt2", seq_len=0)
