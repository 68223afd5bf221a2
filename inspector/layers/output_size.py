"""Output sizes of convolution and pooling layers, each worked out in the user's numbers.

Notation follows the Shape sections of torch/nn/modules/conv.py and pooling.py: H_in is the input
length along one dimension, k the kernel_size, s the stride, p the padding, d the dilation. Every
function checks its arguments the way torch does and raises InvalidArgumentError, with the allowed
range and the fix, wherever the real layer would fail. Channels and batch are left out: they never
change a spatial size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from enum import StrEnum
from numbers import Integral
from typing import TypeVar

from inspector.core.errors import InvalidArgumentError
from inspector.core.messages import Message
from inspector.core.units import group_thousands
from inspector.core.worked import Worked

IntOrTuple = int | Sequence[int]
T = TypeVar("T")

CONV_SYMBOLIC = "⌊(H_in + 2·p − d·(k − 1) − 1)/s⌋ + 1"
SAME_SYMBOLIC = Message(
    "H_out = H_in; total padding d·(k − 1), ⌊total/2⌋ left, the rest right", "output.same_symbolic", axis="H"
)
CONV_TRANSPOSE_SYMBOLIC = "(H_in − 1)·s − 2·p + d·(k − 1) + output_padding + 1"
MAX_POOL_SYMBOLIC = "⌊(H_in + 2·p − d·(k − 1) − 1)/s⌋ + 1"
AVG_POOL_SYMBOLIC = "⌊(H_in + 2·p − k)/s⌋ + 1"
# Torch names a 1-D length L, and 3-D volumes (D, H, W).
AXIS_LETTERS = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


class PaddingMode(StrEnum):
    """The padding strings torch's convolutions accept instead of numbers."""

    SAME = "same"
    VALID = "valid"


class PoolKind(StrEnum):
    """Which pooling layer: MaxPoolNd or AvgPoolNd."""

    MAX = "max"
    AVG = "avg"


def group_digits(number: int) -> str:
    """Return `number` as text, with thousands separators from 10,000 up (`9999`, `10,000`)."""
    return group_thousands(number) if abs(number) >= 10_000 else str(number)


# Sizes past torch's int32 indexing are typos, not layers: refusing them keeps every formula fast.
MAX_SIZE = 2**31 - 1


