"""One resolver for every model name: a file path, token ids, hf: configs, in `model`, `memory`, `train-step`,
`checkpoint --against` and `init`. Counts and shapes are compared with torch's own, on the real modules."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
import torch

from inspector.cli import main
from inspector.model.sources import META_ABOVE_PARAMS, import_model_target, model_source, resolve_model
from tests.test_hf import PUBLISHED

pytest.importorskip("transformers")

CNN_FILE = """
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3)
        self.head = nn.Linear(width * 6 * 6, 5)

    def forward(self, x):
        return self.head(torch.flatten(torch.relu(self.conv(x)), 1))
"""

TOKEN_FILE = """
from torch import nn

class Bag(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(50, 8)
        self.out = nn.Linear(8, 3)

    def forward(self, ids):
        return self.out(self.embed(ids))
"""

TINY_LLAMA = {
    "model_type": "llama",
    "architectures": ["LlamaForCausalLM"],
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "num_key_value_heads": 2,
    "vocab_size": 100,
    "max_position_embeddings": 64,
}


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def test_a_model_file_by_path_matches_torch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "net.py", CNN_FILE)
    argv = ("model", f"{path}:Net", "--kwargs", '{"width": 6}', "--input-size", "2,3,8,8", "--format", "json")
    status, out, err = run_cli(capsys, *argv)
    assert status == 0, err
    document = json.loads(out)
    reference = import_model_target(f"{path}:Net")(width=6)
    assert document["total_params"] == sum(p.numel() for p in reference.parameters())
    assert document["output_shape"] == list(reference(torch.zeros(2, 3, 8, 8)).shape)


def test_token_ids_by_input_dtype(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "bag.py", TOKEN_FILE)
    status, _, err = run_cli(capsys, "model", f"{path}:Bag", "--input-size", "2,7")
    assert status == 2 and "Embedding" in err  # float input to an embedding: torch refuses, named in one line
    status, out, err = run_cli(
        capsys, "model", f"{path}:Bag", "--input-size", "2,7", "--input-dtype", "int64", "--format", "json"
    )
    assert status == 0, err
    reference = import_model_target(f"{path}:Bag")()
    assert json.loads(out)["output_shape"] == list(reference(torch.zeros(2, 7, dtype=torch.long)).shape)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("raise RuntimeError('broken on purpose')\n", "broken on purpose"),
        ("import sys\nsys.exit(4)\n", "SystemExit"),
        ("x = 1\n", "no attribute 'Net'"),
    ],
)
def test_a_file_that_fails_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, words: str
) -> None:
    path = _write(tmp_path, "bad.py", text)
    status, out, err = run_cli(capsys, "model", f"{path}:Net", "--input-size", "1,3")
    assert (status, out) == (2, "")
    assert words in err and err.count("\n") == 1


def test_missing_file_and_malformed_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(capsys, "model", f"{tmp_path}/none.py:Net", "--input-size", "1,3")[2].startswith(
        "error: no Python file"
    )
    assert "path/to/file.py:ClassName" in run_cli(capsys, "model", f"{tmp_path}/none.py:", "--input-size", "1")[2]


def test_hf_gpt2_json_counts_the_published_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(capsys, "model", "hf:gpt2", "--seq-len", "16", "--format", "json")
    assert (status, err) == (0, "")  # 124M parameters: under the meta threshold, so run for real on cpu
    document = json.loads(out)
    assert document["total_params"] == PUBLISHED["gpt2"]  # = 124,439,808; its arithmetic is in tests/test_hf.py
    assert document["device"] == "cpu"
    # logits (batch 1, 16 tokens, vocabulary 50,257)
    assert document["output_shape"] == {"logits": [1, 16, 50257]}


def test_a_big_hf_model_runs_on_meta_with_a_notice(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_cli(capsys, "model", "hf:llama-2-7b", "--seq-len", "8", "--format", "json")
    assert status == 0
    assert PUBLISHED["llama-2-7b"] > META_ABOVE_PARAMS and "inspected on meta" in err
    assert json.loads(out)["device"] == "meta"
    assert json.loads(out)["total_params"] == PUBLISHED["llama-2-7b"]  # = 6,738,415,616 (tests/test_hf.py)


def test_hf_settings_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_cli(capsys, "model", "hf:gpt2", "--input-size", "1,8")
    assert status == 2 and "--seq-len" in err
    status, _, err = run_cli(capsys, "model", "hf:gpt2", "--seq-len", "0")
    assert status == 2 and "sequence length" in err
    status, _, err = run_cli(capsys, "model", "hf:gpt2", "--head", "nope")
    assert status == 2 and "head must be one of" in err


def test_batch_size_sets_a_zoo_models_default_batch(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run_cli(capsys, "model", "lenet5", "--batch-size", "3", "--format", "json", "--device", "meta")
    assert status == 0 and json.loads(out)["output_shape"] == [3, 10]  # (batch 3, 10 digits)
    status, _, err = run_cli(capsys, "model", "lenet5", "--batch-size", "3", "--input-size", "2,1,28,28")
    assert status == 2 and "not both" in err


def test_memory_of_an_hf_model_counts_torchs_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ("memory", "hf:gpt2", "--input-size", "32", "--batch-size", "2", "--dtype", "bf16", "--optimizer", "adamw")
    status, out, err = run_cli(capsys, *argv, "--format", "json")
    assert status == 0, err
    estimate = json.loads(out)["estimate"]
    assert estimate["parameter_count"] == PUBLISHED["gpt2"]
    assert estimate["parameters"] == PUBLISHED["gpt2"] * 2  # bf16: 2 bytes a parameter
    assert estimate["output_shape"] == [2, 32, 50257]  # the logits the loss scores: (batch, tokens, vocabulary)
    assert estimate["activations"] > 0


def test_train_step_of_a_7b_on_cpu_is_refused_by_the_memory_guard(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ("train-step", "hf:llama-2-7b", "--input-size", "16", "--batch-size", "1", "--dtype", "bf16")
    status, out, err = run_cli(capsys, *argv)
    assert (status, out) == (2, "")
    assert "would need" in err and "memory" in err and err.count("\n") == 1


def test_train_step_of_a_tiny_hf_config_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(TINY_LLAMA))
    argv = ("train-step", f"hf:{config}", "--input-size", "8", "--batch-size", "2", "--steps", "1", "--warmup", "0")
    status, out, err = run_cli(capsys, *argv, "--format", "json")
    assert status == 0, err
    assert len(json.loads(out)["losses"]) == 1


def test_checkpoint_against_an_hf_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from safetensors.torch import save_file

    config = tmp_path / "config.json"
    config.write_text(json.dumps(TINY_LLAMA))
    model = resolve_model(f"hf:{config}", device="cpu").module
    file = tmp_path / "tiny.safetensors"
    save_file({name: tensor.contiguous() for name, tensor in model.state_dict().items()}, file)
    status, out, _ = run_cli(capsys, "checkpoint", str(file), "--against", f"hf:{config}", "--format", "json")
    assert status == 0 and json.loads(out)["match"]["fits"] is True
    status, out, _ = run_cli(capsys, "checkpoint", str(file), "--against", "hf:gpt2", "--format", "json")
    assert status == 0 and json.loads(out)["match"]["fits"] is False


def test_sources_build_what_torch_builds() -> None:
    source = model_source("hf:vit-base-patch16-224")
    assert source.input_size == (1, 3, 224, 224)  # batch 1, 3 channels, the config's 224 px
    assert source.input_dtype is None
    zoo = model_source("lenet5", batch_size=4)
    assert zoo.input_size == (4, 1, 28, 28)  # batch 4 × LeNet's 1×28×28 digits
    built = resolve_model("lenet5", device="meta").module
    # conv 1·6·25+6 + conv 6·16·25+16 + linears 400·120+120 + 120·84+84 + 84·10+10 = 61,706
    assert sum(p.numel() for p in built.parameters()) == 156 + 2_416 + 48_120 + 10_164 + 850
