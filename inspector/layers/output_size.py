"""Output sizes of convolution and transposed convolution layers, each worked out in the user's numbers.

Notation follows the Shape section of torch/nn/modules/conv.py: H_in is the input length along one
dimension, k the kernel_size, s the stride, p the padding, d the dilation. Every function checks its
arguments the way torch does and raises InvalidArgumentError, with the allowed range and the fix, wherever
the real layer would fail. Channels and batch are left out: they never change a spatial size. Pooling
layers are in `pool_size`, the argument checks they share in `checks`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from enum import StrEnum

from inspector.core.errors import InvalidArgumentError
from inspector.core.messages import Message, msg
from inspector.core.worked import Worked
from inspector.layers.checks import (
    IntOrTuple,
    check_int,
    check_ndim,
    check_spatial,
    check_window,
    each_axis,
    group_digits,
    per_dimension,
)

CONV_SYMBOLIC = "⌊(H_in + 2·p − d·(k − 1) − 1)/s⌋ + 1"
SAME_SYMBOLIC = msg("output.same_symbolic", axis="H")
CONV_TRANSPOSE_SYMBOLIC = "(H_in − 1)·s − 2·p + d·(k − 1) + output_padding + 1"


class PaddingMode(StrEnum):
    """The padding strings torch's convolutions accept instead of numbers."""

    SAME = "same"
    VALID = "valid"


