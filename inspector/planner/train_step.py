"""One real training step on a real device: time, peak memory beside the estimate, device placement.

`measure_training_step` estimates first (memory-free) and refuses what would not fit, then builds
the model on the device, runs warm-up and measured steps with a real loss and optimizer, and always
releases what it allocated, also when a step fails or the caller stops it.
"""

from __future__ import annotations

import math
import statistics
import traceback
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import SupportsFloat

import torch

from inspector.core.devices import cuda_visible_devices, resolve_device
from inspector.core.errors import ForwardError, InspectorError, InvalidArgumentError
from inspector.core.memory_guard import check_fits, reserve
from inspector.core.messages import msg
from inspector.model.sources import ModelSource
from inspector.planner.choices import MAX_BATCH_SIZE, LossName, OptimizerName, Precision, check_count, parse_choice
from inspector.planner.estimate import MemoryEstimate, estimate_subject
from inspector.planner.meter import PeakMeter
from inspector.planner.placement import DevicePlacement, MisplacedInput, VisibleGPU, visible_gpus
from inspector.planner.session import Plan, Session, StepProgress, misplaced_demo, run_steps
from inspector.planner.subject import Subject, resolve_subject

MAX_LEARNING_RATE = 10.0  # far above any useful step size: more is a typo
MAX_STEPS, MAX_WARMUP = 10_000, 1_000
MAX_DATASET, MAX_EPOCHS = 10**12, 100_000


@dataclass(frozen=True)
class TrainStepResult:
    """Timings, measured peak memory beside the estimate, and where every tensor was."""

    model: str
    device: str
    precision: str
    optimizer: str
    loss: str
    learning_rate: float
    batch_size: int
    warmup: int
    steps_requested: int
    step_seconds: tuple[float, ...]  # each measured step, warm-up excluded
    losses: tuple[float, ...]
    stopped: bool
    dataset_size: int
    epochs: int
    steps_per_epoch: int
    measured_peak_bytes: int | None
    peak_method: str
    peak_approximate: bool
    estimate: MemoryEstimate
    placement: DevicePlacement | None
    misplaced: MisplacedInput | None
    cuda_visible_devices: str | None
    visible_gpus: tuple[VisibleGPU, ...]

    @property
    def seconds_per_step(self) -> float | None:
        """Return the median measured step time (None when stopped before any)."""
        return statistics.median(self.step_seconds) if self.step_seconds else None

    @property
    def samples_per_second(self) -> float | None:
        """Return batch size / seconds per step."""
        return self.batch_size / self.seconds_per_step if self.seconds_per_step else None

    @property
    def epoch_seconds(self) -> float | None:
        """Return steps per epoch (⌈dataset / batch⌉) × seconds per step."""
        return self.steps_per_epoch * self.seconds_per_step if self.seconds_per_step else None

    @property
    def total_seconds(self) -> float | None:
        """Return epochs × epoch seconds."""
        return self.epochs * self.epoch_seconds if self.epoch_seconds else None

    @property
    def difference_percent(self) -> float | None:
        """Return (measured − estimate) / estimate × 100."""
        if self.measured_peak_bytes is None or not self.estimate.total:
            return None
        return (self.measured_peak_bytes - self.estimate.total) / self.estimate.total * 100

    def to_dict(self) -> dict[str, object]:
        """Return the result as JSON-ready data, derived figures included."""
        derived = ("seconds_per_step", "samples_per_second", "epoch_seconds", "total_seconds", "difference_percent")
        data = {**asdict(self), **{name: getattr(self, name) for name in derived}}
        data["estimate"] = self.estimate.to_dict()
        if self.placement is not None:
            data["placement"]["same_device"] = self.placement.same_device
        return data


def check_learning_rate(value: object) -> float:
    """Return the learning rate as a float in (0, 10], or raise saying the range."""
    try:
        rate = float(value) if isinstance(value, SupportsFloat | str) and not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        rate = math.nan
    if not 0 < rate <= MAX_LEARNING_RATE:  # NaN fails every comparison
        raise InvalidArgumentError("errors_b.bad_learning_rate", maximum=f"{MAX_LEARNING_RATE:g}", value=repr(value))
    return rate


def _estimate(
    subject: Subject, batch: int, plan_args: tuple[Precision, OptimizerName, LossName], target: torch.device
) -> MemoryEstimate:
    """Return the estimate with the target device's kernels, or device-independent ones if those fail."""
    try:
        return estimate_subject(subject, batch, *plan_args, target)
    except ForwardError:
        return estimate_subject(subject, batch, *plan_args, torch.device("meta"))


