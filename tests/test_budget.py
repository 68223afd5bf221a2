"""One memory budget for the process: reservations from real threads, cgroup limits read from real files.

The budgets here are given a fixed pool (`usable=lambda: 1000`) so that what fits is known; the threads,
locks and waits are real. No test measures time: order is proven with events, not sleeps.
"""

from __future__ import annotations

import threading

import pytest
import torch

from inspector.core.budget import (
    BudgetRefused,
    MemoryBudget,
    budget_share,
    cgroup_headroom,
    mem_available,
    process_budget,
    run_limit,
)
from inspector.core.errors import InvalidArgumentError
from inspector.core.memory_guard import reserve
from inspector.core.preflight import Preflight

WAIT_S = 30.0  # only a failing test ever waits this long


def fixed_budget(usable: int = 1000, share: float = 0.5, per_run: int | None = None) -> MemoryBudget:
    return MemoryBudget(lambda: usable, lambda: share, lambda: per_run)


def test_pool_is_the_share_of_usable_memory():
    budget = fixed_budget()
    # 0.5 · 1000 = 500 bytes for all runs together
    assert budget.capacity() == 500
    assert budget.check(500) is None
    refusal = budget.check(501)
    assert refusal is not None and not refusal.could_fit and refusal.capacity == 500


def test_too_big_is_refused_at_once_without_queueing():
    budget, queued = fixed_budget(), []
    with pytest.raises(BudgetRefused) as caught, budget.reserve(600, WAIT_S, queued.append):
        pass
    assert not caught.value.refusal.could_fit
    assert queued == []  # never waited: it could never fit
    assert budget.reserved == 0


def test_per_run_limit_caps_one_run_below_the_pool():
    budget = fixed_budget(per_run=200)
    with pytest.raises(BudgetRefused) as caught, budget.reserve(300, WAIT_S):
        pass
    assert caught.value.refusal.capacity == 200
    with budget.reserve(200):
        assert budget.reserved == 200


def test_a_second_run_waits_for_the_first_and_is_shown_queued():
    budget, order, queued = fixed_budget(), [], threading.Event()
    first_in, first_may_leave = threading.Event(), threading.Event()

    def first() -> None:
        with budget.reserve(300):
            first_in.set()
            first_may_leave.wait(WAIT_S)
            order.append("first leaves")

    def second() -> None:
        # 300 + 300 > 500: it must wait for the first
        with budget.reserve(300, WAIT_S, lambda refusal: queued.set()):
            order.append("second runs")

    one = threading.Thread(target=first)
    one.start()
    assert first_in.wait(WAIT_S)
    two = threading.Thread(target=second)
    two.start()
    assert queued.wait(WAIT_S)  # it said it was queued while the first still held its 300
    assert order == []
    first_may_leave.set()
    one.join(WAIT_S)
    two.join(WAIT_S)
    assert order == ["first leaves", "second runs"]
    assert budget.reserved == 0


def test_waiting_gives_up_after_its_timeout():
    budget, holding, release = fixed_budget(), threading.Event(), threading.Event()

    def hold() -> None:
        with budget.reserve(400):
            holding.set()
            release.wait(WAIT_S)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(WAIT_S)
    try:
        with pytest.raises(BudgetRefused) as caught, budget.reserve(200, wait_s=0.1):
            pass
        assert caught.value.refusal.could_fit  # it would fit alone: refused for want of room now
        assert caught.value.refusal.reserved == 400
    finally:
        release.set()
        holder.join(WAIT_S)


def test_many_threads_never_hold_more_than_the_pool():
    budget, lock = fixed_budget(), threading.Lock()
    held, most, done = [0], [0], []
    start = threading.Barrier(8)

    def run() -> None:
        start.wait(WAIT_S)
        with budget.reserve(150, WAIT_S):
            with lock:
                held[0] += 150
                most[0] = max(most[0], held[0])
            with lock:
                held[0] -= 150
        done.append(1)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
    assert len(done) == 8
    # at most three of 150 fit in 500 at once: 3 · 150 = 450
    assert most[0] <= 450
    assert budget.reserved == 0


