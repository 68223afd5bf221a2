"""The largest batch that fits a memory budget, and the budget itself.

`largest_batch_size` fits the affine law total(B) = fixed + per_sample · B from two estimates and
checks the answer on either side with real estimates; `parse_budget` reads '24GB', '80 GiB', '16'
or 'device' (the device's real total).
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

import torch
from torch import nn

from inspector.core.devices import resolve_device
from inspector.core.errors import InvalidArgumentError
from inspector.model.sources import ModelSource
from inspector.planner.choices import MAX_BATCH_SIZE, LossName, OptimizerName, Precision, parse_choice
from inspector.planner.estimate import estimate_subject
from inspector.planner.subject import resolve_subject

# GPU makers label memory in binary units: an "A100 80GB" has 81,920 MiB = 80 GiB. So GB, G and
# GiB all mean 2**30 bytes here, and a bare number means GiB, as in the presets.
_UNITS = {"": 2**30, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
BUDGET_PRESETS = {f"{gib} GB": gib * 2**30 for gib in (8, 16, 24, 40, 80)}
MIN_BUDGET = 2**20  # 1 MiB: less cannot hold a model; it is a missing unit
MAX_BUDGET = 2**50  # 1 PiB: no single device comes near it


def device_total_memory(device: torch.device) -> int:
    """Return the device's real total memory in bytes (cpu: MemTotal of /proc/meminfo)."""
    if device.type == "cuda":
        return int(torch.cuda.get_device_properties(device).total_memory)
    if device.type == "mps" and hasattr(torch.mps, "recommended_max_memory"):
        return int(torch.mps.recommended_max_memory())
    if device.type == "cpu":
        with contextlib.suppress(OSError), open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    raise InvalidArgumentError("errors_b.memory_unknown", device=device)


def check_budget(value: object) -> int:
    """Return a budget in bytes after checking it is a finite number between 1 MiB and 1 PiB."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidArgumentError("errors_b.budget_not_number", value=repr(value))
    if not MIN_BUDGET <= value <= MAX_BUDGET:
        raise InvalidArgumentError("errors_b.budget_out_of_range", value=f"{value:,.0f}")
    return int(value)


def parse_budget(text: object, device: str | torch.device | None = None) -> int:
    """Return the bytes of a budget written '24GB', '24 GiB', '80G', '16' (GiB) or 'device' (its total)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return check_budget(text)
    raw = str(text).strip().lower() if isinstance(text, str) else ""
    if raw == "device":
        target = resolve_device(device)
        if target.type == "meta":
            raise InvalidArgumentError("errors_b.budget_on_meta")
        return check_budget(device_total_memory(target))
    match = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(?:i?b)?", raw) or re.fullmatch(r"(\d+)\s*(b)", raw)
    if match is None:
        raise InvalidArgumentError("errors_b.budget_unreadable", text=repr(text), presets=", ".join(BUDGET_PRESETS))
    return check_budget(float(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True)
class BatchSearch:
    """The largest batch whose estimate fits `budget_bytes` (0: not even one sample).

    `fixed_bytes + per_sample_bytes · B` is the affine fit; `measured` lists every (batch, total)
    that was really measured, including the two either side of the answer.
    """

    budget_bytes: int
    largest_batch: int
    fixed_bytes: int
    per_sample_bytes: float
    measured: tuple[tuple[int, int], ...]
    capped: bool  # the budget allows more than MAX_BATCH_SIZE

    def bytes_at(self, batch: int) -> int:
        """Return the fitted total at `batch` (exact where measured: the law is affine)."""
        return dict(self.measured).get(batch, round(self.fixed_bytes + self.per_sample_bytes * batch))

    def to_dict(self) -> dict[str, object]:
        """Return the search as JSON-ready data."""
        return asdict(self)


def _search(total_at: Callable[[int], int], budget: int) -> tuple[int, float, int]:
    """Return (largest fitting batch, per-sample bytes, fixed bytes): fit, solve, then bracket and bisect."""
    one, two = total_at(1), total_at(2)
    per_sample = two - one  # the forward saves the same tensors per sample, so totals are affine
    fixed = one - per_sample
    guess = MAX_BATCH_SIZE if per_sample <= 0 else int((budget - fixed) // per_sample)
    guess = min(max(guess, 1), MAX_BATCH_SIZE)

    def fits(batch: int) -> bool:
        return batch == 0 or (batch <= MAX_BATCH_SIZE and total_at(batch) <= budget)

    # The guess is checked with a real measurement either side; should the law bend, the bracket
    # widens by doubling steps and bisection finishes, so the answer is right in any case.
    step = 1
    if fits(guess):
        low = guess
        while low < MAX_BATCH_SIZE and fits(low + step):
            low, step = low + step, step * 2
        high = low + step
    else:
        high = guess
        while high > 1 and not fits(max(high - step, 0)):
            high, step = max(high - step, 0), step * 2
        low = max(high - step, 0)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low, per_sample, fixed


def largest_batch_size(
    model_name_or_module: str | ModelSource | nn.Module,
    input_size: object = None,
    budget_bytes: object = None,
    precision: str = Precision.FP32,
    optimizer: str = OptimizerName.ADAM,
    device: str | torch.device = "meta",
    *,
    options: Mapping[str, object] | None = None,
    loss: str = LossName.CROSS_ENTROPY,
) -> BatchSearch:
    """Return the largest batch size whose training-memory estimate fits `budget_bytes`.

    Measures batches 1 and 2, solves the affine fit for the budget, then measures the answer and
    the answer + 1 to confirm it (a handful of memory-free forwards, never every batch size).
    """
    budget = parse_budget(budget_bytes, device)
    chosen = (parse_choice(Precision, precision), parse_choice(OptimizerName, optimizer))
    loss_name = parse_choice(LossName, loss)
    target = resolve_device(device)
    subject = resolve_subject(model_name_or_module, options, input_size)
    totals: dict[int, int] = {}

    def total_at(batch: int) -> int:
        if batch not in totals:
            totals[batch] = estimate_subject(subject, batch, *chosen, loss_name, target).total
        return totals[batch]

    largest, per_sample, fixed = _search(total_at, budget)
    return BatchSearch(
        budget, largest, fixed, float(per_sample), tuple(sorted(totals.items())), capped=largest >= MAX_BATCH_SIZE
    )
