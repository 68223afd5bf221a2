"""Refusing runs that would not fit, before they allocate, and holding their memory while they run.

The figure is a run's pre-flight peak (`inspector.core.preflight`: parameters, buffers, inputs and
the forward's live tensors, found on meta) or, for training, the planner's estimate. `reserve`
takes it from the process's one budget (`inspector.core.budget`) for as long as the run lasts:
a figure larger than the whole budget is refused at once, one that fits only once others finish
waits for them, and gives up after a while.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import torch

from inspector.core.budget import DEFAULT_SHARE, DEFAULT_WAIT_S, BudgetRefused, Refusal, budget_share, process_budget
from inspector.core.budget import usable_memory as free_memory
from inspector.core.errors import InvalidArgumentError
from inspector.core.preflight import Preflight
from inspector.core.units import binary_bytes

__all__ = ["DEFAULT_SHARE", "budget_share", "check_fits", "free_memory", "refusal_error", "reserve"]


def _plan(needed: int | Preflight, device: torch.device) -> Preflight:
    return needed if isinstance(needed, Preflight) else Preflight(str(device), needed, 0)


def refusal_error(refusal: Refusal, plan: Preflight, what: object, waited_s: float = 0.0) -> InvalidArgumentError:
    """Return the keyed error for a run the budget refused: too big for the budget, or still no room after waiting."""
    needed, capacity = binary_bytes(plan.total_bytes), binary_bytes(refusal.capacity)
    if not refusal.could_fit:
        return InvalidArgumentError(
            "memory.too_big",
            what=what,
            needed=needed,
            device=plan.device,
            capacity=capacity,
            resident=binary_bytes(plan.resident_bytes),
            forward=binary_bytes(plan.forward_bytes),
        )
    return InvalidArgumentError(
        "memory.busy",
        what=what,
        needed=needed,
        device=plan.device,
        capacity=capacity,
        reserved=binary_bytes(refusal.reserved),
        seconds=f"{waited_s:g}",
    )


def check_fits(needed: int | Preflight, device: torch.device, what: object) -> None:
    """Raise InvalidArgumentError when `needed` (bytes, or a pre-flight figure) could never fit the budget."""
    if device.type == "meta":
        return
    plan = _plan(needed, device)
    refusal = process_budget(device).check(plan.total_bytes)
    if refusal is not None:
        raise refusal_error(refusal, plan, what)


@contextmanager
def reserve(
    needed: int | Preflight, device: torch.device, what: object, wait_s: float = DEFAULT_WAIT_S
) -> Iterator[None]:
    """Hold `needed` bytes of `device`'s budget for the block, or raise the keyed refusal before it runs.

    Nested reservations of one thread share the outer one (a page that reserved for the work it
    calls): the inner takes only what exceeds it.
    """
    if device.type == "meta":  # nothing is allocated
        yield
        return
    plan = _plan(needed, device)
    with ExitStack() as held:
        try:
            held.enter_context(process_budget(device).reserve(plan.total_bytes, wait_s))
        except BudgetRefused as refused:
            raise refusal_error(refused.refusal, plan, what, wait_s if refused.refusal.could_fit else 0.0) from None
        yield
