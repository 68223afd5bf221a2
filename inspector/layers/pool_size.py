"""Output sizes of max and average pooling layers, each worked out in the user's numbers.

Notation follows the Shape section of torch/nn/modules/pooling.py: H_in is the input length along one
dimension, k the kernel_size, s the stride (the kernel by default), p the padding, d the dilation (max
pooling only). Torch allows p ≤ ⌊k/2⌋; with ceil_mode the last window may hang over the right edge but
must start inside the input or the left padding. Every check raises InvalidArgumentError where the real
layer would fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from inspector.core.errors import InvalidArgumentError
from inspector.core.messages import msg
from inspector.core.worked import Worked
from inspector.layers.checks import (
    IntOrTuple,
    check_bool,
    check_ndim,
    check_spatial,
    check_window,
    group_digits,
    per_dimension,
)
from inspector.layers.output_size import check_window_fits, each_axis_worked

MAX_POOL_SYMBOLIC = "⌊(H_in + 2·p − d·(k − 1) − 1)/s⌋ + 1"
AVG_POOL_SYMBOLIC = "⌊(H_in + 2·p − k)/s⌋ + 1"


class PoolKind(StrEnum):
    """Which pooling layer: MaxPoolNd or AvgPoolNd."""

    MAX = "max"
    AVG = "avg"


def pool_output_size(
    kind: PoolKind | str,
    input_size: int,
    kernel_size: int,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> Worked:
    """Return the output length of a max or average pool along one dimension, worked out.

    stride defaults to kernel_size; dilation exists for max pooling only. Torch allows padding
    ≤ ⌊k/2⌋ whatever the dilation. With ceil_mode the last window may hang over the right edge, but
    must start inside the input or the left padding, else torch drops it.
    """
    kind = _pool_kind(kind)
    stride = kernel_size if stride is None else stride
    h, k, s, p, d = check_window(input_size, kernel_size, stride, padding, dilation)
    if kind is PoolKind.AVG and d != 1:
        raise InvalidArgumentError("errors_b.avgpool_dilation", d=d)
    if p > k // 2:
        raise InvalidArgumentError("pool_padding", p=p, k=k, half=k // 2, double=2 * p)
    if not check_bool("ceil_mode", ceil_mode):
        check_window_fits(h, k, p, d, max_padding=k // 2)
    window = f"{k}" if kind is PoolKind.AVG else f"{d}·({k} − 1) − 1"
    numerator = f"{group_digits(h)} + 2·{p} − {window}"
    if not ceil_mode:
        value = (h + 2 * p - d * (k - 1) - 1) // s + 1
        formula = f"⌊({numerator})/{s}⌋ + 1 = {group_digits(value)}"
    else:
        value, formula = _ceil_mode_size(h, k, s, p, d, numerator)
    symbolic = AVG_POOL_SYMBOLIC if kind is PoolKind.AVG else MAX_POOL_SYMBOLIC
    if ceil_mode:
        symbolic = symbolic.replace("⌊", "⌈").replace("⌋", "⌉")
    return Worked(value, formula, symbolic)


def pool_output_shape(
    kind: PoolKind | str,
    spatial_in: Sequence[int],
    kernel_size: IntOrTuple,
    stride: IntOrTuple | None = None,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    ceil_mode: bool = False,
    *,
    ndim: int,
) -> tuple[Worked, ...]:
    """Return one worked output size per spatial dimension of a MaxPoolNd or AvgPoolNd."""
    kind, ndim = _pool_kind(kind), check_ndim(ndim)
    kernels = per_dimension("kernel_size", kernel_size, ndim, 1)
    strides = kernels if stride is None else per_dimension("stride", stride, ndim, 1)
    paddings = per_dimension("padding", padding, ndim, 0)
    dilations = per_dimension("dilation", dilation, ndim, 1)

    def one_axis(h: int, k: int, s: int, p: int, d: int) -> Worked:
        return pool_output_size(kind, h, k, s, p, d, ceil_mode)

    sizes = check_spatial(spatial_in, ndim)
    if kind is PoolKind.AVG and ndim == 3 and any(h < k for h, k in zip(sizes, kernels, strict=True)):
        # avg_pool3d alone checks the unpadded input (aten's pool3d_shape_check)
        raise InvalidArgumentError("errors_b.avgpool3d_kernel", sizes=sizes, kernels=kernels)
    return each_axis_worked(one_axis, sizes, kernels, strides, paddings, dilations)


def _ceil_mode_size(h: int, k: int, s: int, p: int, d: int, numerator: str) -> tuple[int, str]:
    """Return torch's ceil_mode output length and its formula (aten/native/Pool.h)."""
    value = -((h + 2 * p - d * (k - 1) - 1) // -s) + 1
    formula = f"⌈({numerator})/{s}⌉ + 1 = {group_digits(value)}"
    last_start = (value - 1) * s
    if last_start >= h + p:  # the last window would start in the right padding: torch drops it
        value -= 1
        formula = msg(
            "output.ceil_dropped",
            formula=formula,
            count=value + 1,
            s=s,
            last_start=last_start,
            h=h,
            p=p,
            value=group_digits(value),
        )
    if value < 1:
        raise InvalidArgumentError("no_pool_window", formula=formula, largest=max(1, (h + 2 * p - 1) // d + 1))
    return value, formula


def _pool_kind(kind: object) -> PoolKind:
    """Return `kind` as a PoolKind, or raises naming the two kinds."""
    try:
        return PoolKind(str(kind))
    except ValueError:
        raise InvalidArgumentError("errors_b.bad_pool_kind", value=repr(kind)) from None