def conv_output_size(input_size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> Worked:
    """Return the output length of a convolution along one dimension, worked in the user's numbers.

    `⌊(H_in + 2·p − d·(k − 1) − 1)/s⌋ + 1`; e.g. input 8, kernel 5, padding 2 gives
    `⌊(8 + 2·2 − 1·(5 − 1) − 1)/1⌋ + 1 = 8`.
    """
    h, k, s, p, d = check_window(input_size, kernel_size, stride, padding, dilation)
    check_window_fits(h, k, p, d, max_padding=None)
    value = (h + 2 * p - d * (k - 1) - 1) // s + 1
    formula = f"⌊({group_digits(h)} + 2·{p} − {d}·({k} − 1) − 1)/{s}⌋ + 1 = {group_digits(value)}"
    return Worked(value, formula, CONV_SYMBOLIC)


def same_output_size(input_size: int, kernel_size: int, dilation: int = 1) -> Worked:
    """Return the output length of a stride-1 convolution with padding='same': the input length.

    The formula shows the total padding d·(k − 1) and torch's split: ⌊total/2⌋ left, the rest right.
    """
    h, k, _, _, d = check_window(input_size, kernel_size, 1, 0, dilation)
    total = d * (k - 1)
    left = total // 2
    formula = msg("output.same_formula", d=d, k=k, total=total, left=left, right=total - left, h=group_digits(h))
    return Worked(h, formula, SAME_SYMBOLIC)


def conv_output_shape(
    spatial_in: Sequence[int],
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    padding: IntOrTuple | str = 0,
    dilation: IntOrTuple = 1,
    *,
    ndim: int,
) -> tuple[Worked, ...]:
    """Return one worked output size per spatial dimension of a ConvNd (ndim = 1, 2 or 3).

    Each argument is an int or a tuple of `ndim`; padding may also be 'same' (stride 1 only, as in
    torch) or 'valid' (no padding).
    """
    ndim = check_ndim(ndim)
    sizes = check_spatial(spatial_in, ndim)
    kernels = per_dimension("kernel_size", kernel_size, ndim, 1)
    strides = per_dimension("stride", stride, ndim, 1)
    dilations = per_dimension("dilation", dilation, ndim, 1)
    if isinstance(padding, str) and _padding_mode(padding) is PaddingMode.SAME:
        if any(s != 1 for s in strides):
            raise InvalidArgumentError("same_with_stride", stride=stride)
        return each_axis_worked(same_output_size, sizes, kernels, dilations)
    # 'valid' is torch's name for no padding
    paddings = (0,) * ndim if isinstance(padding, str) else per_dimension("padding", padding, ndim, 0)
    return each_axis_worked(conv_output_size, sizes, kernels, strides, paddings, dilations)


def conv_transpose_output_size(
    input_size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
    dilation: int = 1,
) -> Worked:
    """Return the output length of a transposed convolution along one dimension, worked out.

    `(H_in − 1)·s − 2·p + d·(k − 1) + output_padding + 1`; torch needs output_padding to be smaller
    than the stride or the dilation.
    """
    h, k, s, p, d = check_window(input_size, kernel_size, stride, padding, dilation)
    extra = check_int("output_padding", output_padding, 0)
    if extra >= max(s, d):
        raise InvalidArgumentError("errors_b.output_padding_too_large", extra=extra, s=s, d=d, largest=max(s, d) - 1)
    value = (h - 1) * s - 2 * p + d * (k - 1) + extra + 1
    formula = f"({group_digits(h)} − 1)·{s} − 2·{p} + {d}·({k} − 1) + {extra} + 1 = {group_digits(value)}"
    if value < 1:
        unpadded = value + 2 * p
        raise InvalidArgumentError("errors_b.transpose_crops_all", formula=formula, largest=(unpadded - 1) // 2)
    return Worked(value, formula, CONV_TRANSPOSE_SYMBOLIC)


def conv_transpose_output_shape(
    spatial_in: Sequence[int],
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    *,
    ndim: int,
) -> tuple[Worked, ...]:
    """Return one worked output size per spatial dimension of a ConvTransposeNd (ndim = 1, 2 or 3)."""
    ndim = check_ndim(ndim)
    if isinstance(padding, str):
        raise InvalidArgumentError("errors_b.transpose_padding_string", value=repr(padding))
    columns = [
        per_dimension(name, value, ndim, minimum)
        for name, value, minimum in [
            ("kernel_size", kernel_size, 1),
            ("stride", stride, 1),
            ("padding", padding, 0),
            ("output_padding", output_padding, 0),
            ("dilation", dilation, 1),
        ]
    ]
    return each_axis_worked(conv_transpose_output_size, check_spatial(spatial_in, ndim), *columns)


def check_window_fits(h: int, k: int, p: int, d: int, max_padding: int | None) -> None:
    """Raises unless the window's extent d·(k − 1) + 1 fits in the padded input H_in + 2·p.

    The fix offers more padding only where the layer allows it (`max_padding`: a pool's ⌊k/2⌋).
    """
    extent, padded = d * (k - 1) + 1, h + 2 * p
    if padded >= extent:
        return
    needed_padding = math.ceil((extent - h) / 2)
    padding_fits = max_padding is None or needed_padding <= max_padding
    raise InvalidArgumentError(
        "kernel_too_large" if padding_fits else "kernel_too_large_no_padding",
        d=d,
        k=k,
        extent=extent,
        h=h,
        p=p,
        padded=padded,
        largest_kernel=(padded - 1) // d + 1,
        needed_padding=needed_padding,
    )


def each_axis_worked(compute: Callable[..., Worked], *columns: tuple[int, ...]) -> tuple[Worked, ...]:
    """Return `compute` applied per axis, with the axis letter (H_in → W_in) in the symbolic form."""
    return tuple(
        Worked(worked.value, worked.formula, _axis_symbolic(worked.symbolic, letter))
        for letter, worked in each_axis(compute, *columns)
    )


def _axis_symbolic(symbolic: str, letter: str) -> str:
    """Return the symbolic form with H_ → `letter`_ (a keyed `Message` made again with its axis param changed)."""
    if isinstance(symbolic, Message) and symbolic.key:
        return msg(symbolic.key, **{**symbolic.params, "axis": letter})
    return symbolic.replace("H_", f"{letter}_")


def _padding_mode(padding: str) -> PaddingMode:
    """Return the padding string as a PaddingMode, or raises naming the two torch accepts."""
    try:
        return PaddingMode(padding)
    except ValueError:
        raise InvalidArgumentError("errors_b.bad_padding_string", value=repr(padding)) from None
