"""Runs every tool on every case, interleaved, and keeps what each measured and reported."""

from __future__ import annotations

import gc
import sys
from dataclasses import dataclass, field

import torch
from torch import nn

from benchmarks.cases import Case
from benchmarks.measure import Timing, peak_memory_mib, time_call
from benchmarks.tools import RUNNERS, Tool, Totals


@dataclass
class Row:
    """One tool on one case: its wall times, peak memory and reported totals, or why it has none."""

    case: str
    device: str
    input: str
    tool: str
    samples_ms: list[float] = field(default_factory=list)
    cpu_samples_ms: list[float] = field(default_factory=list)
    peak_mib: float | None = None
    params: int | None = None
    flops: int | None = None
    error: str | None = None

    @property
    def timing(self) -> Timing | None:
        """Return the timing summary, None when the tool did not run."""
        return Timing(self.samples_ms, self.cpu_samples_ms) if self.samples_ms else None


def _one_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:200]


def run_case(case: Case, tools: list[Tool], repeats: int) -> list[Row]:
    """Return one row per tool for `case`: a warm-up each, then `repeats` rounds, then a memory run.

    The tools take turns within each round, so a change of load on a shared machine falls on all of
    them alike instead of on whichever tool happened to run then.
    """
    rows = {tool: Row(case.label, case.device, case.input_text, tool.value) for tool in tools}
    if case.skip:
        for row in rows.values():
            row.error = f"skipped: {case.skip}"
        return list(rows.values())
    try:
        model, data = case.make_model(), case.make_input()
    except Exception as error:  # a case that cannot be built is reported, not fatal
        for row in rows.values():
            row.error = f"build failed: {_one_line(error)}"
        return list(rows.values())
    # With torch._dynamo imported the heap holds millions of objects and a full collection takes
    # ~0.2 s; frozen, the collection before each run only walks what the tools left behind.
    gc.collect()
    gc.freeze()
    try:
        _measure(rows, model, data, torch.device(case.device), repeats)
    finally:
        gc.unfreeze()
    del model, data
    gc.collect()
    return list(rows.values())


def _measure(rows: dict[Tool, Row], model: nn.Module, data: torch.Tensor, device: torch.device, repeats: int) -> None:
    calls = {tool: (lambda tool=tool: RUNNERS[tool](model, data, device)) for tool in rows}
    live = []
    for tool in rows:  # warm-up: first-use costs (lazy imports, kernel choice) are not the tool's speed
        try:
            totals: Totals = calls[tool]()
        except Exception as error:
            rows[tool].error = _one_line(error)
            continue
        rows[tool].params, rows[tool].flops = totals.params, totals.flops
        live.append(tool)
    gc.collect()
    gc.freeze()  # what the warm-ups imported lazily stays for good: out of the collections too
    for _ in range(repeats):
        for tool in live:
            wall_ms, cpu_ms = time_call(calls[tool], device)
            rows[tool].samples_ms.append(wall_ms)
            rows[tool].cpu_samples_ms.append(cpu_ms)
    for tool in live:
        rows[tool].peak_mib = peak_memory_mib(calls[tool], device)


def run_all(cases: list[Case], tools: list[Tool], repeats: int) -> list[Row]:
    """Return the rows of every case, printing one progress line per case."""
    rows: list[Row] = []
    for case in cases:
        case_rows = run_case(case, tools, repeats)
        rows += case_rows
        summary = ", ".join(
            f"{row.tool} {row.timing.median_ms:.0f} ms" if row.timing else f"{row.tool} —" for row in case_rows
        )
        print(f"{case.label} [{case.device}]: {summary}", file=sys.stderr, flush=True)
    return rows
