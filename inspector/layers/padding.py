"""The padding that gives a convolution the output size a learner wants, and why when none does.

A convolution's `padding=` is symmetric: p cells on each side. So a wanted output needs an even
number of padded cells in total; when it needs an odd number, the answer says so and gives the
(left, right) split that `F.pad` (and torch's own padding='same') would use instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from inspector.core.errors import InvalidArgumentError
from inspector.core.messages import Message, msg
from inspector.layers.checks import IntOrTuple, check_int, check_ndim, each_axis, per_dimension
from inspector.layers.output_size import conv_output_size


@dataclass(frozen=True)
class PaddingSolution:
    """Whether a symmetric `padding=` reaches the wanted output size, which one, and why.

    `padding` is the smallest int that torch's `padding=` accepts and that gives `output_size`; it
    is None when no symmetric padding does. `output_size` is what the solution gives (None when it
    depends on an input size that was not given). `asymmetric_padding` is the (left, right) padding
    for `F.pad` when only an uneven split works. `reason` is the worked arithmetic.
    """

    possible: bool
    padding: int | None
    output_size: int | None
    reason: str
    asymmetric_padding: tuple[int, int] | None = None
    alternatives: tuple[str, ...] = ()


def same_padding(
    kernel_size: int, stride: int = 1, dilation: int = 1, input_size: int | None = None
) -> PaddingSolution:
    """Return the symmetric padding that keeps the size along one dimension, or why there is none.

    With stride 1 that is p = d·(k − 1)/2 when d·(k − 1) is even. With a stride s > 1 no padding
    keeps the size (the output is about H_in/s); given `input_size`, the answer is the smallest p
    giving ⌈H_in/s⌉, the size TensorFlow calls 'same'.
    """
    k = check_int("kernel_size", kernel_size, 1)
    s = check_int("stride", stride, 1)
    d = check_int("dilation", dilation, 1)
    h = None if input_size is None else check_int("input_size", input_size, 1)
    if s > 1:
        return _strided_same_padding(k, s, d, h)
    total = d * (k - 1)
    if total % 2:
        return _odd_total_padding(k, d, h, total)
    p = total // 2
    if h is None:
        reason = msg("padding.same", d=d, k=k, p=p)
    else:
        check = conv_output_size(h, k, 1, p, d).formula
        reason = msg("padding.same_check", d=d, k=k, p=p, check=check)
    return PaddingSolution(True, p, h, reason)


def padding_for_target(
    input_size: int, target_size: int, kernel_size: int, stride: int = 1, dilation: int = 1
) -> PaddingSolution:
    """Return the smallest symmetric padding giving `target_size` along one dimension, or why not.

    ⌊(H_in + 2·p − d·(k − 1) − 1)/s⌋ + 1 = T holds exactly when 2·p lies between
    (T − 1)·s + d·(k − 1) + 1 − H_in and that plus s − 1.
    """
    h = check_int("input_size", input_size, 1)
    target = check_int("target_size", target_size, 1)
    k = check_int("kernel_size", kernel_size, 1)
    s = check_int("stride", stride, 1)
    d = check_int("dilation", dilation, 1)
    lowest = (target - 1) * s + d * (k - 1) + 1 - h  # the fewest padded cells, in total
    highest = lowest + s - 1
    if highest < 0:
        return _target_too_small(h, target, k, s, d)
    p = max(0, math.ceil(lowest / 2))
    if 2 * p > highest:  # only when s = 1 and the total is odd
        return _odd_total_for_target(h, target, k, d, lowest)
    check = conv_output_size(h, k, s, p, d).formula
    reason = msg("padding.target", target=target, s=s, d=d, k=k, h=h, lowest=lowest, p=p, check=check)
    return PaddingSolution(True, p, target, reason)


def same_padding_shape(
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    dilation: IntOrTuple = 1,
    input_size: Sequence[int] | None = None,
    *,
    ndim: int,
) -> tuple[PaddingSolution, ...]:
    """Return `same_padding` for each spatial dimension; reasons start with the axis (H, W, …)."""
    ndim = check_ndim(ndim)
    columns = [
        per_dimension("kernel_size", kernel_size, ndim, 1),
        per_dimension("stride", stride, ndim, 1),
        per_dimension("dilation", dilation, ndim, 1),
        (None,) * ndim if input_size is None else _sizes("input_size", input_size, ndim),
    ]
    return _each_axis(same_padding, columns)


def padding_for_target_shape(
    input_size: Sequence[int],
    target_size: Sequence[int],
    kernel_size: IntOrTuple,
    stride: IntOrTuple = 1,
    dilation: IntOrTuple = 1,
    *,
    ndim: int,
) -> tuple[PaddingSolution, ...]:
    """Return `padding_for_target` for each spatial dimension; reasons start with the axis."""
    ndim = check_ndim(ndim)
    columns = [
        _sizes("input_size", input_size, ndim),
        _sizes("target_size", target_size, ndim),
        per_dimension("kernel_size", kernel_size, ndim, 1),
        per_dimension("stride", stride, ndim, 1),
        per_dimension("dilation", dilation, ndim, 1),
    ]
    return _each_axis(padding_for_target, columns)


def _odd_total_padding(k: int, d: int, h: int | None, total: int) -> PaddingSolution:
    """Return why stride 1 with an odd d·(k − 1) cannot keep the size with symmetric padding."""
    left, right = total // 2, total - total // 2
    reason = msg("padding.odd_total", d=d, k=k, total=total, left=left, right=right)
    alternatives = (
        msg("padding.alt.same_split", left=left, right=right),
        _kernel_with(k - 1, d * (k - 2) // 2),
        _kernel_with(k + 1, d * k // 2),
        msg("padding.alt.either_side", left=left, right=right),
    )
    return PaddingSolution(False, None, h, reason, (left, right), alternatives)


def _strided_same_padding(k: int, s: int, d: int, h: int | None) -> PaddingSolution:
    """Return the smallest padding giving ⌈H_in/s⌉ for a strided convolution, with why."""
    why = msg("padding.strided", s=s)
    if h is None:
        return PaddingSolution(False, None, None, msg("padding.strided_no_input", why=why, s=s))
    target = -(h // -s)
    solution = padding_for_target(h, target, k, s, d)
    reason = msg("padding.strided_target", why=why, h=h, s=s, target=target, reason=solution.reason)
    return replace(solution, reason=reason)


def _target_too_small(h: int, target: int, k: int, s: int, d: int) -> PaddingSolution:
    """Return why a target below the unpadded output cannot be reached: padding only adds."""
    unpadded = conv_output_size(h, k, s, 0, d)
    reason = msg("padding.too_small", formula=unpadded.formula, target=target)
    alternatives = (msg("padding.alt.larger_stride"), msg("padding.alt.larger_kernel"), msg("padding.alt.pooling"))
    return PaddingSolution(False, None, None, reason, None, alternatives)


def _odd_total_for_target(h: int, target: int, k: int, d: int, total: int) -> PaddingSolution:
    """Return why stride 1 needing an odd number of padded cells has no symmetric answer."""
    left, right = total // 2, total - total // 2
    reason = msg("padding.odd_target", target=target, h=h, d=d, k=k, total=total, left=left, right=right)
    nearest = [_gives(right, target + 1)]
    if target > 1:  # a smaller padding gives T − 1, which must still be a real size
        nearest.insert(0, _gives(left, target - 1))
    fpad = msg("padding.alt.fpad", left=left, right=right)
    alternatives = (fpad, *nearest)
    return PaddingSolution(False, None, target, reason, (left, right), alternatives)


def _kernel_with(k: int, p: int) -> Message:
    return msg("padding.alt.kernel", k=k, p=p)


def _gives(p: int, size: int) -> Message:
    return msg("padding.alt.gives", p=p, size=size)


def _sizes(name: str, sizes: object, ndim: int) -> tuple[int, ...]:
    """Return `sizes` as `ndim` ints ≥ 1, or raises saying how many are needed."""
    if not isinstance(sizes, (tuple, list)) or len(sizes) != ndim:
        raise InvalidArgumentError("errors_b.sizes_tuple", name=name, ndim=ndim, value=repr(sizes))
    return tuple(check_int(f"{name}[{i}]", v, 1) for i, v in enumerate(sizes))


def _each_axis(
    solve: Callable[..., PaddingSolution], columns: Sequence[Sequence[object]]
) -> tuple[PaddingSolution, ...]:
    """Return `solve` per axis, with the axis letter in front of each reason."""
    return tuple(
        replace(
            solution,
            reason=msg("padding.axis", axis=letter, reason=solution.reason),
        )
        for letter, solution in each_axis(solve, *columns)
    )
