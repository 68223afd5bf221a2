"""Checking layer arguments the way torch does, shared by the output-size, padding and parameter formulas.

Every check returns the value as an int (or bool) or raises InvalidArgumentError with the allowed range
and the fix. `each_axis` runs a one-dimension formula along H, W, … and puts the axis in front of an error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from numbers import Integral
from typing import Any, TypeVar

from inspector.core.errors import InvalidArgumentError
from inspector.core.messages import msg
from inspector.core.units import group_thousands

IntOrTuple = int | Sequence[int]
T = TypeVar("T")

# Torch names a 1-D length L, and 3-D volumes (D, H, W).
AXIS_LETTERS = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
# Sizes past torch's int32 indexing are typos, not layers: refusing them keeps every formula fast.
MAX_SIZE = 2**31 - 1


def group_digits(number: int) -> str:
    """Return `number` as text, with thousands separators from 10,000 up (`9999`, `10,000`)."""
    return group_thousands(number) if abs(number) >= 10_000 else str(number)


def check_int(name: str, value: object, minimum: int, maximum: int = MAX_SIZE) -> int:
    """Return `value` as an int, after checking it is a whole number (not a bool) in [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        whole = int(value) if isinstance(value, float) and math.isfinite(value) and value.is_integer() else None
        # a whole float gets the exact fix (`use stride=2`), anything else the range
        fix: dict[str, Any] = {"hint_key": "layers.not_int_whole", "whole": whole} if whole is not None else {}
        raise InvalidArgumentError(
            "not_int", name=name, value=repr(value), type=type(value).__name__, minimum=minimum, **fix
        )
    number = int(value)  # any Integral (a numpy integer too) as a plain int
    if number < minimum:
        raise InvalidArgumentError("below_minimum", name=name, value=value, minimum=minimum)
    if number > maximum:
        raise InvalidArgumentError("above_maximum", name=name, value=value, maximum=maximum)
    return number


def check_bool(name: str, value: object) -> bool:
    """Return `value` after checking it is True or False (torch flags are never 0/1 or strings)."""
    if not isinstance(value, bool):
        raise InvalidArgumentError("errors_b.not_true_false", name=name, value=repr(value))
    return value


def per_dimension(name: str, value: object, ndim: int, minimum: int) -> tuple[int, ...]:
    """Return one checked int per spatial dimension: an int is repeated, a tuple needs `ndim` ints."""
    if isinstance(value, (tuple, list)):
        if len(value) != ndim:
            raise InvalidArgumentError(
                "errors_b.per_dimension_count", name=name, count=len(value), values=tuple(value), ndim=ndim
            )
        return tuple(check_int(f"{name}[{i}]", v, minimum) for i, v in enumerate(value))
    return (check_int(name, value, minimum),) * ndim


def check_ndim(ndim: object) -> int:
    """Return `ndim` after checking it is 1, 2 or 3, the dimensions torch has layers for."""
    if isinstance(ndim, bool) or not isinstance(ndim, Integral) or ndim not in AXIS_LETTERS:
        raise InvalidArgumentError("errors_b.bad_ndim", value=repr(ndim))
    return int(ndim)


def check_window(
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


def check_spatial(spatial_in: object, ndim: int) -> tuple[int, ...]:
    """Return the input's spatial sizes after checking there are `ndim` of them, each ≥ 1."""
    letters = AXIS_LETTERS[ndim]
    if not isinstance(spatial_in, (tuple, list)) or len(spatial_in) != ndim:
        raise InvalidArgumentError(
            "errors_b.spatial_in_count", ndim=ndim, letters=", ".join(letters), value=repr(spatial_in)
        )
    return tuple(
        check_int(msg("engine.layers.what.input_size_axis", axis=letter), v, 1)
        for letter, v in zip(letters, spatial_in, strict=True)
    )


def each_axis(compute: Callable[..., T], *columns: Sequence[object]) -> list[tuple[str, T]]:
    """Return (axis letter, `compute(*args)`) per axis; errors get the axis (H, W, …) in front."""
    letters = AXIS_LETTERS[len(columns[0])]
    results = []
    for letter, args in zip(letters, zip(*columns, strict=True), strict=True):
        try:
            results.append((letter, compute(*args)))
        except InvalidArgumentError as error:
            raise InvalidArgumentError("along", letter=letter, error=error) from None
    return results
