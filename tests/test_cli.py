"""The CLI: the documented JSON, the formats, and one-line errors with exit status 2."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
import torch
from torch import nn

from inspector.cli import main
from models import ZOO

MODEL_KEYS = {
    "model",
    "device",
    "input_size",
    "output_shape",
    "total_params",
    "trainable_params",
    "non_trainable_params",
    "flops",
    "macs",
    "layers",
}
LAYER_KEYS = {"name", "type", "depth", "input_shape", "output_shape", "weight_shapes", "params", "flops"}


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_model_json_schema(capsys):
    status, out, _ = run_cli(capsys, "model", "alexnet", "--format", "json", "--device", "meta")
    assert status == 0
    document = json.loads(out)
    assert document.keys() >= MODEL_KEYS
    assert all(layer.keys() >= LAYER_KEYS for layer in document["layers"])
    model = ZOO["alexnet"].build()
    assert document["total_params"] == sum(p.numel() for p in model.parameters())
    assert document["output_shape"] == [1, 1000]
    assert document["macs"] == document["flops"] // 2


def test_model_depth_and_kwargs(capsys):
    status, out, _ = run_cli(
        capsys, "model", "lenet5", "--kwargs", '{"num_classes": 7}', "--depth", "1", "--format", "json"
    )
    document = json.loads(out)
    assert status == 0 and document["output_shape"] == [1, 7]
    assert max(layer["depth"] for layer in document["layers"]) == 1


def test_model_import_path(capsys, tmp_path, monkeypatch):
    (tmp_path / "mynet.py").write_text(
        "from torch import nn\n"
        "class Net(nn.Sequential):\n"
        "    def __init__(self, width=8):\n"
        "        super().__init__(nn.Linear(4, width), nn.ReLU(), nn.Linear(width, 2))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    status, out, _ = run_cli(
        capsys, "model", "mynet:Net", "--kwargs", '{"width": 16}', "--input-size", "3,4", "--format", "json"
    )
    assert status == 0
    # 4·16 + 16 + 16·2 + 2 = 114
    assert json.loads(out)["total_params"] == 114


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_model_formats(capsys, fmt):
    status, out, _ = run_cli(capsys, "model", "mlp", "--format", fmt)
    assert status == 0
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
        assert [row["name"] for row in rows] == ["", "hidden", "act", "output"]
        assert rows[1]["weight_shapes"] == json.dumps({"weight": [256, 784], "bias": [256]})
    else:
        assert "203,530" in out and "(256, 784)" in out


def test_layer_json_has_formulas(capsys):
    status, out, _ = run_cli(
        capsys,
        "layer",
        "Conv2d",
        "--in-channels",
        "1",
        "--kernel-size",
        "5,3",
        "--padding",
        "2,1",
        "--input-size",
        "1,1,8,8",
        "--format",
        "json",
    )
    document = json.loads(out)
    assert status == 0
    real = nn.Conv2d(1, 1, (5, 3), padding=(2, 1))
    assert document["output_shape"] == list(real(torch.randn(1, 1, 8, 8)).shape)
    assert document["output_formulas"][0]["formula"] == "⌊(8 + 2·2 − 1·(5 − 1) − 1)/1⌋ + 1 = 8"
    assert document["param_count"] == sum(p.numel() for p in real.parameters())
    assert document["model_report"]["layers"][0]["weight_shapes"] == {"weight": [1, 1, 5, 3], "bias": [1]}


def test_listings(capsys):
    for command in ("zoo", "devices", "layers"):
        status, out, _ = run_cli(capsys, command, "--format", "json")
        assert status == 0 and json.loads(out)
    status, out, _ = run_cli(capsys, "zoo")
    assert "resnet50" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["model", "resnet5000"],
        ["model", "alexnet", "--input-size", "1,3,x"],
        ["model", "alexnet", "--device", "cuda:9"],
        ["model", "alexnet", "--format", "yaml"],
        ["model", "alexnet", "--kwargs", "{not json"],
        ["model", "alexnet", "--kwargs", '{"num_classes": -1}'],
        ["model", "alexnet", "--depth", "-1"],
        ["model", "mlp", "--input-size", "1,700"],
        ["model", "no.such.module:Net", "--input-size", "1,2"],
        ["layer", "Conv9d"],
        ["layer", "Conv2d", "--kernel-size", "9", "--input-size", "1,1,4,4"],
        ["layer", "Conv2d", "--stride", "2", "--padding", "same"],
        ["layer", "Conv2d", "--in-channels", "4", "--groups", "3"],
        ["layer", "Conv2d", "--unknown-flag", "1"],
        ["frobnicate"],
        [],
    ],
)
def test_user_errors_exit_2_with_one_line(capsys, argv):
    status, out, err = run_cli(capsys, *argv)
    assert status == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")


def test_subprocess_has_no_traceback():
    result = subprocess.run(
        [sys.executable, "-m", "inspector", "layer", "Conv2d", "--groups", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
