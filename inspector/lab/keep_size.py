"""Keeping a convolution's size, axis by axis, as short steps: words to read, and the formula that proves them.

The engine's padding solutions (inspector.layers.padding) explain themselves in one long sentence for the
command line; the Layer Lab shows the same arithmetic as lines, each axis named by its own letter (W_in on
the W line), with a clear "not possible" when a stride makes keeping the size impossible.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from torch import nn

from inspector.core.messages import Message, msg
from inspector.layers.args import ArgValue, arg_size
from inspector.layers.output_size import conv_output_size
from inspector.layers.padding import padding_for_target

CONVOLUTIONS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


@dataclass(frozen=True)
class KeepSizeStep:
    """One line: words (a catalogue Message) and the formula they refer to ("" when there is none)."""

    text: Message
    formula: str = ""


@dataclass(frozen=True)
class KeepSize:
    """One spatial axis: whether some padding keeps its size, the padding to use, and why, step by step.

    `padding` is the exact padding when `possible`, else the nearest useful one (⌈H_in/s⌉ for a stride),
    or None when only an uneven split works.
    """

    axis: str
    possible: bool
    padding: int | None
    steps: tuple[KeepSizeStep, ...]


def _per_axis(value: int | tuple[int, ...], ndim: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, tuple) else (value,) * ndim


def keep_size(
    layer_class: type[nn.Module], args: Mapping[str, ArgValue], input_shape: list[int], axes: list[str]
) -> list[KeepSize]:
    """Return, per spatial axis of a convolution, how to keep its size (or the nearest size); [] otherwise.

    `axes` are the spatial input dims as the layer names them (H_in, W_in); `input_shape` is the measured input.
    """
    if layer_class not in CONVOLUTIONS or not axes:
        return []
    ndim = len(axes)
    columns = [_per_axis(arg_size(args, name), ndim) for name in ("kernel_size", "stride", "dilation")]
    sizes = input_shape[-ndim:]
    return [_axis(axis.removesuffix("_in"), k, s, d, h) for axis, k, s, d, h in zip(axes, *columns, sizes, strict=True)]


def _axis(axis: str, k: int, s: int, d: int, h: int) -> KeepSize:
    if s > 1:
        return _strided(axis, k, s, d, h)
    total = d * (k - 1)
    if total % 2:
        left, right = total // 2, total - total // 2
        steps = (
            KeepSizeStep(msg("lab_keep.odd", axis=axis), f"d·(k − 1) = {d}·({k} − 1) = {total}"),
            KeepSizeStep(msg("lab_keep.odd_same", left=left, right=right)),
        )
        return KeepSize(axis, False, None, steps)
    p = total // 2
    steps = (
        KeepSizeStep(msg("lab_keep.same", axis=axis), f"p = d·(k − 1)/2 = {d}·({k} − 1)/2 = {p}"),
        KeepSizeStep(msg("lab_keep.check"), conv_output_size(h, k, 1, p, d).formula),
    )
    return KeepSize(axis, True, p, steps)


def _strided(axis: str, k: int, s: int, d: int, h: int) -> KeepSize:
    target = -(h // -s)  # ⌈h/s⌉, TensorFlow's 'same'
    solution = padding_for_target(h, target, k, s, d)
    steps = [
        KeepSizeStep(msg("lab_keep.strided", axis=axis, s=s)),
        KeepSizeStep(msg("lab_keep.nearest", axis=axis), f"⌈{axis}_in/s⌉ = ⌈{h}/{s}⌉ = {target}"),
    ]
    if solution.padding is not None:
        formula = conv_output_size(h, k, s, solution.padding, d).formula
        steps.append(KeepSizeStep(msg("lab_keep.nearest_padding", p=solution.padding), formula))
    return KeepSize(axis, False, solution.padding, tuple(steps))
