"""One real training step on a real device: time, peak memory beside the estimate, device placement.

`measure_training_step` estimates first (memory-free) and refuses what would not fit, then builds
the model on the device, runs warm-up and measured steps with a real loss and optimizer, and always
releases what it allocated, also when a step fails or the caller stops it.
"""

from __future__ import annotations

import contextlib
import gc
import math
import resource
import statistics
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass

import torch
from torch import nn

from inspector.core.devices import cuda_visible_devices, resolve_device
from inspector.core.errors import ForwardError, InspectorError, InvalidArgumentError
from inspector.core.inputs import make_inputs
from inspector.core.memory_guard import check_fits
from inspector.core.messages import Message
from inspector.planner.estimate import (
    COMPUTE_DTYPE,
    MAX_BATCH_SIZE,
    LossName,
    MemoryEstimate,
    OptimizerName,
    Precision,
    check_count,
    compute_loss,
    estimate_subject,
    load_model,
    make_targets,
    parse_choice,
    resolve_subject,
)

MAX_LEARNING_RATE = 10.0  # far above any useful step size: more is a typo
MOMENTUM = 0.9  # sgd_momentum's momentum, the value of PyTorch's examples
MAX_STEPS, MAX_WARMUP = 10_000, 1_000
MAX_DATASET, MAX_EPOCHS = 10**12, 100_000


@dataclass(frozen=True)
class VisibleGPU:
    """A GPU this process sees: torch's index, the physical index CUDA_VISIBLE_DEVICES maps it to."""

    index: str
    physical: str | None
    name: str
    uuid: str | None
    total_memory: int


@dataclass(frozen=True)
class DevicePlacement:
    """The devices of everything in the last step; PyTorch needs them all to be one."""

    parameters: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    loss: tuple[str, ...]
    gradients: tuple[str, ...]

    @property
    def same_device(self) -> bool:
        """Return whether every tensor of the step sat on one device."""
        return len({*self.parameters, *self.inputs, *self.outputs, *self.loss, *self.gradients}) == 1


@dataclass(frozen=True)
class MisplacedInput:
    """What PyTorch said when the input was left on another device than the model, and the fix."""

    model_device: str
    input_device: str
    torch_message: str | None  # None: PyTorch raised nothing
    fix: str


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


def visible_gpus() -> tuple[VisibleGPU, ...]:
    """Return the GPUs this process sees, with the physical index behind each (from CUDA_VISIBLE_DEVICES)."""
    if not torch.cuda.is_available():
        return ()
    mapping = [part.strip() for part in (cuda_visible_devices() or "").split(",") if part.strip()]
    gpus = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        physical = mapping[index] if index < len(mapping) else (None if mapping else str(index))
        uuid = getattr(props, "uuid", None)
        gpus.append(
            VisibleGPU(f"cuda:{index}", physical, props.name, str(uuid) if uuid else None, int(props.total_memory))
        )
    return tuple(gpus)


def check_learning_rate(value: object) -> float:
    """Return the learning rate as a float in (0, 10], or raise saying the range."""
    try:
        rate = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        rate = math.nan
    if not 0 < rate <= MAX_LEARNING_RATE:  # NaN fails every comparison
        raise InvalidArgumentError(
            f"learning rate must be a number above 0 and at most {MAX_LEARNING_RATE:g}, got {value!r}",
            "e.g. 0.001 for Adam, 0.1 for SGD",
            key="errors_b.bad_learning_rate",
            params={"maximum": f"{MAX_LEARNING_RATE:g}", "value": repr(value)},
        )
    return rate


