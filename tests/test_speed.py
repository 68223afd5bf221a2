"""Speed where people feel it (issue 16), checked without timing anything.

A fresh `import inspector.cli` leaves the heavy libraries unloaded (they cost seconds of a CLI
run), a forward inspected on cpu does not pull in torch._dynamo, and the overhead benchmark's
many-small-ops models give inspect_model exactly FlopCounterMode's FLOPs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.overhead import CASES, measure_case, swin_like, table
from inspector import inspect_model

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("plotly", "pandas", "transformers", "streamlit", "torch._dynamo")


def _loaded_after(code: str) -> set[str]:
    """Return which of HEAVY a fresh interpreter has imported after running `code`."""
    probe = f"{code}\nimport sys\nprint(' '.join(name for name in {HEAVY!r} if name in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_importing_the_cli_loads_no_heavy_library() -> None:
    assert _loaded_after("import inspector.cli") == set()


def test_inspecting_on_cpu_does_not_import_dynamo() -> None:
    # torch wraps every dispatch mode in torch._dynamo.disable, whose first call imports torch._dynamo
    code = (
        "import torch\nfrom inspector import inspect_model\n"
        "inspect_model(torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.LayerNorm(4)), input_size=(2, 8))"
    )
    assert _loaded_after(code) == set()


def test_swin_like_flops_equal_flop_counter_mode() -> None:
    model, x = swin_like(depth=2, dim=32).eval(), torch.randn(1, 8, 8, 32)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    report = inspect_model(model, input_data=x, device="cpu")
    assert report.flops == counter.get_total_flops() > 0
    by_name = counter.get_flop_counts()
    for layer in report.layers:  # FlopCounterMode keys a module by its class name at the top, then by path
        key = "Global" if not layer.name else f"Sequential.{layer.name}"
        assert layer.flops == sum(by_name.get(key, {}).values()), layer.name


def test_overhead_benchmark_runs_and_tabulates() -> None:
    results = {CASES[1].label: measure_case(CASES[1], rounds=1)}
    assert set(results[CASES[1].label]) == {
        "forward",
        "empty dispatch mode",
        "FlopCounterMode",
        "torchinfo",
        "inspect_model",
    }
    assert "| **median over the models** |" in table(results)
