"""One memory budget for the whole process: requests reserve their estimated peak and give it back.

Checking each request against the memory free *now* lets two requests that each fit alone run at
once and overrun together. Here a request reserves its pre-flight figure (`inspector.core.preflight`)
for as long as it runs; one that does not fit beside the others waits for them (a visible "queued"
state) up to a timeout, and one that could never fit is refused at once.

What the process may use is read the way the kernel enforces it: a container's cgroup limit
(v2 `memory.max` minus `memory.current`, or v1 `memory.limit_in_bytes` minus usage, each less the
page cache the kernel can drop) where one exists, else the host's MemAvailable, whichever is lower.
"""

from __future__ import annotations

import contextvars
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

# Share of the memory the process may use that all requests together may reserve: the rest stays
# for the server itself, its caches and what an estimate leaves out.
DEFAULT_SHARE = 0.5
# The most one run may reserve, whatever the machine has: a single request must not be able to take
# the memory of a large host (a 6 GB convolution from one link). INSPECTOR_RUN_MEMORY_MB changes it.
DEFAULT_RUN_MEMORY_MB = 2048
# How long a request waits for others to release their reservations before it is refused.
DEFAULT_WAIT_S = 30.0
CGROUP_ROOT = Path("/sys/fs/cgroup")
# cgroup v1 reports "no limit" as a page-rounded 2**63 - 1; anything this large is no limit.
_NO_LIMIT = 2**60


def budget_share() -> float:
    """Return the share of usable memory the budget holds: INSPECTOR_MEMORY_SHARE, else 0.5.

    A value outside (0, 1] or not a number is ignored, so a typo in a deployment's environment
    never disables the guard.
    """
    try:
        share = float(os.environ.get("INSPECTOR_MEMORY_SHARE", DEFAULT_SHARE))
    except ValueError:
        return DEFAULT_SHARE
    return share if math.isfinite(share) and 0 < share <= 1 else DEFAULT_SHARE


def run_limit() -> int:
    """Return the most bytes one run may reserve: INSPECTOR_RUN_MEMORY_MB (MiB), else 2048 MiB.

    As for the share, a value that is not a positive number is ignored.
    """
    try:
        megabytes = float(os.environ.get("INSPECTOR_RUN_MEMORY_MB", DEFAULT_RUN_MEMORY_MB))
    except ValueError:
        megabytes = DEFAULT_RUN_MEMORY_MB
    if not math.isfinite(megabytes) or megabytes <= 0:
        megabytes = DEFAULT_RUN_MEMORY_MB
    return int(megabytes * 2**20)


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None  # cgroup v2 writes "max" for no limit


def _inactive_file(stat: Path, name: str) -> int:
    """Return the page cache the kernel would drop before hitting the limit (0 when unreadable)."""
    try:
        for line in stat.read_text(encoding="ascii").splitlines():
            field, _, value = line.partition(" ")
            if field == name and value.strip().isdigit():
                return int(value)
    except OSError:
        pass
    return 0


def _own_cgroup_v2(root: Path, proc_cgroup: Path) -> Path:
    """Return this process's cgroup v2 folder (the root where /proc/self/cgroup names none)."""
    try:
        for line in proc_cgroup.read_text(encoding="ascii").splitlines():
            if line.startswith("0::"):
                own = root / line[3:].strip().lstrip("/")
                if (own / "memory.max").is_file():
                    return own
    except OSError:
        pass
    return root


def cgroup_headroom(root: Path = CGROUP_ROOT, proc_cgroup: Path = Path("/proc/self/cgroup")) -> int | None:
    """Return the bytes this cgroup may still use before its limit, or None when it has no limit."""
    v2 = _own_cgroup_v2(root, proc_cgroup)
    limit, used = _read_int(v2 / "memory.max"), _read_int(v2 / "memory.current")
    cache = _inactive_file(v2 / "memory.stat", "inactive_file")
    if limit is None or used is None:  # no v2 limit: try v1's memory controller
        v1 = root / "memory"
        limit, used = _read_int(v1 / "memory.limit_in_bytes"), _read_int(v1 / "memory.usage_in_bytes")
        cache = _inactive_file(v1 / "memory.stat", "total_inactive_file")
    if limit is None or used is None or limit >= _NO_LIMIT:
        return None
    return max(0, limit - max(0, used - cache))