class _PeakMeter:
    """Peak memory from `start()` to `peak()`: CUDA's allocator counters, else the process's resident set."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.baseline = 0
        self.cleared = False

    @property
    def method(self) -> tuple[str, bool]:
        if self.device.type == "cuda":
            return "torch.cuda.max_memory_allocated", False
        if self.device.type == "cpu":
            source = "VmHWM" if self.cleared else "ru_maxrss"
            return Message(
                f"process peak resident memory delta ({source}); approximate", "peak.cpu", source=source
            ), True
        return Message("not measured on this device", "peak.none"), True

    def start(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.baseline = torch.cuda.memory_allocated(self.device)
        elif self.device.type == "cpu":
            # Writing 5 to clear_refs resets the peak resident size (VmHWM) to the current one.
            with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
                refs.write("5")
                self.cleared = True
            self.baseline = _status_kib("VmRSS") * 1024 if self.cleared else _max_rss()

    def peak(self) -> int | None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            return torch.cuda.max_memory_allocated(self.device) - self.baseline
        if self.device.type == "cpu":
            high = _status_kib("VmHWM") * 1024 if self.cleared else _max_rss()
            return max(high - self.baseline, 0)
        return None


def _status_kib(field_name: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    return 0


def _max_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _other_device(device: torch.device) -> torch.device:
    """Return a device the input can wrongly sit on: cpu for an accelerator, else cuda:0, else meta."""
    if device.type != "cpu":
        return torch.device("cpu")
    return torch.device("cuda:0") if torch.cuda.is_available() else torch.device("meta")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _make_optimizer(name: OptimizerName, params: list[torch.Tensor], lr: float) -> torch.optim.Optimizer:
    if name is OptimizerName.SGD:
        return torch.optim.SGD(params, lr=lr)
    if name is OptimizerName.SGD_MOMENTUM:
        return torch.optim.SGD(params, lr=lr, momentum=MOMENTUM)
    return (torch.optim.Adam if name is OptimizerName.ADAM else torch.optim.AdamW)(params, lr=lr)


def _devices(tensors: object) -> tuple[str, ...]:
    items = tensors if isinstance(tensors, (list, tuple)) else [tensors]
    return tuple(sorted({str(t.device) for t in items if isinstance(t, torch.Tensor)}))


@dataclass(frozen=True)
class _Plan:
    """Checked arguments and the estimate, before anything is allocated on the device."""

    name: str
    options: Mapping[str, object] | None
    device: torch.device
    precision: Precision
    optimizer: OptimizerName
    loss: LossName
    lr: float
    steps: int
    warmup: int
    token_dtype: torch.dtype | None
    estimate: MemoryEstimate


class _Session:
    """The model, optimizer and tensors of one run on the device; `release()` lets go of all of them."""

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        self.model: nn.Module | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.pairs: list[tuple[nn.Parameter, torch.Tensor]] = []  # (bf16 weight, fp32 master) when mixed
        self.inputs: list[torch.Tensor] = []
        self.targets: torch.Tensor | None = None

    def build(self) -> None:
        plan = self.plan
        compute = COMPUTE_DTYPE[plan.precision]
        self.model = load_model(plan.name, plan.options, plan.device, compute)[0].train()
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        if plan.precision is Precision.MIXED:
            self.pairs = [(p, p.detach().float().requires_grad_()) for p in trainable]
        self.optimizer = _make_optimizer(plan.optimizer, [m for _, m in self.pairs] or trainable, plan.lr)
        shapes = [list(shape) for shape in plan.estimate.input_shapes]
        made = make_inputs(shapes if len(shapes) > 1 else shapes[0], None, plan.device, compute, plan.token_dtype)
        self.inputs = made if isinstance(made, list) else [made]
        probe = torch.empty(plan.estimate.output_shape, dtype=compute, device="meta")
        self.targets = make_targets(probe, plan.loss, plan.token_dtype is not None, plan.device)

    def step(self, inputs: list[torch.Tensor], record: bool = False) -> tuple[float, DevicePlacement | None]:
        """Run forward, loss, backward and the optimizer once; return the loss and, if asked, the devices."""
        model, optimizer = self.model, self.optimizer
        optimizer.zero_grad(set_to_none=True)
        output = model(*inputs)
        loss = compute_loss(output, self.targets, self.plan.loss, self.plan.token_dtype is not None)
        loss.backward()
        placement = None
        if record:
            grads = [p.grad for p in model.parameters() if p.grad is not None]
            placement = DevicePlacement(
                _devices(list(model.parameters())), _devices(inputs), _devices(output), _devices(loss), _devices(grads)
            )
        del output
        for weight, master in self.pairs:  # mixed: bf16 gradients become the fp32 masters' gradients
            if weight.grad is not None:  # a weight the forward never used has none
                master.grad, weight.grad = weight.grad.float(), None
        optimizer.step()
        with torch.no_grad():
            for weight, master in self.pairs:
                weight.copy_(master)
                master.grad = None
        return float(loss.detach()), placement

    def release(self) -> None:
        self.model = self.optimizer = self.targets = None
        self.pairs, self.inputs = [], []
        gc.collect()
        if self.plan.device.type == "cuda":
            torch.cuda.empty_cache()


def _misplaced_demo(session: _Session) -> MisplacedInput:
    """Return PyTorch's own error for a step whose input sits on another device than the model."""
    device = session.plan.device
    other = _other_device(device)
    message = None
    try:
        session.step([tensor.to(other) for tensor in session.inputs])
    except RuntimeError as error:
        message = str(error).strip().splitlines()[0]
        traceback.clear_frames(error.__traceback__)
    finally:
        session.model.zero_grad(set_to_none=True)
        session.optimizer.zero_grad(set_to_none=True)
    return MisplacedInput(str(device), str(other), message, f'x = x.to("{device}")')


