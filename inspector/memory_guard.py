"""Refusing allocations that would not fit, before they are made."""

from __future__ import annotations

import torch

from inspector.errors import InvalidArgumentError
from inspector.units import binary_bytes

# Share of the memory actually free that one inspection may take: the rest stays for other
# users of the same server and for the forward pass's activations.
DEFAULT_SHARE = 0.5


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


def check_fits(needed: int, device: torch.device, what: str, share: float = DEFAULT_SHARE) -> None:
    """Raise InvalidArgumentError when `needed` bytes exceed `share` of the memory free on `device`."""
    free = free_memory(device)
    if free is None or needed <= share * free:
        return
    raise InvalidArgumentError(
        f"{what} needs {binary_bytes(needed)} on {device}, more than {share:.0%} of the {binary_bytes(free)} free",
        "inspect on device 'meta' (shapes, parameters and FLOPs without memory) or choose smaller sizes",
        key="memory_guard",
        params={"what": what, "needed": binary_bytes(needed), "device": device, "share": f"{share:.0%}",
                "free": binary_bytes(free)},
    )
