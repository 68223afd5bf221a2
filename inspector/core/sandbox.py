"""Running risky work in a child process with hard limits: memory, a deadline, and cancellation.

`run_limited(fn, *args, **kwargs)` runs `fn` in a new child process whose address space is capped with
`RLIMIT_AS`. Children come from multiprocessing's "forkserver": a clean, single-threaded process
started once, which has imported torch and `fn`'s module and forks a child per call in milliseconds
(a spawned interpreter would import torch anew each time, seconds). The threaded server is never
forked itself. Where there is no forkserver (Windows), a "spawn" interpreter is used. The parent waits for the
answer, kills the child once the deadline passes or `cancelled` says so, and turns a child that dies
(out of memory, killed, crashed) into an `InspectorError` with a catalogue key. Every call gets a new
child, so one bad input never leaves a damaged process behind for the next.

Limits, when a call does not give them (a value that is not a positive number is ignored):
  INSPECTOR_SANDBOX_MEMORY_MB   address space the child may add to what its imports took (default 1024)
  INSPECTOR_SANDBOX_DEADLINE_S  wall-clock seconds, the child's start-up included (default 60)

The child never re-runs the parent's main script: multiprocessing would, and under Streamlit that is
the app itself (Streamlit installs the page as `__main__`). So `fn` must live in an importable module.

The answer comes back pickled from our own child, which is trusted: what `fn` returns is ours. An
exception `fn` raises comes back as the same type with the same attributes (an InspectorError keeps
its key and params).
"""

from __future__ import annotations

import io
import math
import multiprocessing
import os
import pickle
import resource
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing import spawn
from typing import Any, TypeVar

from inspector.core.errors import InspectorError

T = TypeVar("T")
DEFAULT_MEMORY_MB = 1024
DEFAULT_DEADLINE_S = 60.0
POLL_S = 0.05  # how often the parent looks at the deadline and `cancelled` while it waits
_START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
# Each name spelled out, so the context's type (with its Process) is known to the type checker.
_CONTEXT = (
    multiprocessing.get_context("forkserver") if _START_METHOD == "forkserver" else multiprocessing.get_context("spawn")
)


_LAUNCH_LOCK = threading.Lock()
_PREPARATION = spawn.get_preparation_data


def _preparation_without_main(name: str) -> dict[str, object]:
    data = _PREPARATION(name)
    data.pop("init_main_from_path", None)
    data.pop("init_main_from_name", None)
    return data


@contextmanager
def _main_left_alone() -> Iterator[None]:
    """Start children that do not run `__main__` (see the module docstring); one launch at a time."""
    with _LAUNCH_LOCK:
        spawn.get_preparation_data = _preparation_without_main
        try:
            yield
        finally:
            spawn.get_preparation_data = _PREPARATION


class SandboxError(InspectorError):
    """The child process ran out of memory or time, was cancelled, or stopped without an answer."""