def mem_available(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """Return the host's MemAvailable in bytes (None where it can't be read)."""
    try:
        for line in meminfo.read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def usable_memory(device: torch.device) -> int | None:
    """Return the bytes the process may still use on `device` (None on meta, or where unreadable)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    if device.type != "cpu":
        return None
    readings = [value for value in (cgroup_headroom(), mem_available()) if value is not None]
    return min(readings) if readings else None


@dataclass(frozen=True)
class Refusal:
    """Why a reservation did not happen: the request, what the budget holds, and whether waiting could help."""

    needed: int
    capacity: int
    reserved: int
    could_fit: bool


class BudgetRefused(Exception):
    """Raised by `MemoryBudget.reserve` with the `Refusal` (the guard turns it into a keyed error)."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal)
        self.refusal = refusal


# The reservation the current thread (or task) already holds on a budget: a nested reserve inside it
# (the engine under a page that reserved for the same work) takes nothing more up to that amount.
_held: contextvars.ContextVar[dict[int, int] | None] = contextvars.ContextVar("budget_held", default=None)
# Who to tell when a request of this thread starts waiting: the app shows a "queued" line.
_on_queued: contextvars.ContextVar[Callable[[Refusal], None] | None] = contextvars.ContextVar("on_queued", default=None)


@contextmanager
def queued_notice(callback: Callable[[Refusal], None]) -> Iterator[None]:
    """Call `callback` when a reservation made inside the block has to wait for room."""
    token = _on_queued.set(callback)
    try:
        yield
    finally:
        _on_queued.reset(token)


class MemoryBudget:
    """A thread-safe pool of bytes shared by every request of the process on one device.

    The pool is `share` of what the process may use, read whenever nothing is reserved and kept
    while anything is: a running request's own allocations must not shrink the pool it reserved
    from, and two requests that arrive together must not both see the memory as free.
    """

    def __init__(
        self,
        usable: Callable[[], int | None],
        share: Callable[[], float] = budget_share,
        per_run: Callable[[], int | None] = run_limit,
    ) -> None:
        self._usable, self._share, self._per_run = usable, share, per_run
        self._lock = threading.Condition()
        self._reserved = 0
        self._baseline: int | None = None
        self.queued = 0  # requests waiting now, for a status line

    @property
    def reserved(self) -> int:
        """Return the bytes reserved now."""
        with self._lock:
            return self._reserved

    def capacity(self) -> int | None:
        """Return the bytes all reservations together may hold (None: unbounded, e.g. meta)."""
        with self._lock:
            if self._reserved == 0 or self._baseline is None:
                self._baseline = self._usable()
            return None if self._baseline is None else int(self._share() * self._baseline)

    def largest_run(self) -> int | None:
        """Return the most one run may ever reserve: the whole pool, at most the per-run limit."""
        capacity, per_run = self.capacity(), self._per_run()
        return capacity if per_run is None else per_run if capacity is None else min(capacity, per_run)

    def check(self, needed: int) -> Refusal | None:
        """Return why `needed` bytes could never be reserved (more than one run may have), else None."""
        with self._lock:
            largest = self.largest_run()
            if largest is None or needed <= largest:
                return None
            return Refusal(needed, largest, self._reserved, could_fit=False)

    @contextmanager
    def reserve(
        self, needed: int, wait_s: float = DEFAULT_WAIT_S, on_queued: Callable[[Refusal], None] | None = None
    ) -> Iterator[None]:
        """Hold `needed` bytes for the block; wait up to `wait_s` for room, calling `on_queued` once.

        Raises BudgetRefused at once when `needed` exceeds the whole pool, or after `wait_s` when the
        others have not made room.
        """
        held = _held.get() or {}
        extra = max(0, needed - held.get(id(self), 0))
        self._acquire(needed, extra, wait_s, on_queued or _on_queued.get())
        token = _held.set({**held, id(self): max(needed, held.get(id(self), 0))})
        try:
            yield
        finally:
            _held.reset(token)
            with self._lock:
                self._reserved -= extra
                self._lock.notify_all()

    def _acquire(self, needed: int, extra: int, wait_s: float, on_queued: Callable[[Refusal], None] | None) -> None:
        deadline = time.monotonic() + wait_s
        with self._lock:
            largest = self.largest_run()
            if largest is not None and needed > largest:  # would never fit: refuse without waiting
                raise BudgetRefused(Refusal(needed, largest, self._reserved, could_fit=False))
            waiting = False
            try:
                while True:
                    capacity = self.capacity()
                    if extra == 0 or capacity is None or self._reserved + extra <= capacity:
                        self._reserved += extra
                        return
                    refusal = Refusal(needed, capacity, self._reserved, could_fit=True)
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise BudgetRefused(refusal)
                    if not waiting:
                        waiting, self.queued = True, self.queued + 1
                        if on_queued is not None:
                            on_queued(refusal)
                    # Usable memory also grows when other processes free theirs: look again now and then.
                    self._lock.wait(min(left, 0.5))
            finally:
                if waiting:
                    self.queued -= 1


_BUDGETS: dict[str, MemoryBudget] = {}
_BUDGETS_LOCK = threading.Lock()


def process_budget(device: torch.device) -> MemoryBudget:
    """Return the one budget of this process for `device` (made on first use)."""
    key = str(device)
    with _BUDGETS_LOCK:
        if key not in _BUDGETS:
            _BUDGETS[key] = MemoryBudget(lambda: usable_memory(device))
        return _BUDGETS[key]