def _plan(
    model_name: str | ModelSource,
    options: Mapping[str, object] | None,
    input_size: object,
    batch: int,
    device: str | torch.device | None,
    choices: tuple[object, object, object],
    lr: float,
    steps: int,
    warmup: int,
) -> Plan:
    target = resolve_device(device)
    if target.type == "meta":
        raise InvalidArgumentError("errors_b.train_on_meta")
    precision = parse_choice(Precision, choices[0])
    optimizer = parse_choice(OptimizerName, choices[1])
    loss = parse_choice(LossName, choices[2])
    subject = resolve_subject(model_name, options, input_size)
    estimate = _estimate(subject, batch, (precision, optimizer, loss), target)
    try:
        check_fits(estimate.total, target, msg("engine.planner.what.training", model=estimate.model, batch=batch))
    except InvalidArgumentError as error:  # the same numbers, with the planner's own way out
        raise InvalidArgumentError("errors_b.train_does_not_fit", error=error) from None
    name = model_name if isinstance(model_name, ModelSource) else str(model_name)
    return Plan(name, options, target, precision, optimizer, loss, lr, steps, warmup, subject.token_dtype, estimate)


def measure_training_step(
    model_name: str | ModelSource,
    options: Mapping[str, object] | None = None,
    input_size: object = None,
    batch_size: object = 32,
    device: str = "cpu",
    precision: str = Precision.FP32,
    optimizer: str = OptimizerName.ADAM,
    lr: object = 1e-3,
    loss: str = LossName.CROSS_ENTROPY,
    steps: object = 5,
    warmup: object = 1,
    dataset_size: object = 50_000,
    epochs: object = 1,
    misplace_input: bool = False,
    progress_callback: Callable[[StepProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainStepResult:
    """Return the timings, peak memory and device placement of real training steps on `device`.

    Refuses, before allocating, a run whose estimate does not fit the device's free memory. With
    `misplace_input`, one extra step first runs with the input on another device and PyTorch's
    error comes back as data. `should_stop()` is asked before every step; `progress_callback` gets a
    StepProgress after every step (the step times and peak so far, also what a stopped caller keeps).
    `model_name` may be a ModelSource already read (a pasted config, a class from your code).
    """
    batch = check_count(batch_size, msg("engine.errors_b.what.batch_size"), MAX_BATCH_SIZE)
    counts = (
        check_count(steps, msg("engine.errors_b.what.steps"), MAX_STEPS),
        check_count(warmup, msg("engine.errors_b.what.warm_up_steps"), MAX_WARMUP, minimum=0),
    )
    dataset = check_count(dataset_size, msg("engine.errors_b.what.dataset_size"), MAX_DATASET)
    epoch_count = check_count(epochs, msg("engine.errors_b.what.epochs"), MAX_EPOCHS)
    rate = check_learning_rate(lr)
    plan = _plan(model_name, options, input_size, batch, device, (precision, optimizer, loss), rate, *counts)
    # The estimate stays reserved in the process budget while the step runs: concurrent steps and
    # inspections queue instead of overrunning together.
    what = msg("engine.planner.what.training", model=plan.estimate.model, batch=batch)
    with reserve(plan.estimate.total, plan.device, what):
        meter = PeakMeter(plan.device)
        session = Session(plan)
        failure: Exception | None = None
        try:
            meter.start()
            session.build()
            misplaced = misplaced_demo(session) if misplace_input else None
            times, losses, placement, stopped = run_steps(session, progress_callback, should_stop, meter)
            peak = meter.peak()
        except InspectorError as error:
            failure = error
            traceback.clear_frames(error.__traceback__)
        except (RuntimeError, ValueError, TypeError, IndexError, AssertionError) as error:
            message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            failure = ForwardError("planner.step_failed", device=plan.device, torch_message=message)
            traceback.clear_frames(error.__traceback__)  # the frames hold the model and tensors
        finally:
            session.release()
    if failure is not None:
        raise failure
    method, approximate = meter.method
    return TrainStepResult(
        model=plan.estimate.model,
        device=str(plan.device),
        precision=plan.precision.value,
        optimizer=plan.optimizer.value,
        loss=plan.loss.value,
        learning_rate=rate,
        batch_size=batch,
        warmup=plan.warmup,
        steps_requested=plan.steps,
        step_seconds=tuple(times),
        losses=tuple(losses),
        stopped=stopped,
        dataset_size=dataset,
        epochs=epoch_count,
        steps_per_epoch=math.ceil(dataset / batch),
        measured_peak_bytes=peak,
        peak_method=method,
        peak_approximate=approximate,
        estimate=plan.estimate,
        placement=placement,
        misplaced=misplaced,
        cuda_visible_devices=cuda_visible_devices(),
        visible_gpus=visible_gpus(),
    )
