"""Checkpoints: what torch and safetensors store, read without running code, matched to models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from inspector import InvalidArgumentError
from inspector.checkpoint.match import match_checkpoint, match_module
from inspector.checkpoint.reader import read_checkpoint
from inspector.cli import main
from models import ZOO


def small_model() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.Linear(8, 2))


@pytest.mark.parametrize("form", ["plain.pt", "nested.pth", "model.bin", "weights.safetensors"])
def test_every_tensor_listed_as_torch_has_it(tmp_path, form):
    model = small_model()
    state = model.state_dict()
    path = tmp_path / form
    if form.endswith(".safetensors"):
        save_file(state, path)
    elif form.startswith("nested"):
        torch.save({"state_dict": state, "epoch": 3, "lr": 0.1}, path)
    else:
        torch.save(state, path)
    report = read_checkpoint(path)
    # safetensors stores keys sorted; pickles keep the state_dict's order
    assert sorted((t.name, t.shape, t.dtype) for t in report.tensors) == sorted(
        (name, list(t.shape), str(t.dtype).removeprefix("torch.")) for name, t in state.items()
    )
    assert report.total_numel == sum(t.numel() for t in state.values())
    assert report.total_bytes == sum(t.numel() * t.element_size() for t in state.values())
    # the tree's subtotals add up: module "0" (the conv) holds 8·3·3·3 + 8 = 224 elements
    assert report.tree.children["0"].numel == sum(t.numel() for k, t in state.items() if k.startswith("0."))
    assert report.tree.numel == report.total_numel
    assert report.container_key == ("state_dict" if form.startswith("nested") else None)


def test_pickle_that_would_run_a_command_is_refused(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pt"
    torch.save({"weight": torch.zeros(2), "payload": Payload()}, path)
    with pytest.raises(InvalidArgumentError) as caught:
        read_checkpoint(path)
    assert "refused" in str(caught.value) and "system" in str(caught.value)
    assert not marker.exists()


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_truncated_file_is_a_clear_error(tmp_path, suffix):
    whole = tmp_path / f"whole{suffix}"
    state = small_model().state_dict()
    save_file(state, whole) if suffix == ".safetensors" else torch.save(state, whole)
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    with pytest.raises(InvalidArgumentError, match="truncated or corrupt"):
        read_checkpoint(cut)


def test_size_limit(tmp_path, monkeypatch):
    path = tmp_path / "big.pt"
    torch.save({"w": torch.zeros(300_000)}, path)  # 300,000·4 bytes ≈ 1.2 MB
    monkeypatch.setenv("INSPECTOR_MAX_CHECKPOINT_MB", "1")
    with pytest.raises(InvalidArgumentError, match="over the 1 MB limit"):
        read_checkpoint(path)


@pytest.mark.parametrize(
    ("name", "content"), [("x.txt", b"hello"), ("none.pt", None), ("list.pt", [1, 2]), ("nostate.pt", {"a": 1})]
)
def test_not_a_checkpoint(tmp_path, name, content):
    path = tmp_path / name
    if content is None:
        with pytest.raises(InvalidArgumentError, match="no such file"):
            read_checkpoint(path)
        return
    path.write_bytes(content) if isinstance(content, bytes) else torch.save(content, path)
    with pytest.raises(InvalidArgumentError):
        read_checkpoint(path)


def test_match_fits_and_why_not(tmp_path):
    model = ZOO["resnet18"].build()
    path = tmp_path / "r18.pt"
    torch.save(model.state_dict(), path)
    report = read_checkpoint(path)
    assert match_checkpoint(report, "resnet18").fits
    other = match_checkpoint(report, "resnet18", {"num_classes": 10})
    assert not other.fits
    assert [(m.name, m.file_shape, m.model_shape) for m in other.mismatched] == [
        ("fc.weight", [1000, 512], [10, 512]),
        ("fc.bias", [1000], [10]),
    ]
    # torch agrees: loading into the 10-class model fails on exactly those keys
    with pytest.raises(RuntimeError, match=r"fc\.weight"):
        ZOO["resnet18"].build(num_classes=10).load_state_dict(torch.load(path, weights_only=True))
    wrong = match_checkpoint(report, "resnet50")
    assert not wrong.fits and wrong.missing and "does not fit resnet50" in wrong.verdict


def test_missing_and_unexpected_agree_with_load_state_dict(tmp_path):
    model = small_model()
    state = model.state_dict()
    state.pop("3.bias")
    state["extra.weight"] = torch.zeros(1)
    path = tmp_path / "partial.pt"
    torch.save(state, path)
    match = match_module(read_checkpoint(path), small_model())
    loaded = small_model().load_state_dict(state, strict=False)
    assert match.missing == sorted(loaded.missing_keys)
    assert match.unexpected == sorted(loaded.unexpected_keys)


def test_data_parallel_prefix(tmp_path):
    state = {f"module.{k}": v for k, v in small_model().state_dict().items()}
    path = tmp_path / "dp.pt"
    torch.save(state, path)
    match = match_module(read_checkpoint(path), small_model(), "small")
    assert match.fits and match.strip_prefix == "module."


def test_cli_json_and_errors(tmp_path, capsys):
    path = tmp_path / "mlp.safetensors"
    save_file(ZOO["mlp"].build().state_dict(), path)
    assert main(["checkpoint", str(path), "--against", "mlp", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    # 784·256 + 256 + 256·10 + 10 = 203,530
    assert document["total_numel"] == 203_530 and document["match"]["fits"] is True
    assert main(["checkpoint", str(tmp_path / "nope.pt")]) == 2
    assert capsys.readouterr().err.startswith("error: no such file")


def test_cli_refusal_has_no_side_effect_in_a_fresh_process(tmp_path):
    marker = tmp_path / "pwned"
    script = (
        "import os, torch\n"
        "class P:\n"
        f"    def __reduce__(self): return (os.system, ('touch {marker}',))\n"
        f"torch.save({{'p': P()}}, '{tmp_path / 'evil.pth'}')\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    result = subprocess.run(
        [sys.executable, "-m", "inspector", "checkpoint", str(tmp_path / "evil.pth")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "refused" in result.stderr
    assert not marker.exists()


def test_checkpoint_page_lists_and_matches():
    from streamlit.testing.v1 import AppTest

    root = Path(__file__).resolve().parent.parent
    page = AppTest.from_file(str(root / "app_pages" / "checkpoint.py"), default_timeout=120).run()
    assert not page.exception and page.info  # nothing chosen yet: a hint, no error
    page.selectbox(key="ckpt.example").set_value("lenet5").run()
    model = ZOO["lenet5"].build()
    # the metrics show what torch's state_dict holds
    assert page.metric[1].value == f"{sum(t.numel() for t in model.state_dict().values()):,}"
    page.selectbox(key="ckpt.against").set_value("resnet18").run()
    assert not page.exception and "does not fit resnet18" in page.error[0].value
    page.selectbox(key="ckpt.against").set_value("lenet5").run()
    assert page.success[0].value == "this file fits lenet5"
