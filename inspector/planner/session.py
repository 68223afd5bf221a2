"""One run of real training steps on a device: build, step, time, release.

`Session` holds the model, optimizer and tensors of a `Plan` and lets go of all of them in
`release()`; `run_steps` times warm-up and measured steps and reports each as a `StepProgress` (the
step times and peak so far, so a caller that is stopped mid-run still has them); `misplaced_demo` runs
one step with the input on another device and keeps PyTorch's own error.
"""

from __future__ import annotations

import gc
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from inspector.core.inputs import make_inputs
from inspector.model.sources import ModelSource
from inspector.planner.choices import COMPUTE_DTYPE, LossName, OptimizerName, Precision
from inspector.planner.estimate import MemoryEstimate
from inspector.planner.meter import PeakMeter
from inspector.planner.placement import DevicePlacement, MisplacedInput, other_device, tensor_devices
from inspector.planner.subject import compute_loss, load_model, make_targets

MOMENTUM = 0.9  # sgd_momentum's momentum, the value of PyTorch's examples


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


@dataclass(frozen=True)
class Plan:
    """Checked arguments and the estimate, before anything is allocated on the device."""

    name: str | ModelSource  # a name any page or command takes, or a source already read (a pasted config, your code)
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


class Session:
    """The model, optimizer and tensors of one run on the device; `release()` lets go of all of them."""

    def __init__(self, plan: Plan) -> None:
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
        optimized: list[torch.Tensor] = [m for _, m in self.pairs] or [*trainable]
        self.optimizer = _make_optimizer(plan.optimizer, optimized, plan.lr)
        shapes = [list(shape) for shape in plan.estimate.input_shapes]
        made = make_inputs(shapes if len(shapes) > 1 else shapes[0], None, plan.device, compute, plan.token_dtype)
        self.inputs = cast("list[torch.Tensor]", made if isinstance(made, list) else [made])  # tensors for shapes
        probe = torch.empty(plan.estimate.output_shape, dtype=compute, device="meta")
        self.targets = make_targets(probe, plan.loss, plan.token_dtype is not None, plan.device)

    def step(self, inputs: list[torch.Tensor], record: bool = False) -> tuple[float, DevicePlacement | None]:
        """Run forward, loss, backward and the optimizer once; return the loss and, if asked, the devices."""
        model, optimizer, targets = self.model, self.optimizer, self.targets
        assert model is not None and optimizer is not None and targets is not None, "build() comes first"
        optimizer.zero_grad(set_to_none=True)
        output = model(*inputs)
        loss = compute_loss(output, targets, self.plan.loss, self.plan.token_dtype is not None)
        loss.backward()
        placement = None
        if record:
            grads = [p.grad for p in model.parameters() if p.grad is not None]
            placement = DevicePlacement(
                tensor_devices(list(model.parameters())),
                tensor_devices(inputs),
                tensor_devices(output),
                tensor_devices(loss),
                tensor_devices(grads),
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


def misplaced_demo(session: Session) -> MisplacedInput:
    """Return PyTorch's own error for a step whose input sits on another device than the model."""
    device = session.plan.device
    other = other_device(device)
    model, optimizer = session.model, session.optimizer
    assert model is not None and optimizer is not None, "a built session"
    message = None
    try:
        session.step([tensor.to(other) for tensor in session.inputs])
    except RuntimeError as error:
        message = str(error).strip().splitlines()[0]
        traceback.clear_frames(error.__traceback__)
    finally:
        model.zero_grad(set_to_none=True)
        optimizer.zero_grad(set_to_none=True)
    return MisplacedInput(str(device), str(other), message, f'x = x.to("{device}")')


@dataclass(frozen=True)
class StepProgress:
    """How far a run got: steps done of the total (warm-up first), the measured steps' times and losses
    so far, and the peak memory so far (None where the device cannot say)."""

    done: int
    total: int
    warmup: int
    step_seconds: tuple[float, ...]
    losses: tuple[float, ...]
    peak_bytes: int | None

    @property
    def measured_done(self) -> int:
        """Return how many measured steps (warm-up excluded) have finished."""
        return len(self.step_seconds)


def run_steps(
    session: Session,
    progress: Callable[[StepProgress], None] | None,
    should_stop: Callable[[], bool] | None,
    meter: PeakMeter | None = None,
) -> tuple[list[float], list[float], DevicePlacement | None, bool]:
    """Run warm-up then measured steps; return step times, losses, the devices seen and whether stopped.

    After every step `progress` gets a StepProgress with the times, losses and peak (from `meter`) so far.
    """
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
            peak = None if meter is None else meter.peak()
            progress(StepProgress(done + 1, total, plan.warmup, tuple(times), tuple(losses), peak))
    return times, losses, placement, False
