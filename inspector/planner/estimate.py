"""Training memory before a run: parameters, gradients, optimizer state and saved activations.

A chain, as accelerate's estimate-memory: `collect_saved_tensors` runs one forward and loss under
autograd's saved-tensor hooks on tensors that hold no memory, `_weight_parts` turns parameter counts
into named byte parts, and only the CLI and the app format. The largest batch for a budget is
`largest_batch`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import torch
from torch import nn

from inspector.core.devices import resolve_device
from inspector.core.messages import msg
from inspector.model.sources import ModelSource
from inspector.planner.choices import (
    ADAM_STEP_BYTES,
    COMPUTE_DTYPE,
    MAX_BATCH_SIZE,
    STATE_SLOTS,
    LossName,
    OptimizerName,
    Precision,
    check_count,
    parse_choice,
)
from inspector.planner.saved_tensors import LayerActivations, collect_saved_tensors
from inspector.planner.subject import Subject, resolve_subject


@dataclass(frozen=True)
class MemoryEstimate:
    """Training memory in bytes, by named part; `total` assumes every part is held at once."""

    model: str
    batch_size: int
    input_shapes: tuple[tuple[int, ...], ...]
    output_shape: tuple[int, ...]
    precision: str
    optimizer: str
    loss: str
    device: str  # whose kernels the forward followed (meta: device-independent ones)
    parameter_count: int
    trainable_parameter_count: int
    parameters: int
    buffers: int
    gradients: int
    master_weights: int
    optimizer_state: int
    activations: int
    outputs: int
    inputs: int
    layers: tuple[LayerActivations, ...]

    def parts(self) -> dict[str, int]:
        """Return the named parts in the order they are presented."""
        names = ("parameters", "buffers", "gradients", "master_weights", "optimizer_state", "activations")
        return {name: getattr(self, name) for name in (*names, "outputs", "inputs")}

    @property
    def total(self) -> int:
        """Return the sum of all parts."""
        return sum(self.parts().values())

    def to_dict(self) -> dict[str, object]:
        """Return the estimate as JSON-ready data, total included."""
        return {**asdict(self), "total": self.total}


def _weight_parts(model: nn.Module, precision: Precision, optimizer: OptimizerName) -> dict[str, int]:
    """Return the parts that depend on the weights only: they do not grow with the batch."""
    compute = COMPUTE_DTYPE[precision]

    def size(tensor: torch.Tensor) -> int:  # float tensors are stored in the compute dtype
        return tensor.numel() * (compute.itemsize if tensor.is_floating_point() else tensor.element_size())

    params = list(model.parameters())  # a tied weight is yielded once
    trainable = [p for p in params if p.requires_grad]
    trainable_numel = sum(p.numel() for p in trainable)
    # The optimizer's state is like the tensors it updates: fp32 masters under mixed precision.
    state_itemsize = 4 if precision is Precision.MIXED else compute.itemsize
    adam = optimizer in (OptimizerName.ADAM, OptimizerName.ADAMW)
    return {
        "parameters": sum(size(p) for p in params),  # 1× the weights, in the compute dtype
        "buffers": sum(size(b) for b in model.buffers()),  # running statistics and the like
        "gradients": sum(size(p) for p in trainable),  # 1× the trainable weights, same dtype
        # Mixed precision: one fp32 copy (4 bytes) of each trainable weight, which the optimizer updates.
        "master_weights": trainable_numel * 4 if precision is Precision.MIXED else 0,
        "optimizer_state": trainable_numel * state_itemsize * STATE_SLOTS[optimizer]
        + (ADAM_STEP_BYTES * len(trainable) if adam else 0),
    }


def estimate_subject(
    subject: Subject,
    batch_size: int,
    precision: Precision,
    optimizer: OptimizerName,
    loss: LossName,
    device: torch.device,
) -> MemoryEstimate:
    """Return the estimate for an already resolved subject (validated arguments)."""
    collected = collect_saved_tensors(subject, batch_size, precision, loss, device)
    params = list(subject.model.parameters())
    return MemoryEstimate(
        model=subject.label,
        batch_size=batch_size,
        input_shapes=tuple((batch_size, *shape) for shape in subject.sample_shapes),
        output_shape=collected.output_shape,
        precision=precision.value,
        optimizer=optimizer.value,
        loss=loss.value,
        device=str(device),
        parameter_count=sum(p.numel() for p in params),
        trainable_parameter_count=sum(p.numel() for p in params if p.requires_grad),
        **_weight_parts(subject.model, precision, optimizer),
        activations=sum(layer.bytes for layer in collected.layers),
        outputs=collected.outputs,
        inputs=collected.inputs,
        layers=collected.layers,
    )


def estimate_training_memory(
    model_name_or_module: str | ModelSource | nn.Module,
    input_size: object = None,
    batch_size: object = 1,
    precision: str = Precision.FP32,
    optimizer: str = OptimizerName.ADAM,
    device: str | torch.device = "meta",
    *,
    options: Mapping[str, object] | None = None,
    loss: str = LossName.CROSS_ENTROPY,
) -> MemoryEstimate:
    """Return the training memory of one step, by named part, without allocating any of it.

    `input_size` is one sample's shape without the batch dimension (None: the zoo model's own);
    `device` chooses whose kernels the forward follows: 'meta' (device-independent), or a real
    device run under FakeTensorMode. A module passed in is left as found.
    """
    batch = check_count(batch_size, msg("engine.errors_b.what.batch_size"), MAX_BATCH_SIZE)
    chosen = (parse_choice(Precision, precision), parse_choice(OptimizerName, optimizer))
    loss_name = parse_choice(LossName, loss)
    target = resolve_device(device)
    subject = resolve_subject(model_name_or_module, options, input_size)
    return estimate_subject(subject, batch, *chosen, loss_name, target)