def _run_steps(
    session: _Session, progress: Callable[[int, int], None] | None, should_stop: Callable[[], bool] | None
) -> tuple[list[float], list[float], DevicePlacement | None, bool]:
    """Run warm-up then measured steps; return step times, losses, the devices seen and whether stopped."""
    plan = session.plan
    total = plan.warmup + plan.steps
    times: list[float] = []
    losses: list[float] = []
    placement = None
    for done in range(total):
        if should_stop is not None and should_stop():
            return times, losses, placement, True
        _sync(plan.device)
        start = time.perf_counter()
        value, seen = session.step(session.inputs, record=done == 0)
        _sync(plan.device)
        elapsed = time.perf_counter() - start
        placement = placement or seen
        if done >= plan.warmup:  # warm-up steps pay for allocation, autotuning and the optimizer's state
            times.append(elapsed)
            losses.append(value)
        if progress is not None:
            progress(done + 1, total)
    return times, losses, placement, False


def _estimate(subject: object, batch: int, plan_args: tuple, target: torch.device) -> MemoryEstimate:
    """Return the estimate with the target device's kernels, or device-independent ones if those fail."""
    try:
        return estimate_subject(subject, batch, *plan_args, target)
    except ForwardError:
        return estimate_subject(subject, batch, *plan_args, torch.device("meta"))


def _plan(
    model_name: str,
    options: Mapping[str, object] | None,
    input_size: object,
    batch: int,
    device: object,
    choices: tuple[object, object, object],
    lr: float,
    steps: int,
    warmup: int,
) -> _Plan:
    target = resolve_device(device)
    if target.type == "meta":
        raise InvalidArgumentError(
            "a training step needs a real device: meta holds no data to train on",
            "choose cpu, cuda:N or mps; the memory estimate works on meta",
            key="errors_b.train_on_meta",
        )
    precision = parse_choice(Precision, choices[0], "precision")
    optimizer = parse_choice(OptimizerName, choices[1], "optimizer")
    loss = parse_choice(LossName, choices[2], "loss")
    subject = resolve_subject(model_name, options, input_size)
    estimate = _estimate(subject, batch, (precision, optimizer, loss), target)
    try:
        check_fits(estimate.total, target, f"training {estimate.model} with batch size {batch} (estimate)")
    except InvalidArgumentError as error:
        raise InvalidArgumentError(
            error.message,
            "estimate it on device 'meta' without allocating anything "
            "(python -m inspector memory …), or use a smaller batch size",
            key="errors_b.train_does_not_fit",
            params={"error": error},
        ) from None
    return _Plan(
        str(model_name), options, target, precision, optimizer, loss, lr, steps, warmup, subject.token_dtype, estimate
    )


def measure_training_step(
    model_name: str,
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
    progress_callback: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainStepResult:
    """Return the timings, peak memory and device placement of real training steps on `device`.

    Refuses, before allocating, a run whose estimate does not fit the device's free memory. With
    `misplace_input`, one extra step first runs with the input on another device and PyTorch's
    error comes back as data. `should_stop()` is asked before every step.
    """
    batch = check_count(batch_size, "batch size", MAX_BATCH_SIZE)
    counts = (check_count(steps, "steps", MAX_STEPS), check_count(warmup, "warm-up steps", MAX_WARMUP, minimum=0))
    dataset = check_count(dataset_size, "dataset size", MAX_DATASET)
    epoch_count = check_count(epochs, "epochs", MAX_EPOCHS)
    rate = check_learning_rate(lr)
    plan = _plan(model_name, options, input_size, batch, device, (precision, optimizer, loss), rate, *counts)
    meter = _PeakMeter(plan.device)
    session = _Session(plan)
    failure: Exception | None = None
    try:
        meter.start()
        session.build()
        misplaced = _misplaced_demo(session) if misplace_input else None
        times, losses, placement, stopped = _run_steps(session, progress_callback, should_stop)
        peak = meter.peak()
    except InspectorError as error:
        failure = error
        traceback.clear_frames(error.__traceback__)
    except (RuntimeError, ValueError, TypeError, IndexError, AssertionError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        failure = ForwardError(
            f"the training step failed on {plan.device}: {message}",
            "check the loss against the model's output, or use a smaller batch size",
            torch_message=message,
        )
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
