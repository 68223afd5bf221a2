"""Timing and peak-memory measurement of one call, the same way for every tool.

Wall time is taken with `time.perf_counter` around the call (after a device sync on CUDA, where
kernels run asynchronously), and the process's CPU time beside it: on a machine shared with other
work, CPU time stays close to what a quiet machine's wall time would be for single-threaded work
(meta, Python overhead), while wall time also counts the waits for a core. Peak memory on CUDA is
the allocator's high-water mark; elsewhere
(cpu and meta) it is the process's resident-set high-water mark, reset before the call through
/proc/self/clear_refs, minus the resident set before it: what the call added at its worst.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

MIB = 2**20
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass(frozen=True)
class Timing:
    """Wall times of repeated runs, in milliseconds, and their summary (CPU times alongside)."""

    samples_ms: list[float]
    cpu_samples_ms: list[float]

    @property
    def median_ms(self) -> float:
        """Return the median run."""
        return statistics.median(self.samples_ms)

    @property
    def cpu_median_ms(self) -> float:
        """Return the median CPU time of the process over the runs (all threads together)."""
        return statistics.median(self.cpu_samples_ms)

    @property
    def iqr_ms(self) -> tuple[float, float]:
        """Return the first and third quartiles (inclusive method: defined from two samples on)."""
        if len(self.samples_ms) < 2:
            return (self.samples_ms[0], self.samples_ms[0])
        q1, _, q3 = statistics.quantiles(self.samples_ms, n=4, method="inclusive")
        return (q1, q3)


def sync(device: torch.device) -> None:
    """Wait for queued kernels, so that a timing covers the work and not just its launch."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_call(call: Callable[[], object], device: torch.device) -> tuple[float, float]:
    """Return the wall time and the process CPU time of one `call()`, in milliseconds."""
    gc.collect()  # a collection triggered by an earlier tool's garbage would be charged to this one
    sync(device)
    start, start_cpu = time.perf_counter(), time.process_time()
    call()
    sync(device)
    return (time.perf_counter() - start) * 1000, (time.process_time() - start_cpu) * 1000


def _status_kib(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_mib() -> float | None:
    """Return the process's resident-set high-water mark (VmHWM) in MiB, None where /proc lacks it."""
    kib = _status_kib("VmHWM")
    return None if kib is None else kib / 1024


def peak_memory_mib(call: Callable[[], object], device: torch.device) -> float | None:
    """Return the most memory `call()` added at any moment, in MiB; None where it cannot be read."""
    gc.collect()
    if device.type == "cuda":
        sync(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        call()
        sync(device)
        return (torch.cuda.max_memory_allocated(device) - before) / MIB
    try:
        _CLEAR_REFS.write_text("5")  # "5" resets VmHWM to the current resident set (Linux ≥ 4.0)
    except OSError:
        return None
    before = _status_kib("VmRSS")
    call()
    after = _status_kib("VmHWM")
    if before is None or after is None:
        return None
    return max(after - before, 0) / 1024