def _positive_env(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if math.isfinite(value) and value > 0 else default


def default_memory_bytes() -> int:
    """Return the child's memory headroom in bytes: INSPECTOR_SANDBOX_MEMORY_MB, else 1024 MB."""
    return int(_positive_env("INSPECTOR_SANDBOX_MEMORY_MB", DEFAULT_MEMORY_MB) * 2**20)


def default_deadline_s() -> float:
    """Return the child's wall-clock deadline in seconds: INSPECTOR_SANDBOX_DEADLINE_S, else 60."""
    return _positive_env("INSPECTOR_SANDBOX_DEADLINE_S", DEFAULT_DEADLINE_S)


def _rebuild_exception(kind: type[BaseException], args: tuple[object, ...], state: dict[str, object]) -> BaseException:
    error = kind.__new__(kind)
    error.args = args
    error.__dict__.update(state)
    return error


class _ExceptionPickler(pickle.Pickler):
    """Pickles exceptions by type, args and attributes: InspectorError's __init__ takes a key, not its text."""

    def reducer_override(self, obj: object) -> Any:
        if isinstance(obj, BaseException):
            return _rebuild_exception, (type(obj), obj.args, dict(vars(obj)))
        return NotImplemented


def _dumps(value: object) -> bytes:
    buffer = io.BytesIO()
    _ExceptionPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


def _address_space() -> int:
    """Return this process's mapped address space in bytes (VmSize), 0 where /proc cannot say."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _child(connection: Any, memory_bytes: int, fn: Callable[..., object], args: tuple, kwargs: dict) -> None:
    """Run in the child: cap the address space above what the imports took, run `fn`, send the outcome."""
    limit = _address_space() + memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        outcome: tuple[str, object] = ("ok", fn(*args, **kwargs))
    except MemoryError:
        outcome = ("error", SandboxError("sandbox.out_of_memory", limit=memory_bytes // 2**20))
    except BaseException as error:  # whatever fn raises goes back to the parent as it is
        outcome = ("error", error)
    try:
        payload = _dumps(outcome)
    except Exception as error:  # an answer that cannot travel is reported, not lost
        payload = _dumps(("error", SandboxError("sandbox.unpicklable", kind=type(error).__name__, reason=str(error))))
    connection.send_bytes(payload)
    connection.close()


def progress_queue() -> Any:
    """Return a queue a child can put progress on while it runs: pass it to `run_limited` as one of
    `fn`'s arguments, and read it (`empty()`, `get()`) from the `cancelled` check, which runs while
    the parent waits."""
    return _CONTEXT.SimpleQueue()


def _is_cancelled(cancelled: threading.Event | Callable[[], bool] | None) -> bool:
    if cancelled is None:
        return False
    return cancelled.is_set() if isinstance(cancelled, threading.Event) else bool(cancelled())


def _how_it_died(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            return signal.Signals(-exitcode).name
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit status {exitcode}"


def _stop(process: Any) -> None:
    if process.is_alive():
        process.kill()
    process.join()
    process.close()


def run_limited(
    fn: Callable[..., T],
    /,
    *args: object,
    memory_bytes: int | None = None,
    deadline_s: float | None = None,
    cancelled: threading.Event | Callable[[], bool] | None = None,
    **kwargs: object,
) -> T:
    """Return `fn(*args, **kwargs)` computed in a child process under a memory cap and a deadline.

    `fn` and its arguments must be picklable (a module-level function). Raises what `fn` raised, or
    SandboxError when the child exceeds `memory_bytes` (headroom above its imports), runs past
    `deadline_s` (start-up included), is cancelled (`cancelled` set or returning True) or dies.
    """
    memory_bytes = default_memory_bytes() if memory_bytes is None else memory_bytes
    deadline_s = default_deadline_s() if deadline_s is None else deadline_s
    if _START_METHOD == "forkserver":  # takes effect when the server starts, on the first call only
        _CONTEXT.set_forkserver_preload(["torch", fn.__module__])
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    process = _CONTEXT.Process(target=_child, args=(sender, memory_bytes, fn, args, kwargs), daemon=True)
    started = time.monotonic()
    with _main_left_alone():
        process.start()
    sender.close()  # the child holds the only writer: end of file on the reader means it is gone
    try:
        status, value = _wait(process, receiver, started + deadline_s, deadline_s, memory_bytes, cancelled)
    finally:
        receiver.close()
        _stop(process)
    if status == "error":
        raise value  # type: ignore[misc]
    return value  # type: ignore[return-value]


def _wait(
    process: Any,
    receiver: Any,
    deadline: float,
    deadline_s: float,
    memory_bytes: int,
    cancelled: threading.Event | Callable[[], bool] | None,
) -> tuple[str, object]:
    """Return the child's (status, value); raise SandboxError on the deadline, cancellation or death."""
    while True:
        if _is_cancelled(cancelled):
            raise SandboxError("sandbox.cancelled")
        if time.monotonic() > deadline:
            raise SandboxError("sandbox.deadline", seconds=f"{deadline_s:g}")
        if receiver.poll(POLL_S):
            try:
                return pickle.loads(receiver.recv_bytes())  # our own child's answer (module docstring)
            except EOFError:
                break
    process.join()
    raise SandboxError("sandbox.died", how=_how_it_died(process.exitcode), limit=memory_bytes // 2**20)
