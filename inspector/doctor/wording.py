"""The phrases every doctor rule shares: shapes as text, "set …", "… or …" and the wrong-rank reason."""

from __future__ import annotations

import math

from inspector.core.messages import NONE, Message, msg
from inspector.core.shapes import format_shape_tree


def shape_text(shape: tuple[int, ...] | list[int]) -> str:
    """Return a shape as '(1, 9216)'."""
    return format_shape_tree(list(shape))


def dims_text(dims: tuple[int, ...]) -> str:
    """Return '256·6·6' for (256, 6, 6)."""
    return "·".join(str(d) for d in dims)


def product_text(dims: tuple[int, ...]) -> str:
    """Return '256·6·6 = 9216' for (256, 6, 6)."""
    return f"{dims_text(dims)} = {math.prod(dims)}"


def set_text(setting: str, also: str = NONE) -> Message:
    """Return the fix text 'set in_features=9216' (+ `also`, a Message saying what else changes)."""
    return msg("doctor.fix.set", setting=setting, also=also)


def either(first: str, second: str) -> Message:
    """Return '(N, 4) or (N, 4, L)': two layouts a layer takes."""
    return msg("doctor.or", first=first, second=second)


def wrong_rank(kind: str, takes: str, shape: tuple[int, ...]) -> Message:
    """Return the reason for an input with a number of dimensions the layer does not take."""
    return msg("doctor.wrong_rank", kind=kind, takes=takes, shape=shape_text(shape), rank=len(shape))
