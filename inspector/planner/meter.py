"""Peak memory of a training step: CUDA's allocator counters, else the process's resident set.

On cpu the peak resident size (VmHWM) is reset through /proc/self/clear_refs before the run; where
that is not allowed, `ru_maxrss` (never reset) stands in. Both include the allocator's and the
libraries' own overhead, so the cpu figure is approximate.
"""

from __future__ import annotations

import contextlib
import resource

import torch

from inspector.core.messages import msg


class PeakMeter:
    """Peak memory from `start()` to `peak()`: CUDA's allocator counters, else the process's resident set."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.baseline = 0
        self.cleared = False

    @property
    def method(self) -> tuple[str, bool]:
        """Return how the peak is measured (torch's function, or a Message) and whether it is approximate."""
        if self.device.type == "cuda":
            return "torch.cuda.max_memory_allocated", False
        if self.device.type == "cpu":
            source = "VmHWM" if self.cleared else "ru_maxrss"
            return msg("peak.cpu", source=source), True
        return msg("peak.none"), True

    def start(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.baseline = torch.cuda.memory_allocated(self.device)
        elif self.device.type == "cpu":
            # Writing 5 to clear_refs resets the peak resident size (VmHWM) to the current one.
            with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
                refs.write("5")
                self.cleared = True
            self.baseline = _status_kib("VmRSS") * 1024 if self.cleared else _max_rss()

    def peak(self) -> int | None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            return torch.cuda.max_memory_allocated(self.device) - self.baseline
        if self.device.type == "cpu":
            high = _status_kib("VmHWM") * 1024 if self.cleared else _max_rss()
            return max(high - self.baseline, 0)
        return None


def _status_kib(field_name: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    return 0


def _max_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
