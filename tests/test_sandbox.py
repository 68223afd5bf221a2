"""The child-process runner: real children that allocate, sleep, crash and get cancelled."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from inspector.core.errors import InvalidArgumentError
from inspector.core.sandbox import SandboxError, run_limited

MB = 2**20


# What the children run: module-level, so "spawn" can find them by name.
def child_pid() -> int:
    return os.getpid()


def allocate(size: int) -> int:
    return len(bytearray(size))


def sleep_then_answer(seconds: float) -> str:
    time.sleep(seconds)
    return "awake"


def announce_then_sleep(marker: str) -> None:
    Path(marker).write_text(str(os.getpid()))
    time.sleep(600)


def exit_abruptly(status: int) -> None:
    os._exit(status)


def segfault() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)
    time.sleep(600)


def refuse(size: int) -> None:
    raise InvalidArgumentError("sandbox.deadline", seconds=size)  # any keyed message: its key must travel


def test_answer_comes_from_a_fresh_child_each_time():
    first = run_limited(child_pid)
    second = run_limited(child_pid)
    assert len({first, second, os.getpid()}) == 3
    assert run_limited(sleep_then_answer, 0.0) == "awake"


def test_allocation_past_the_limit_is_stopped_and_below_it_works():
    # 64 MB fits in a 256 MB headroom; 2 GB (2**31 bytes) does not
    assert run_limited(allocate, 64 * MB, memory_bytes=256 * MB) == 64 * MB
    with pytest.raises(SandboxError) as caught:
        run_limited(allocate, 2**31, memory_bytes=256 * MB)
    assert caught.value.key == "sandbox.out_of_memory" and "256 MB" in caught.value.message
    assert run_limited(child_pid) > 0  # the next call is served by a new, healthy child


def test_sleep_past_the_deadline_is_killed():
    with pytest.raises(SandboxError) as caught:
        run_limited(sleep_then_answer, 600, deadline_s=5)
    assert caught.value.key == "sandbox.deadline" and "5 s" in caught.value.message


@pytest.mark.parametrize(("crash", "how"), [((exit_abruptly, 3), "exit status 3"), ((segfault,), "SIGSEGV")])
def test_a_child_that_dies_is_a_clear_error(crash, how):
    with pytest.raises(SandboxError) as caught:
        run_limited(*crash)
    assert caught.value.key == "sandbox.died" and how in caught.value.message
    assert caught.value.hint  # says what to do


@pytest.mark.parametrize("as_event", [True, False])
def test_cancel_kills_the_child(tmp_path, as_event):
    marker = tmp_path / "started"
    event = threading.Event()

    def started() -> bool:  # cancel once the child proves it is running
        if marker.exists() and marker.read_text():
            event.set()
        return event.is_set()

    if as_event:  # a thread sets the Event, as a page's stop button would
        watcher = threading.Thread(target=lambda: _poll_until(started))
        watcher.start()
    with pytest.raises(SandboxError) as caught:
        run_limited(announce_then_sleep, str(marker), cancelled=event if as_event else started)
    assert caught.value.key == "sandbox.cancelled"
    with pytest.raises(ProcessLookupError):  # the child is gone, not left sleeping
        os.kill(int(marker.read_text()), 0)
    if as_event:
        watcher.join()


def _poll_until(condition) -> None:
    while not condition():
        time.sleep(0.05)


def test_errors_keep_their_type_key_and_params():
    with pytest.raises(InvalidArgumentError) as caught:
        run_limited(refuse, 7)
    assert caught.value.key == "sandbox.deadline" and caught.value.params == {"seconds": 7}
    assert caught.value.message == "the work took longer than 7 s and was stopped"