def test_nested_reservation_takes_only_what_exceeds_the_outer():
    budget = fixed_budget()
    with budget.reserve(300):
        with budget.reserve(200):  # the page reserved for the engine call it makes
            assert budget.reserved == 300
        with budget.reserve(400):
            # 400 - 300 = 100 more
            assert budget.reserved == 400
        assert budget.reserved == 300
    assert budget.reserved == 0


def test_released_when_the_run_raises():
    budget = fixed_budget()
    with pytest.raises(RuntimeError), budget.reserve(300):
        raise RuntimeError("the forward failed")
    assert budget.reserved == 0


def test_guard_refusal_is_keyed_with_the_figure(monkeypatch):
    monkeypatch.setenv("INSPECTOR_RUN_MEMORY_MB", "1")
    # 3 MiB of parameters + 5 MiB of tensors = 8 MiB > the 1 MiB one run may use
    plan = Preflight("cpu", 3 * 2**20, 5 * 2**20)
    with pytest.raises(InvalidArgumentError) as caught, reserve(plan, torch.device("cpu"), "Conv2d"):
        pass
    error = caught.value
    assert error.key == "memory.too_big"
    assert "8.0 MiB" in error.message and "3.0 MiB" in error.message and "5.0 MiB" in error.message
    assert "meta" in error.hint
    with reserve(plan, torch.device("meta"), "Conv2d"):  # meta allocates nothing: never refused
        pass


def test_run_limit_and_share_ignore_bad_values(monkeypatch):
    for bad in ("0", "-5", "nan", "lots"):
        monkeypatch.setenv("INSPECTOR_RUN_MEMORY_MB", bad)
        assert run_limit() == 2048 * 2**20  # the default stays
        monkeypatch.setenv("INSPECTOR_MEMORY_SHARE", bad)
        assert budget_share() == 0.5
    monkeypatch.setenv("INSPECTOR_RUN_MEMORY_MB", "512")
    assert run_limit() == 512 * 2**20


def test_process_budget_is_one_per_device():
    assert process_budget(torch.device("cpu")) is process_budget(torch.device("cpu"))


def write(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_limit_minus_usage_less_droppable_cache(tmp_path):
    own = tmp_path / "system.slice" / "app.scope"
    write(tmp_path / "proc_cgroup", "0::/system.slice/app.scope\n")
    write(own / "memory.max", "4294967296\n")
    write(own / "memory.current", "1073741824\n")
    write(own / "memory.stat", "anon 800000000\ninactive_file 73741824\nactive_file 5\n")
    # 4 GiB - (1 GiB - 73,741,824 of cache) = 4,294,967,296 - 1,000,000,000 = 3,294,967,296
    assert cgroup_headroom(tmp_path, tmp_path / "proc_cgroup") == 3_294_967_296


def test_cgroup_v2_without_a_limit_is_none(tmp_path):
    write(tmp_path / "proc_cgroup", "0::/\n")
    write(tmp_path / "memory.max", "max\n")
    write(tmp_path / "memory.current", "123\n")
    assert cgroup_headroom(tmp_path, tmp_path / "proc_cgroup") is None


def test_cgroup_v1_limit(tmp_path):
    write(tmp_path / "proc_cgroup", "4:memory:/docker/abc\n")
    write(tmp_path / "memory" / "memory.limit_in_bytes", "2147483648\n")
    write(tmp_path / "memory" / "memory.usage_in_bytes", "536870912\n")
    write(tmp_path / "memory" / "memory.stat", "total_inactive_file 0\n")
    # 2 GiB - 512 MiB = 2,147,483,648 - 536,870,912 = 1,610,612,736
    assert cgroup_headroom(tmp_path, tmp_path / "proc_cgroup") == 1_610_612_736
    # v1's "no limit" is 2**63 rounded down to a page
    write(tmp_path / "memory" / "memory.limit_in_bytes", "9223372036854771712\n")
    assert cgroup_headroom(tmp_path, tmp_path / "proc_cgroup") is None


def test_mem_available_reads_meminfo(tmp_path):
    write(tmp_path / "meminfo", "MemTotal:  100 kB\nMemFree:  20 kB\nMemAvailable:  50 kB\n")
    # 50 kB · 1024
    assert mem_available(tmp_path / "meminfo") == 51_200
    assert mem_available(tmp_path / "missing") is None
