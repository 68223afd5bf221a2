"""Speed where people feel it (issue 16), checked without timing anything.

A fresh `import inspector.cli` leaves the heavy libraries unloaded (they cost seconds of a CLI
run), a forward inspected on cpu does not pull in torch._dynamo, nor does a Linear layer's question
(its pre-flight figure is arithmetic, equal to the meta run's), the counter's direct FLOP formulas
count what FlopCounterMode counts, and the overhead benchmark's many-small-ops models give
inspect_model exactly FlopCounterMode's FLOPs.
"""

from __future__ import annotations

import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode, flop_registry

from benchmarks.overhead import CASES, measure_case, swin_like, table
from inspector import inspect_model
from inspector.core.flops import EXTRA_FORMULAS, FlopCounter, _direct
from inspector.core.preflight import forward_peak
from inspector.lab.arithmetic_plan import linear_forward
from inspector.layers.args import normalize_args
from inspector.layers.specs import get_layer_spec

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


def test_a_linear_layer_question_runs_no_meta_kernel_that_imports_dynamo_or_sympy() -> None:
    code = (
        "import sys\nfrom inspector.lab.inspection import inspect_layer\n"
        "inspect_layer('Linear', {'in_features': 784, 'out_features': 256})\n"
        "assert 'sympy' not in sys.modules"
    )
    assert _loaded_after(code) == set()


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_linear_arithmetic_plan_is_the_meta_run(bias: bool, dtype: torch.dtype) -> None:
    spec = get_layer_spec("Linear")
    args = normalize_args(spec.args, {"in_features": 12, "out_features": 5, "bias": bias}, spec.name)
    layer = nn.Linear(12, 5, bias=bias, device="meta", dtype=dtype)
    for size in [(12,), (1, 12), (7, 12), (2, 3, 12), (2, 1, 3, 4, 12)]:
        assert linear_forward(spec, args, size, dtype) == forward_peak(layer, size, dtype), size
    for size in [(2, 11), (2, 12, 3)]:  # a mismatch is left to the meta run, which reports the failure
        assert linear_forward(spec, args, size, dtype) is None


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


def _matmul_and_conv_ops(x: torch.Tensor) -> torch.Tensor:
    """Every op with a FLOP formula that a cpu forward reaches: mm, addmm, bmm, baddbmm, convolutions, attention."""
    b = torch.randn(3, 4, 5)
    y = torch.mm(x, x.T) + torch.addmm(torch.randn(6), x, torch.randn(6, 6)).sum()
    y = y + torch.bmm(b, b.transpose(1, 2)).sum() + torch.baddbmm(torch.randn(3, 4, 4), b, b.transpose(1, 2)).sum()
    image = torch.randn(1, 2, 5, 5)
    y = y + torch.nn.functional.conv2d(image, torch.randn(3, 2, 3, 3), stride=2).sum()
    y = y + torch.nn.functional.conv_transpose1d(image[:, :, 0], torch.randn(2, 3, 2), stride=3).sum()
    q = torch.randn(1, 2, 7, 8)
    return y + torch.nn.functional.scaled_dot_product_attention(q, q, q, is_causal=True).sum()


def test_direct_formulas_count_what_flop_counter_mode_counts() -> None:
    # The counter calls torch's formulas without their pytree wrapper (inspector.core.flops._direct).
    x = torch.randn(6, 6)
    with FlopCounterMode(display=False, custom_mapping=EXTRA_FORMULAS) as reference:
        _matmul_and_conv_ops(x)
    with FlopCounter() as ours:
        _matmul_and_conv_ops(x)
    assert ours.get_total_flops() == reference.get_total_flops() > 0


def test_a_formula_given_an_unusual_argument_takes_torchs_own_wrapper() -> None:
    formula = flop_registry[torch.ops.aten.mm]
    a, b = torch.randn(2, 3), torch.randn(3, 4)
    odd = OrderedDict(out=torch.randn(2, 4))  # a pytree node _shapes does not take apart
    assert _direct(formula)(a, b, out_val=odd) == formula(a, b, out_val=odd) == 2 * 2 * 3 * 4  # 2·m·k·n


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
