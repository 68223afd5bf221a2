"""Parsing sizes typed by users, and describing the shapes inside nested inputs and outputs."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import torch

from inspector.core.bounds import check_digits, shorten
from inspector.core.errors import InvalidArgumentError
from inspector.core.messages import Message, msg

# A shape tree mirrors a value's structure: a tensor becomes its shape as a list of ints, a
# tuple/list a list of trees, a dict a dict of trees, and anything else its type name.
ShapeTree = list | dict | str | None

MAX_DIMS = 8
MAX_DIM_SIZE = 2**31 - 1


def parse_size(text: str) -> tuple[int, ...]:
    """Return the shape written as '1,3,224,224' (also '1x3x224x224', '(1, 3, 224, 224)')."""
    if not isinstance(text, str):
        raise InvalidArgumentError("errors_b.size_not_text", type=type(text).__name__)
    tokens = [token for token in re.split(r"[,\s]+", text.strip().strip("()[]").replace("×", "x")) if token]
    if not tokens:
        raise InvalidArgumentError("empty_size", text=repr(text))
    if not all(re.fullmatch(r"\d+(x\d+)*", token) for token in tokens):
        raise InvalidArgumentError("malformed_size", text=repr(shorten(text)))
    check_digits(text, msg("engine.errors_b.what.input_size"))  # int() of thousands of digits is slow, then refused
    dims = tuple(int(part) for token in tokens for part in token.split("x"))
    return validate_size(dims)


def parse_sizes(text: str) -> list[tuple[int, ...]]:
    """Return one shape per model input, inputs separated by ';' ('1,10;1,20')."""
    if not isinstance(text, str):
        raise InvalidArgumentError("errors_b.size_not_text", type=type(text).__name__)
    return [parse_size(part) for part in text.split(";")]


def validate_size(dims: object, what: str = "input size") -> tuple[int, ...]:  # object: it checks what arrives
    """Return `dims` as a tuple after checking 1–8 positive whole dimensions.

    `what` names the value in errors: a `Message`, or the English name of one of the
    `engine.errors_b.what.*` messages ("input size", "sample shape", "input_shape").
    """
    name = what if isinstance(what, Message) else msg("engine.errors_b.what." + re.sub(r"\W+", "_", what))
    if isinstance(dims, (str, bytes)) or not isinstance(dims, Sequence):
        raise InvalidArgumentError("errors_b.size_not_sequence", what=name, value=repr(dims))
    if not 1 <= len(dims) <= MAX_DIMS:
        raise InvalidArgumentError("errors_b.size_dims", what=name, count=len(dims), maximum=MAX_DIMS)
    for dim in dims:
        if isinstance(dim, bool) or not isinstance(dim, int):
            raise InvalidArgumentError("errors_b.size_dim_not_whole", what=name, dims=repr(tuple(dims)), dim=repr(dim))
        if not 1 <= dim <= MAX_DIM_SIZE:
            raise InvalidArgumentError(
                "errors_b.size_dim_range", what=name, dims=repr(tuple(dims)), maximum=f"{MAX_DIM_SIZE:,}", dim=dim
            )
    return tuple(dims)


def numel(dims: Sequence[int]) -> int:
    """Return the number of elements of a tensor of shape `dims`."""
    return math.prod(dims)


def shape_tree(value: object) -> ShapeTree:
    """Return the shape tree of a tensor, or of tensors nested in tuples, lists and dicts."""
    if isinstance(value, torch.Tensor):
        return list(value.shape)
    if isinstance(value, Mapping):
        return {str(key): shape_tree(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [shape_tree(item) for item in value]
    if value is None:
        return None
    return type(value).__name__


def tensors_in(value: object) -> list[torch.Tensor]:
    """Return every tensor nested in `value`, depth first."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, Mapping):
        return [t for item in value.values() for t in tensors_in(item)]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in tensors_in(item)]
    return []


def format_shape_tree(tree: ShapeTree) -> str:
    """Return a shape tree as text: [1, 10] → '(1, 10)', a tuple of two → '((1, 5), (1, 5))'."""
    if tree is None:
        return "—"
    if isinstance(tree, dict):
        return "{" + ", ".join(f"{key}: {format_shape_tree(item)}" for key, item in tree.items()) + "}"
    if isinstance(tree, list):
        if all(isinstance(dim, int) for dim in tree):
            return "(" + ", ".join(str(dim) for dim in tree) + ("," if len(tree) == 1 else "") + ")"
        return "(" + ", ".join(format_shape_tree(item) for item in tree) + ")"
    return str(tree)
