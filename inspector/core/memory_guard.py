"""Refusing allocations that would not fit, before they are made."""

from __future__ import annotations

import math
import os

import torch

from inspector.core.errors import InvalidArgumentError
from inspector.core.units import binary_bytes

# Share of the memory actually free that one inspection may take: the rest stays for other
# users of the same server and for the forward pass's activations.
DEFAULT_SHARE = 0.5


def budget_share() -> float:
    """Return the share of free memory one inspection may take: INSPECTOR_MEMORY_SHARE, else 0.5.

    A value outside (0, 1] or not a number is ignored, so a typo in a deployment's environment
    never disables the guard.
    """
    try:
        share = float(os.environ.get("INSPECTOR_MEMORY_SHARE", DEFAULT_SHARE))
    except ValueError:
        return DEFAULT_SHARE
    return share if math.isfinite(share) and 0 < share <= 1 else DEFAULT_SHARE


def free_memory(device: torch.device) -> int | None:
    """Return the bytes free on `device` now (None on meta, or where it can't be read)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type == "cpu":
        try:
            with open("/proc/meminfo", encoding="ascii") as meminfo:
                for line in meminfo:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            return None
    return None


def check_fits(needed: int, device: torch.device, what: str, share: float | None = None) -> None:
    """Raise InvalidArgumentError when `needed` bytes exceed `share` (default: `budget_share()`)
    of the memory free on `device`."""
    share = budget_share() if share is None else share
    free = free_memory(device)
    if free is None or needed <= share * free:
        return
    raise InvalidArgumentError(
        f"{what} needs {binary_bytes(needed)} on {device}, more than {share:.0%} of the {binary_bytes(free)} free",
        "inspect on device 'meta' (shapes, parameters and FLOPs without memory) or choose smaller sizes",
        key="memory_guard",
        params={
            "what": what,
            "needed": binary_bytes(needed),
            "device": device,
            "share": f"{share:.0%}",
            "free": binary_bytes(free),
        },
    )
