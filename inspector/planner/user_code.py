"""Planning for a model pasted as code (the app's code box): the estimate, the largest batch, a measured run.

The code runs as Python, so these run only in a worker process (`core.sandbox.run_limited`, with its
memory cap and deadline) and only after `model.user_code.check_code_allowed` passed in the server,
as the Model Inspector's code box does. The worker builds the class from the text, then calls the
planner as for any other model. A measured run puts its progress on a queue the server reads while
it waits, so a stopped run still shows the steps it measured.
"""

from __future__ import annotations

from typing import Any

from inspector.model.sources import ModelSource
from inspector.model.user_code import code_source
from inspector.planner.estimate import MemoryEstimate, estimate_training_memory
from inspector.planner.largest_batch import BatchSearch, largest_batch_size
from inspector.planner.session import StepProgress
from inspector.planner.train_step import TrainStepResult, measure_training_step

Sizes = tuple[int, ...] | list[tuple[int, ...]]


def _source(code: str, class_name: str, input_size: Sizes, input_dtype: str | None) -> tuple[ModelSource, object]:
    """Return the code's model source and one sample's shape(s): the input size without its batch dimension."""
    source = code_source(code, class_name, None, input_size, input_dtype)
    sample = [tuple(size[1:]) for size in input_size] if isinstance(input_size, list) else tuple(input_size[1:])
    return source, sample


def plan_code(
    code: str,
    class_name: str,
    input_size: Sizes,
    input_dtype: str | None,
    batch: int,
    choices: tuple[str, str, str],
    budget: str,
    device: str,
) -> tuple[MemoryEstimate, BatchSearch]:
    """Return the estimate at `batch` and the largest batch for `budget` of the code's model (run in a worker).

    `choices` are the precision, optimizer and loss; `input_size` is the code box's, batch included.
    """
    source, sample = _source(code, class_name, input_size, input_dtype)
    precision, optimizer, loss = choices
    estimate = estimate_training_memory(source, sample, batch, precision, optimizer, device, loss=loss)
    return estimate, largest_batch_size(source, sample, budget, precision, optimizer, device, loss=loss)


def measure_code_step(
    code: str, class_name: str, input_size: Sizes, input_dtype: str | None, progress: Any, **settings: Any
) -> TrainStepResult:
    """Return `measure_training_step` for the code's model (run in a worker); each step's StepProgress goes
    on `progress` (a `sandbox.progress_queue()`, or None). `settings` are measure_training_step's keywords."""
    source, sample = _source(code, class_name, input_size, input_dtype)

    def report(step: StepProgress) -> None:
        if progress is not None:
            progress.put(step)

    return measure_training_step(source, input_size=sample, progress_callback=report, **settings)
