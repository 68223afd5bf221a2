"""What inspect_model adds to a forward, on models made of many small ops (issue 16).

A transformer at a small width spends little time in each op, so whatever a tool adds per op
(a Python dispatch mode) and per module (hooks, shape trees) shows. Five calls on the same model
and input, taking turns in each round: the bare forward under no_grad, FlopCounterMode alone,
torchinfo.summary and inspect_model, and a dispatch mode that only runs each op (the floor for
any per-op count in Python). Times are CPU times of the process (one torch thread), which
a shared machine's load moves less than wall times; the median over the rounds is reported.

`python -m benchmarks.overhead` prints the table; `benchmarks.report` puts it in results.md.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from inspector.model.inspection import inspect_model
from inspector.model.zoo import build_zoo_model

# The GPT: 12 blocks, width 128, 64 tokens (113 modules).
GPT_SMALL = {"n_layer": 12, "n_head": 4, "n_embd": 128, "vocab_size": 1024, "seq_len": 64}


class WindowBlock(nn.Module):
    """A Swin-style block: attention inside 4×4 windows of a (B, H, W, C) map, then an MLP."""

    def __init__(self, dim: int, heads: int, window: int) -> None:
        super().__init__()
        self.heads, self.window = heads, window
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, H, W, C = x.shape
        w = self.window
        windows = self.norm1(x).view(B, H // w, w, W // w, w, C).permute(0, 1, 3, 2, 4, 5).reshape(-1, w * w, C)
        q, k, v = self.qkv(windows).chunk(3, dim=-1)  # each (B·windows, w², C)
        q, k, v = (t.unflatten(-1, (self.heads, -1)).transpose(1, 2) for t in (q, k, v))  # (B·n, heads, w², C/h)
        attn = (q @ k.transpose(-2, -1) * q.shape[-1] ** -0.5).softmax(dim=-1)
        out = self.proj((attn @ v).transpose(1, 2).flatten(2))  # (B·n, w², C)
        out = out.view(B, H // w, W // w, w, w, C).permute(0, 1, 3, 2, 4, 5).reshape(B, H, W, C)
        x = x + out
        return x + self.mlp(self.norm2(x))


def swin_like(depth: int = 8, dim: int = 64, heads: int = 4, window: int = 4) -> nn.Sequential:
    """Return `depth` window-attention blocks at width `dim`: many small ops, like Swin-T's stages."""
    return nn.Sequential(*(WindowBlock(dim, heads, window) for _ in range(depth)))


class EmptyMode(TorchDispatchMode):
    """A dispatch mode that only runs each op: the floor of any per-op counting done in Python."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False  # as inspector.core.flops does

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        return func(*args, **(kwargs or {}))


@dataclass(frozen=True)
class OverheadCase:
    """One many-small-ops model with its input."""

    label: str
    build: Callable[[], nn.Module]
    make_input: Callable[[], torch.Tensor]


CASES = (
    OverheadCase(
        "gpt 12×128, 64 tokens",
        lambda: build_zoo_model("gpt", GPT_SMALL, "cpu"),
        lambda: torch.zeros(1, 64, dtype=torch.long),
    ),
    OverheadCase("swin-like 8×64, 16×16 map", swin_like, lambda: torch.randn(1, 16, 16, 64)),
    OverheadCase(
        "mobilenet_v2, 1×3×96×96",
        lambda: build_zoo_model("mobilenet_v2", {"image_size": 96}, "cpu"),
        lambda: torch.randn(1, 3, 96, 96),
    ),
)


def _tools(model: nn.Module, x: torch.Tensor) -> dict[str, Callable[[], object]]:
    import torchinfo  # an optional benchmark dependency (requirements-extra.txt)

    def counted() -> object:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(x)
        return counter.get_total_flops()

    def summary() -> object:
        return torchinfo.summary(model, input_data=[x], verbose=0, device="cpu")

    def bare() -> object:
        with torch.no_grad():
            return model(x)

    def empty_mode() -> object:
        with EmptyMode(), torch.no_grad():
            return model(x)

    return {
        "forward": bare,
        "empty dispatch mode": empty_mode,
        "FlopCounterMode": counted,
        "torchinfo": summary,
        "inspect_model": lambda: inspect_model(model, input_data=x, device="cpu"),
    }


def measure_case(case: OverheadCase, rounds: int = 7) -> dict[str, float]:
    """Return each tool's median CPU ms on `case`, the tools taking turns in each of `rounds` rounds."""
    model, x = case.build().eval(), case.make_input()
    tools = _tools(model, x)
    for call in tools.values():  # warm-up: first-call costs (imports, kernel selection) are not per-op cost
        call()
    samples: dict[str, list[float]] = {name: [] for name in tools}
    for _ in range(rounds):
        for name, call in tools.items():
            start = time.process_time()
            call()
            samples[name].append((time.process_time() - start) * 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


def measure_all(rounds: int = 7) -> dict[str, dict[str, float]]:
    """Return `measure_case` for every case, with torch on one thread (CPU time then matches a quiet wall time)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return {case.label: measure_case(case, rounds) for case in CASES}
    finally:
        torch.set_num_threads(threads)


def table(results: dict[str, dict[str, float]]) -> str:
    """Return the results as a Markdown table with inspect_model's ratios to three of the others."""
    lines = [
        "| model | forward ms | empty dispatch mode ms | FlopCounterMode ms | torchinfo ms | inspect_model ms "
        "| ours/torchinfo | ours/FlopCounterMode | ours/forward |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for label, ms in results.items():
        ours = ms["inspect_model"]
        times = " | ".join(
            f"{ms[name]:.1f}" for name in ("forward", "empty dispatch mode", "FlopCounterMode", "torchinfo")
        )
        lines.append(
            f"| {label} | {times} | {ours:.1f} "
            f"| {ours / ms['torchinfo']:.2f} | {ours / ms['FlopCounterMode']:.2f} | {ours / ms['forward']:.2f} |"
        )
    ratios = {key: [r["inspect_model"] / r[key] for r in results.values()] for key in ("torchinfo", "FlopCounterMode")}
    lines.append(
        f"| **median over the models** | | | | | | **{statistics.median(ratios['torchinfo']):.2f}** "
        f"| **{statistics.median(ratios['FlopCounterMode']):.2f}** | |"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(measure_all()))
