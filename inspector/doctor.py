"""The shape doctor: for a module that could not take its input, the reason in words and the fix.

Dispatch is by a registry keyed on the layer class (subclasses included via the MRO), so a user's
subclass of nn.Linear gets the Linear advice.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from torch import nn

from inspector.shapes import ShapeTree

Diagnosis = Callable[[nn.Module, list[int]], str | None]
_DIAGNOSES: dict[type[nn.Module], Diagnosis] = {}


def diagnoses(*classes: type[nn.Module]) -> Callable[[Diagnosis], Diagnosis]:
    """Register the decorated function as the diagnosis for these layer classes."""

    def register(function: Diagnosis) -> Diagnosis:
        for cls in classes:
            _DIAGNOSES[cls] = function
        return function

    return register


def _first_shape(tree: ShapeTree) -> list[int] | None:
    if isinstance(tree, list) and all(isinstance(dim, int) for dim in tree):
        return tree
    if isinstance(tree, list) and tree:
        return _first_shape(tree[0])
    if isinstance(tree, dict) and tree:
        return _first_shape(next(iter(tree.values())))
    return None


def diagnose_failure(module: nn.Module, input_shape: ShapeTree) -> str | None:
    """Return the fix for `module` failing on `input_shape`, or None when no rule applies."""
    shape = _first_shape(input_shape)
    if shape is None:
        return None
    for cls in type(module).__mro__:
        if cls in _DIAGNOSES:
            return _DIAGNOSES[cls](module, shape)
    return None


@diagnoses(nn.Linear)
def _linear(module: nn.Linear, shape: list[int]) -> str | None:
    last = shape[-1]
    if last == module.in_features:
        return None
    if len(shape) >= 3:
        flat = math.prod(shape[1:])
        product = "·".join(str(dim) for dim in shape[1:])
        return (
            f"Linear multiplies the last dimension ({last}) by in_features={module.in_features}; the input "
            f"{tuple(shape)} still has its {len(shape) - 1} feature dimensions — add nn.Flatten() before it "
            f"and set in_features={flat} (= {product})"
        )
    return (
        f"Linear expects the last dimension to be in_features={module.in_features}, got {last}: set in_features={last}"
    )


@diagnoses(nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
def _conv(module: nn.Module, shape: list[int]) -> str | None:
    spatial = len(module.kernel_size)
    if len(shape) < spatial + 1:
        missing = spatial + 1 - len(shape)
        lead = "(1,) * " + str(missing + 1) if missing > 1 else "(1, 1)"
        return (
            f"{type(module).__name__} takes (N, C, {'…' if spatial > 2 else 'H, W' if spatial == 2 else 'L'}) "
            f"or unbatched (C, …) input; {tuple(shape)} lacks the channel (and batch) dimension — use "
            f"X.view({lead} + X.shape) or X.unsqueeze(0).unsqueeze(0)"
        )
    channels = shape[-spatial - 1]
    if channels != module.in_channels:
        return f"the input has {channels} channels but in_channels={module.in_channels}: set in_channels={channels}"
    return "the kernel (with dilation) is larger than the padded input: add padding or use a smaller kernel"


@diagnoses(nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
def _batchnorm(module: nn.Module, shape: list[int]) -> str | None:
    channels = shape[1] if len(shape) > 1 else shape[0]
    if channels != module.num_features:
        return f"the input has {channels} channels but num_features={module.num_features}: set num_features={channels}"
    return None


@diagnoses(nn.Embedding)
def _embedding(module: nn.Embedding, shape: list[int]) -> str | None:
    return f"Embedding takes integer token ids (dtype int64) below num_embeddings={module.num_embeddings}"
