"""The benchmark stays runnable: `--quick` writes its table and JSON, with totals that agree.

Nothing here asserts on time: the timings of a shared test machine mean nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from benchmarks.cli import main
from benchmarks.tools import Tool
from benchmarks.vit import vit_b16

pytestmark = pytest.mark.slow  # one quick benchmark run, shared by the tests: ~15 s on a quiet machine

QUICK_CASES = {"mlp", "lenet5", "gpt 2-layer"}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench") / "results.md"
    # One thread: the test only checks numbers, and a busy CI machine is kinder to one thread.
    assert main(["--quick", "--skip-app", "--no-png", "--threads", "1", "--out", str(out)]) == 0
    return out


def _rows(out: Path) -> dict[tuple[str, str, str], dict]:
    data = json.loads((out.parent / "results.json").read_text())
    return {(row["case"], row["device"], row["tool"]): row for row in data["rows"]}


def test_quick_run_writes_table_json_and_chart(quick_run: Path) -> None:
    text = quick_run.read_text()
    assert "| model | device | input | tool | median ms |" in text
    for case in QUICK_CASES:
        assert f"| {case} | cpu |" in text and f"| {case} | meta |" in text
    assert "## What the time goes to" in text
    assert (quick_run.parent / "ratios.html").exists()
    data = json.loads((quick_run.parent / "results.json").read_text())
    assert data["settings"]["quick"] and data["machine"]["cores"]
    assert "error" not in data["fresh_process"], data["fresh_process"]


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("case", sorted(QUICK_CASES))
def test_our_flops_equal_flop_counter_mode(quick_run: Path, case: str, device: str) -> None:
    rows = _rows(quick_run)
    ours = rows[(case, device, Tool.OURS)]
    assert ours["error"] is None and ours["samples_ms"]
    assert ours["flops"] == rows[(case, device, Tool.FLOP_COUNTER_ATTENTION)]["flops"]
    assert ours["delta_pct"] == 0
    if device == "meta" or not case.startswith("gpt"):  # plain FlopCounterMode misses CPU attention only
        assert ours["flops"] == rows[(case, device, Tool.FLOP_COUNTER)]["flops"]


def test_quick_run_has_the_speed_section(quick_run: Path) -> None:
    text = quick_run.read_text()
    assert "## Speed where people feel it (issue 16)" in text
    assert "| `import torch` |" in text and "| gpt 12×128, 64 tokens |" in text
    speed = json.loads((quick_run.parent / "results.json").read_text())["speed"]
    assert set(speed["overhead"]["swin-like 8×64, 16×16 map"]) >= {"forward", "torchinfo", "inspect_model"}


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_parameters_equal_torchinfo_except_its_tied_double_count(quick_run: Path, device: str) -> None:
    rows = _rows(quick_run)
    for case in ("mlp", "lenet5"):
        assert rows[(case, device, Tool.OURS)]["params"] == rows[(case, device, Tool.TORCHINFO)]["params"]
    ours, torchinfo = (rows[("gpt 2-layer", device, tool)]["params"] for tool in (Tool.OURS, Tool.TORCHINFO))
    # torchinfo counts the tied wte/lm_head matrix twice: vocab 1024 · n_embd 128 = 131,072 more.
    assert torchinfo - ours == 131_072


def test_vit_encoder_has_torchvision_vit_b16_parameter_count() -> None:
    with torch.device("meta"):
        model = vit_b16()
    # patch conv 768·3·16·16 + 768 = 590,592; CLS 768; positions 197·768 = 151,296;
    # per block: qkv 3·768·768 + 3·768 = 1,771,776, out 768·768 + 768 = 590,592,
    # MLP 768·3072 + 3072 + 3072·768 + 768 = 4,722,432, two LayerNorms 4·768 = 3,072 → 7,087,872;
    # 12 blocks = 85,054,464; final LayerNorm 1,536; head 768·1000 + 1000 = 769,000.
    # 590,592 + 768 + 151,296 + 85,054,464 + 1,536 + 769,000 = 86,567,656
    assert sum(p.numel() for p in model.parameters()) == 86_567_656
