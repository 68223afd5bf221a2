"""The Training Planner's model: the Model Inspector's sources (zoo, Hugging Face, your code), planned.

The source choice, the Hugging Face settings and the code box are the Model Inspector's own widgets
(`ui.model.sources`); this module adds what planning needs: the cached estimate and largest batch for
each kind, and the measured run. Your code is planned and measured only in a worker process
(`core.sandbox.run_limited`, the Model Inspector's limits), and only where the server was started with
INSPECTOR_ALLOW_CODE=1; its progress comes back on a queue while the server waits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st

from inspector.core.sandbox import progress_queue, run_limited
from inspector.model.hf import PREFIX
from inspector.model.sources import ModelSource, SourceKind
from inspector.model.user_code import check_code_allowed
from inspector.planner.estimate import MemoryEstimate, estimate_training_memory
from inspector.planner.largest_batch import BatchSearch, largest_batch_size
from inspector.planner.session import StepProgress
from inspector.planner.train_step import TrainStepResult, measure_training_step
from inspector.planner.user_code import measure_code_step, plan_code
from ui import cache
from ui.model.sources import (
    CodeChoice,
    HFChoice,
    code_input_dtype,
    code_settings,
    hf_settings,
    hf_source,
    source_choice,
)
from ui.query import url_value

Chosen = str | HFChoice | CodeChoice  # a zoo name, a Hugging Face choice, or pasted code
Choices = tuple[str, str, str]  # precision, optimizer, loss


def follow_old_links() -> None:
    """Read a link from before the source choice, `?model=hf:NAME`, as `?source=hf&hf=NAME`."""
    raw = url_value("model")
    if raw is not None and raw.startswith(PREFIX) and url_value("source") is None:
        st.query_params["source"] = SourceKind.HF.value
        st.query_params["hf"] = raw.removeprefix(PREFIX)
        del st.query_params["model"]


def choose_source(problems: list[str], zoo_picker: Callable[[], str]) -> tuple[SourceKind, Chosen | None]:
    """Show the source choice and its settings (`zoo_picker` shows the zoo's); return the kind and the choice
    (None while a Hugging Face config or the code is missing, or running code is off)."""
    kind = source_choice(problems)
    if kind is SourceKind.ZOO:
        return kind, zoo_picker()
    if kind is SourceKind.HF:
        return kind, hf_settings(problems, inputs=False)
    return kind, code_settings()


def planned_model(chosen: str | HFChoice) -> str | ModelSource:
    """Return what the planner takes: a zoo name as it is, a Hugging Face choice as its model source."""
    return chosen if isinstance(chosen, str) else hf_source(chosen)


def takes_tokens(chosen: Chosen) -> bool:
    """Return whether one sample is a sequence of token ids (a Hugging Face text model)."""
    return isinstance(chosen, HFChoice) and not planned_model(chosen).hf.is_vision  # type: ignore[union-attr]


@st.cache_data(max_entries=32, show_spinner=False)
def plan(
    chosen: str | HFChoice, sample: object, batch: int, choices: Choices, budget: str, device: str
) -> tuple[MemoryEstimate, BatchSearch]:
    """Return the estimate at `batch` and the largest batch for `budget` (cached per setting)."""
    model = planned_model(chosen)
    precision, optimizer, loss = choices
    estimate = estimate_training_memory(model, sample, batch, precision, optimizer, device, loss=loss)
    return estimate, largest_batch_size(model, sample, budget, precision, optimizer, device, loss=loss)


@st.cache_data(max_entries=8, show_spinner=False)
def plan_pasted(
    chosen: CodeChoice, batch: int, choices: Choices, budget: str, device: str
) -> tuple[MemoryEstimate, BatchSearch]:
    """Return the pasted model's estimate and largest batch, computed in a worker process under its limits."""
    check_code_allowed()  # the server's own environment decides, not the worker's
    size, kind = chosen.input_size, code_input_dtype(chosen)
    return run_limited(plan_code, chosen.code, chosen.class_name, size, kind, batch, choices, budget, device)


def ask_to_stop() -> bool:
    """Ask this session whether Stop (or a changed widget) wants the run to end: Streamlit's own check raises."""
    check = cache.get_run_yield_check()
    if check is not None:
        check()
    return False


def measure(
    chosen: Chosen, sample: object, on_step: Callable[[StepProgress], None], **settings: Any
) -> TrainStepResult:
    """Return a measured run of `chosen`; `on_step` sees each step's progress (pasted code: in a worker)."""
    if not isinstance(chosen, CodeChoice):
        return measure_training_step(planned_model(chosen), input_size=sample, progress_callback=on_step, **settings)
    check_code_allowed()
    queue = progress_queue()

    def poll() -> bool:  # run_limited asks while it waits: show the worker's progress, then whether to stop
        while not queue.empty():
            on_step(queue.get())
        return ask_to_stop()

    size, kind = chosen.input_size, code_input_dtype(chosen)
    return run_limited(measure_code_step, chosen.code, chosen.class_name, size, kind, queue, cancelled=poll, **settings)
