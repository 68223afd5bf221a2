"""The tools compared, each run the way its users run it, and what each reports.

Every runner takes the same built model, the same input tensor and the same device, and returns
the totals the tool reports in one convention: FLOPs = 2 · MACs (FlopCounterMode's; torchinfo's
"mult-adds", fvcore's "flops" and ptflops' "MACs" each count one multiply–accumulate, so they
are doubled). A tool that reports no parameter count gives None.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum

import torch
import torch._dynamo  # every tool's first op imports it lazily, and ptflops' patches break that import
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from torchinfo import summary

from inspector import inspect_model
from inspector.core.flops import EXTRA_FORMULAS


class Tool(StrEnum):
    """The tools in the comparison, named as the table shows them."""

    OURS = "inspect_model"
    TORCHINFO = "torchinfo"
    FLOP_COUNTER = "FlopCounterMode"
    # FlopCounterMode set up as inspect_model sets it up (attention formula for the CPU kernel,
    # MHA fast path off): the like-for-like reference, which shows where the plain one counts 0.
    FLOP_COUNTER_ATTENTION = "FlopCounterMode+attn"
    FVCORE = "fvcore"
    PTFLOPS = "ptflops"


@dataclass(frozen=True)
class Totals:
    """What a tool reports: parameters (None when it counts none) and FLOPs (2 · MACs)."""

    params: int | None
    flops: int


Runner = Callable[[nn.Module, torch.Tensor, torch.device], Totals]
OPTIONAL_PEERS = {Tool.FVCORE: "fvcore", Tool.PTFLOPS: "ptflops"}


def run_ours(model: nn.Module, data: torch.Tensor, device: torch.device) -> Totals:
    """Return inspect_model's totals (its own FLOPs are FlopCounterMode's; no conversion)."""
    report = inspect_model(model, input_data=data, device=device)
    return Totals(report.total_params, report.flops)


def run_torchinfo(model: nn.Module, data: torch.Tensor, device: torch.device) -> Totals:
    """Return torchinfo.summary's totals; its mult-adds are MACs, so FLOPs are twice them."""
    stats = summary(model, input_data=data, device=device, verbose=0, mode="eval")
    return Totals(stats.total_params, 2 * stats.total_mult_adds)


def run_flop_counter(model: nn.Module, data: torch.Tensor, device: torch.device) -> Totals:
    """Return plain FlopCounterMode's total for a bare forward, as a user would run it."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(data)
    return Totals(None, counter.get_total_flops())


@contextlib.contextmanager
def _mha_fastpath(enabled: bool) -> Iterator[None]:
    before = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(enabled)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(before)


def run_flop_counter_attention(model: nn.Module, data: torch.Tensor, device: torch.device) -> Totals:
    """Return FlopCounterMode's total with attention counted on CPU too (see inspector/core/flops.py)."""
    counter = FlopCounterMode(display=False, custom_mapping=EXTRA_FORMULAS)
    with _mha_fastpath(False), counter, torch.no_grad():
        model(data)
    return Totals(None, counter.get_total_flops())


def run_fvcore(model: nn.Module, data: torch.Tensor, device: torch.device) -> Totals:
    """Return fvcore's totals; its "flops" are MACs (one per multiply–accumulate), doubled here."""
    from fvcore.nn import FlopCountAnalysis, parameter_count

    logging.getLogger("fvcore").setLevel(logging.ERROR)  # one warning per unsupported op otherwise
    with torch.no_grad():
        analysis = FlopCountAnalysis(model, data)
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
        return Totals(parameter_count(model)[""], 2 * int(analysis.total()))


def run_ptflops(model: nn.Module, data: torch.Tensor, device: torch.device) -> Totals:
    """Return ptflops' totals (pytorch backend), as FLOPs for the whole batch.

    ptflops divides its module MACs by the batch size (MACs per sample): multiplied back here,
    which also multiplies its few functional-op MACs, a small over-count for batches > 1 only.
    """
    from ptflops import get_model_complexity_info

    with torch.no_grad(), contextlib.redirect_stdout(io.StringIO()) as printed:
        macs, params = get_model_complexity_info(
            model,
            tuple(data.shape[1:]),
            print_per_layer_stat=False,
            as_strings=False,
            input_constructor=lambda _: data,
            verbose=False,
        )
    if macs is None:  # ptflops prints the exception instead of raising it
        raise RuntimeError(printed.getvalue().strip().splitlines()[-1] if printed.getvalue().strip() else "failed")
    return Totals(int(params), int(2 * macs * len(data)))


RUNNERS: dict[Tool, Runner] = {
    Tool.OURS: run_ours,
    Tool.TORCHINFO: run_torchinfo,
    Tool.FLOP_COUNTER: run_flop_counter,
    Tool.FLOP_COUNTER_ATTENTION: run_flop_counter_attention,
    Tool.FVCORE: run_fvcore,
    Tool.PTFLOPS: run_ptflops,
}


def available_tools() -> tuple[list[Tool], dict[Tool, str]]:
    """Return the tools that can run here, and why each missing optional peer is missing."""
    tools, missing = [], {}
    for tool in Tool:
        module = OPTIONAL_PEERS.get(tool)
        if module is not None and importlib.util.find_spec(module) is None:
            missing[tool] = f"{module} is not installed (pip install -r benchmarks/requirements-extra.txt)"
            continue
        tools.append(tool)
    return tools, missing
