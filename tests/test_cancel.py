"""ui.cache.cancellable: a pending stop ends an inspection's forward at the next layer.

The browser test (tests/test_load.py) shows the effect through the page; this counts it: of the
model's layers, how many ran before the stop, against how many a full forward runs. Streamlit's
own stop check is replaced by one that reports "stop pending" from its Nth question on, and raises
Streamlit's real StopException, as the real check does once a user changes a widget.
"""

from __future__ import annotations

import pytest
import torch
from conftest import assert_same_state, model_state
from streamlit.runtime.scriptrunner_utils.exceptions import StopException
from torch import nn

from inspector import inspect_model
from ui import cache

LAYERS = 12
STOP_AT = 5  # the check answers "stop" on its 5th question: the pre-hook of the 5th module to start


def deep_model() -> nn.Sequential:
    return nn.Sequential(*[nn.Linear(8, 8) for _ in range(LAYERS)])


def count_leaf_forwards(model: nn.Module) -> list[str]:
    """Register (on the model) forward hooks that append each finished leaf's name; return the list."""
    finished: list[str] = []
    for name, module in model.named_children():
        module.register_forward_hook(lambda *_, name=name: finished.append(name))
    return finished


def stop_check_after(questions: int) -> tuple[list[int], object]:
    asked: list[int] = []

    def check() -> None:
        asked.append(1)
        if len(asked) >= questions:
            raise StopException()

    return asked, check


def test_a_pending_stop_ends_the_forward_at_the_next_layer(monkeypatch):
    model = deep_model()
    finished = count_leaf_forwards(model)
    before = model_state(model)
    asked, check = stop_check_after(STOP_AT)
    monkeypatch.setattr(cache, "get_run_yield_check", lambda: check)
    with pytest.raises(StopException), cache.cancellable(model):
        inspect_model(model, input_size=(2, 8))
    # pre-hooks ask in call order: the Sequential (1st), then Linear 0, 1, 2 finish before Linear 3
    # asks (5th) and is stopped: 3 of the 12 layers ran
    assert len(finished) == STOP_AT - 2 == 3
    assert len(finished) < LAYERS
    assert len(asked) == STOP_AT
    assert_same_state(before, model_state(model))  # cancellable's and inspection's hooks are gone


def test_without_a_stop_every_layer_runs(monkeypatch):
    model = deep_model()
    finished = count_leaf_forwards(model)
    asked, check = stop_check_after(10**9)
    monkeypatch.setattr(cache, "get_run_yield_check", lambda: check)
    with cache.cancellable(model):
        report = inspect_model(model, input_size=(2, 8))
    assert len(finished) == LAYERS
    assert len(asked) == LAYERS + 1  # one question per module: the 12 Linears and the Sequential
    assert report.output_shape == list(model(torch.zeros(2, 8)).shape)