def check_int(name: str, value: object, minimum: int, maximum: int = MAX_SIZE) -> int:
    """Return `value` as an int, after checking it is a whole number (not a bool) in [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        whole = isinstance(value, float) and math.isfinite(value) and value.is_integer()
        hint = f"use {name}={int(value)}" if whole else f"use a whole number ≥ {minimum}"
        raise InvalidArgumentError(
            f"{name} must be an int, got {value!r} ({type(value).__name__})",
            hint,
            key="not_int",
            params={"name": name, "value": repr(value), "type": type(value).__name__, "minimum": minimum},
        )
    params = {"name": name, "value": value, "minimum": minimum, "maximum": f"{maximum:,}"}
    if value < minimum:
        raise InvalidArgumentError(
            f"{name} must be ≥ {minimum}, got {value}",
            f"use {name}={minimum} or more",
            key="below_minimum",
            params=params,
        )
    if value > maximum:
        raise InvalidArgumentError(f"{name} must be ≤ {maximum:,}, got {value:,}", key="above_maximum", params=params)
    return int(value)


def check_bool(name: str, value: object) -> bool:
    """Return `value` after checking it is True or False (torch flags are never 0/1 or strings)."""
    if not isinstance(value, bool):
        raise InvalidArgumentError(
            f"{name} must be True or False, got {value!r}",
            key="errors_b.not_true_false",
            params={"name": name, "value": repr(value)},
        )
    return value


def per_dimension(name: str, value: object, ndim: int, minimum: int) -> tuple[int, ...]:
    """Return one checked int per spatial dimension: an int is repeated, a tuple needs `ndim` ints."""
    if isinstance(value, (tuple, list)):
        if len(value) != ndim:
            raise InvalidArgumentError(
                f"{name} has {len(value)} values {tuple(value)}, but the layer is {ndim}-D",
                f"give one int or a tuple of {ndim} ints",
                key="errors_b.per_dimension_count",
                params={"name": name, "count": len(value), "values": tuple(value), "ndim": ndim},
            )
        return tuple(check_int(f"{name}[{i}]", v, minimum) for i, v in enumerate(value))
    return (check_int(name, value, minimum),) * ndim


def check_ndim(ndim: object) -> int:
    """Return `ndim` after checking it is 1, 2 or 3, the dimensions torch has layers for."""
    if isinstance(ndim, bool) or not isinstance(ndim, Integral) or ndim not in AXIS_LETTERS:
        raise InvalidArgumentError(
            f"ndim must be 1, 2 or 3, got {ndim!r}",
            "torch has Conv1d/2d/3d and pools to match",
            key="errors_b.bad_ndim",
            params={"value": repr(ndim)},
        )
    return int(ndim)


def conv_output_size(input_size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> Worked:
    """Return the output length of a convolution along one dimension, worked in the user's numbers.

    `⌊(H_in + 2·p − d·(k − 1) − 1)/s⌋ + 1`; e.g. input 8, kernel 5, padding 2 gives
    `⌊(8 + 2·2 − 1·(5 − 1) − 1)/1⌋ + 1 = 8`.
    """
    h, k, s, p, d = _check_window(input_size, kernel_size, stride, padding, dilation)
    _check_window_fits(h, k, p, d, max_padding=None)
    value = (h + 2 * p - d * (k - 1) - 1) // s + 1
    formula = f"⌊({group_digits(h)} + 2·{p} − {d}·({k} − 1) − 1)/{s}⌋ + 1 = {group_digits(value)}"
    return Worked(value, formula, CONV_SYMBOLIC)


def same_output_size(input_size: int, kernel_size: int, dilation: int = 1) -> Worked:
    """Return the output length of a stride-1 convolution with padding='same': the input length.

    The formula shows the total padding d·(k − 1) and torch's split: ⌊total/2⌋ left, the rest right.
    """
    h, k, _, _, d = _check_window(input_size, kernel_size, 1, 0, dilation)
    total = d * (k - 1)
    left = total // 2
    formula = Message(
        f"padding='same' keeps the size: total padding d·(k − 1) = {d}·({k} − 1) = {total}, "
        f"torch pads {left} left and {total - left} right; "
        f"⌊({group_digits(h)} + {total} − {d}·({k} − 1) − 1)/1⌋ + 1 = {group_digits(h)}",
        "output.same_formula",
        d=d,
        k=k,
        total=total,
        left=left,
        right=total - left,
        h=group_digits(h),
    )
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
    sizes = _check_spatial(spatial_in, ndim)
    kernels = per_dimension("kernel_size", kernel_size, ndim, 1)
    strides = per_dimension("stride", stride, ndim, 1)
    dilations = per_dimension("dilation", dilation, ndim, 1)
    if isinstance(padding, str) and _padding_mode(padding) is PaddingMode.SAME:
        if any(s != 1 for s in strides):
            raise InvalidArgumentError(
                f"padding='same' is not supported for strided convolutions (stride={stride})",
                "use stride=1 with padding='same', or give padding as numbers "
                "(see same_padding() for the size a stride gives)",
                key="same_with_stride",
                params={"stride": stride},
            )
        return _each_axis(same_output_size, sizes, kernels, dilations)
    # 'valid' is torch's name for no padding
    paddings = (0,) * ndim if isinstance(padding, str) else per_dimension("padding", padding, ndim, 0)
    return _each_axis(conv_output_size, sizes, kernels, strides, paddings, dilations)


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
    h, k, s, p, d = _check_window(input_size, kernel_size, stride, padding, dilation)
    extra = check_int("output_padding", output_padding, 0)
    if extra >= max(s, d):
        raise InvalidArgumentError(
            f"output_padding={extra} must be smaller than either stride ({s}) or dilation ({d})",
            f"use output_padding ≤ {max(s, d) - 1}",
            key="errors_b.output_padding_too_large",
            params={"extra": extra, "s": s, "d": d, "largest": max(s, d) - 1},
        )
    value = (h - 1) * s - 2 * p + d * (k - 1) + extra + 1
    formula = f"({group_digits(h)} − 1)·{s} − 2·{p} + {d}·({k} − 1) + {extra} + 1 = {group_digits(value)}"
    if value < 1:
        unpadded = value + 2 * p
        raise InvalidArgumentError(
            f"output size would be {formula}: padding crops more than the layer produces",
            f"use padding ≤ {(unpadded - 1) // 2}",
            key="errors_b.transpose_crops_all",
            params={"formula": formula, "largest": (unpadded - 1) // 2},
        )
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
        raise InvalidArgumentError(
            f"transposed convolutions take no padding string, got padding={padding!r}",
            "give padding as an int or a tuple of ints",
            key="errors_b.transpose_padding_string",
            params={"value": repr(padding)},
        )
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
    return _each_axis(conv_transpose_output_size, _check_spatial(spatial_in, ndim), *columns)


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
    h, k, s, p, d = _check_window(input_size, kernel_size, stride, padding, dilation)
    if kind is PoolKind.AVG and d != 1:
        raise InvalidArgumentError(
            f"AvgPool has no dilation, got dilation={d}",
            "use kind='max' or dilation=1",
            key="errors_b.avgpool_dilation",
            params={"d": d},
        )
    if p > k // 2:
        raise InvalidArgumentError(
            f"padding={p} is more than half the kernel: torch allows p ≤ ⌊k/2⌋ = ⌊{k}/2⌋ = {k // 2}",
            f"use padding ≤ {k // 2} or kernel_size ≥ {2 * p}",
            key="pool_padding",
            params={"p": p, "k": k, "half": k // 2, "double": 2 * p},
        )
    if not check_bool("ceil_mode", ceil_mode):
        _check_window_fits(h, k, p, d, max_padding=k // 2)
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

    sizes = _check_spatial(spatial_in, ndim)
    if kind is PoolKind.AVG and ndim == 3 and any(h < k for h, k in zip(sizes, kernels, strict=True)):
        # avg_pool3d alone checks the unpadded input (aten's pool3d_shape_check)
        raise InvalidArgumentError(
            f"AvgPool3d needs each input size ≥ its kernel, padding not counted: input {sizes}, kernel {kernels}",
            f"use kernel_size ≤ {sizes} or a larger input",
            key="errors_b.avgpool3d_kernel",
            params={"sizes": sizes, "kernels": kernels},
        )
    return _each_axis(one_axis, sizes, kernels, strides, paddings, dilations)


def _ceil_mode_size(h: int, k: int, s: int, p: int, d: int, numerator: str) -> tuple[int, str]:
    """Return torch's ceil_mode output length and its formula (aten/native/Pool.h)."""
    value = -((h + 2 * p - d * (k - 1) - 1) // -s) + 1
    formula = f"⌈({numerator})/{s}⌉ + 1 = {group_digits(value)}"
    last_start = (value - 1) * s
    if last_start >= h + p:  # the last window would start in the right padding: torch drops it
        value -= 1
        formula = Message(
            f"{formula}, but the last window would start at ({value + 1} − 1)·{s} = {last_start} ≥ "
            f"H_in + p = {h} + {p}, in the right padding, so torch drops it: {group_digits(value)}",
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
        raise InvalidArgumentError(
            f"no pooling window fits: {formula}",
            f"use a kernel_size ≤ {max(1, (h + 2 * p - 1) // d + 1)} or a larger input",
            key="no_pool_window",
            params={"formula": formula, "largest": max(1, (h + 2 * p - 1) // d + 1)},
        )
    return value, formula


def _check_window(
    input_size: object, kernel_size: object, stride: object, padding: object, dilation: object
) -> tuple[int, int, int, int, int]:
    """Return (H_in, k, s, p, d) as ints after checking each is in torch's range."""
    return (
        check_int("input_size", input_size, 1),
        check_int("kernel_size", kernel_size, 1),
        check_int("stride", stride, 1),
        check_int("padding", padding, 0),
        check_int("dilation", dilation, 1),
    )


def _check_window_fits(h: int, k: int, p: int, d: int, max_padding: int | None) -> None:
    """Raises unless the window's extent d·(k − 1) + 1 fits in the padded input H_in + 2·p."""
    extent, padded = d * (k - 1) + 1, h + 2 * p
    if padded >= extent:
        return
    largest_kernel = (padded - 1) // d + 1
    needed_padding = math.ceil((extent - h) / 2)
    fixes = [f"kernel_size ≤ {largest_kernel}"]
    padding_fits = max_padding is None or needed_padding <= max_padding
    if padding_fits:
        fixes.insert(0, f"padding ≥ {needed_padding}")
    raise InvalidArgumentError(
        f"the kernel spans d·(k − 1) + 1 = {d}·({k} − 1) + 1 = {extent} cells, more than the "
        f"padded input H_in + 2·p = {h} + 2·{p} = {padded}",
        "use " + " or ".join(fixes) + " (or a larger input)",
        key="kernel_too_large" if padding_fits else "kernel_too_large_no_padding",
        params={
            "d": d,
            "k": k,
            "extent": extent,
            "h": h,
            "p": p,
            "padded": padded,
            "largest_kernel": largest_kernel,
            "needed_padding": needed_padding,
        },
    )


def _check_spatial(spatial_in: object, ndim: int) -> tuple[int, ...]:
    """Return the input's spatial sizes after checking there are `ndim` of them, each ≥ 1."""
    letters = AXIS_LETTERS[ndim]
    if not isinstance(spatial_in, (tuple, list)) or len(spatial_in) != ndim:
        raise InvalidArgumentError(
            f"spatial_in must be a tuple of {ndim} sizes ({', '.join(letters)}), got {spatial_in!r}",
            "leave out the batch and channel dimensions: (N, C, H, W) → (H, W)",
            key="errors_b.spatial_in_count",
            params={"ndim": ndim, "letters": ", ".join(letters), "value": repr(spatial_in)},
        )
    return tuple(check_int(f"input size {letter}", v, 1) for letter, v in zip(letters, spatial_in, strict=True))


def each_axis(compute: Callable[..., T], *columns: Sequence[object]) -> list[tuple[str, T]]:
    """Return (axis letter, `compute(*args)`) per axis; errors get the axis (H, W, …) in front."""
    letters = AXIS_LETTERS[len(columns[0])]
    results = []
    for letter, args in zip(letters, zip(*columns, strict=True), strict=True):
        try:
            results.append((letter, compute(*args)))
        except InvalidArgumentError as error:
            raise InvalidArgumentError(
                f"along {letter}: {error.message}", error.hint, key="along", params={"letter": letter, "error": error}
            ) from None
    return results


def _each_axis(compute: Callable[..., Worked], *columns: tuple[int, ...]) -> tuple[Worked, ...]:
    """Return `compute` applied per axis, with the axis letter (H_in → W_in) in the symbolic form."""
    return tuple(
        Worked(worked.value, worked.formula, _axis_symbolic(worked.symbolic, letter))
        for letter, worked in each_axis(compute, *columns)
    )


def _axis_symbolic(symbolic: str, letter: str) -> str:
    """Return the symbolic form with H_ → `letter`_ (a keyed `Message` keeps its key, its axis param changed)."""
    text = symbolic.replace("H_", f"{letter}_")
    if isinstance(symbolic, Message) and symbolic.key:
        return Message(text, symbolic.key, **{**symbolic.params, "axis": letter})
    return text


def _padding_mode(padding: str) -> PaddingMode:
    """Return the padding string as a PaddingMode, or raises naming the two torch accepts."""
    try:
        return PaddingMode(padding)
    except ValueError:
        raise InvalidArgumentError(
            f"padding string must be 'same' or 'valid', got {padding!r}",
            "or give padding as numbers",
            key="errors_b.bad_padding_string",
            params={"value": repr(padding)},
        ) from None


def _pool_kind(kind: object) -> PoolKind:
    """Return `kind` as a PoolKind, or raises naming the two kinds."""
    try:
        return PoolKind(kind)
    except ValueError:
        raise InvalidArgumentError(
            f"pool kind must be 'max' or 'avg', got {kind!r}",
            key="errors_b.bad_pool_kind",
            params={"value": repr(kind)},
        ) from None
