"""Large cpu runs of the app go to a worker process; small ones stay in the server (ui.cache).

The worker is real (inspector.core.sandbox's forkserver child under RLIMIT_AS); what comes back is
compared with torch's own layer.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from inspector.core.errors import InspectorError
from inspector.core.preflight import Preflight
from inspector.lab.inspection import inspect_layer
from ui import cache

MiB = 2**20


def test_only_large_cpu_runs_go_to_a_worker(monkeypatch):
    monkeypatch.delenv("INSPECTOR_WORKER_MB", raising=False)
    monkeypatch.delenv("INSPECTOR_WORKER_GFLOPS", raising=False)
    assert not cache.in_worker(Preflight("cpu", 10 * MiB, 100 * MiB, flops=10**9))
    assert cache.in_worker(Preflight("cpu", 10 * MiB, 300 * MiB))  # 310 MiB > 256 MiB
    assert cache.in_worker(Preflight("cpu", 0, 0, flops=21 * 10**9))  # 21 GFLOPs > 20
    assert not cache.in_worker(Preflight("cuda:0", 0, 300 * MiB))  # the worker is for the cpu's memory
    monkeypatch.setenv("INSPECTOR_WORKER_MB", "1024")
    assert not cache.in_worker(Preflight("cpu", 10 * MiB, 300 * MiB))
    monkeypatch.setenv("INSPECTOR_WORKER_MB", "nonsense")  # ignored: the default stays
    assert cache.in_worker(Preflight("cpu", 10 * MiB, 300 * MiB))


def test_a_worker_gives_torchs_answer():
    args = {"in_channels": 3, "out_channels": 8, "kernel_size": 3}
    plan = Preflight("cpu", MiB, MiB)
    result = cache.in_sandbox(plan, inspect_layer, "Conv2d", args, (1, 3, 32, 32), "cpu", "float32")
    expected = nn.Conv2d(3, 8, 3)(torch.zeros(1, 3, 32, 32)).shape
    assert result.output_shape == list(expected)
    # 8 · 3 · 3 · 3 + 8 = 224
    assert result.param_count == 224


def test_a_worker_error_comes_back_keyed():
    plan = Preflight("cpu", MiB, MiB)
    with pytest.raises(InspectorError) as caught:
        cache.in_sandbox(plan, inspect_layer, "Conv2d", {"kernel_size": 9}, (1, 1, 4, 4), "cpu", "float32")
    assert caught.value.key is not None
