"""What a plan is about: the model, one sample's input shapes, and the loss its output is scored with.

`resolve_subject` builds a zoo model, `hf:` model, `module:Class`, `file.py:Class` or a ModelSource (a
pasted config, your code) on meta (a module passed in is used as is); `make_targets` and `compute_loss`
give the synthetic targets and the loss for the estimate and for the measured step alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from inspector.core.errors import InvalidArgumentError
from inspector.core.messages import msg
from inspector.core.shapes import validate_size
from inspector.model.sources import ModelSource, training_model
from inspector.planner.choices import LossName


@dataclass(frozen=True)
class Subject:
    """The model to plan for, with its per-sample input shapes and the dtype of token inputs."""

    model: nn.Module
    label: str
    sample_shapes: tuple[tuple[int, ...], ...]
    token_dtype: torch.dtype | None  # integer inputs (token ids): classes are the output's last dim


def _sample_shapes(input_size: object) -> tuple[tuple[int, ...], ...]:
    what = msg("engine.errors_b.what.sample_shape")
    if isinstance(input_size, Sequence) and input_size and all(isinstance(s, Sequence) for s in input_size):
        return tuple(validate_size(tuple(s), what) for s in input_size)
    return (validate_size(tuple(input_size) if isinstance(input_size, Sequence) else input_size, what),)


def load_model(
    name: str | ModelSource,
    options: Mapping[str, object] | None,
    device: torch.device,
    dtype: torch.dtype | None = None,
) -> tuple[nn.Module, str, torch.dtype | None, tuple[int, ...] | None]:
    """Return a zoo model, `hf:` model or user's class built on `device`, its label, token dtype and default
    sample shape: resolved by `inspector.model.sources`, as every command and page does."""
    return training_model(name, options, device, dtype)


def resolve_subject(
    model: str | ModelSource | nn.Module, options: Mapping[str, object] | None, input_size: object
) -> Subject:
    """Return the model built on meta (a module is used as is) with its per-sample input shapes."""
    if isinstance(model, nn.Module):
        module, label, token_dtype, default = model, type(model).__name__, None, None
    else:
        module, label, token_dtype, default = load_model(model, options, torch.device("meta"))
    if input_size is None and default is None:
        raise InvalidArgumentError("errors_b.sample_shape_unknown", model=label)
    return Subject(module, label, _sample_shapes(default if input_size is None else input_size), token_dtype)


def make_targets(
    output: object, loss: LossName, classes_last: bool, device: torch.device | None = None
) -> torch.Tensor:
    """Return synthetic targets that fit `output` for `loss`, on `device` (default: the output's).

    Cross entropy gets class ids from the class dimension (dim 1, or the last one for token
    models); mse gets random values shaped like the output.
    """
    if not isinstance(output, torch.Tensor) or not output.is_floating_point():
        raise InvalidArgumentError("errors_b.loss_needs_float", got=getattr(output, "dtype", type(output).__name__))
    device = output.device if device is None else device
    if loss is LossName.MSE:
        return torch.randn(output.shape, dtype=output.dtype, device=device)
    if output.dim() < 2:
        raise InvalidArgumentError("errors_b.cross_entropy_needs_classes", shape=tuple(output.shape))
    classes = output.shape[-1] if classes_last else output.shape[1]
    shape = output.shape[:-1] if classes_last else (output.shape[0], *output.shape[2:])
    return torch.randint(0, classes, tuple(shape), device=device)


def compute_loss(output: torch.Tensor, targets: torch.Tensor, loss: LossName, classes_last: bool) -> torch.Tensor:
    """Return the scalar loss; token models score every position: (B, T, V) → (B·T, V)."""
    if loss is LossName.MSE:
        return F.mse_loss(output, targets)
    if classes_last:
        return F.cross_entropy(output.reshape(-1, output.shape[-1]), targets.reshape(-1))
    return F.cross_entropy(output, targets)
