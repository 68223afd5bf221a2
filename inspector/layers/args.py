"""Constructor arguments of the supported layers: their kinds, ranges, and parsing user values."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, SupportsFloat, SupportsIndex

from inspector.core.errors import InvalidArgumentError

ArgValue = int | float | bool | str | tuple[int, ...] | None

# Widget and CLI ranges: generous for real use, bounded so a typo cannot ask for terabytes.
MAX_CHANNELS = 65_536
MAX_KERNEL = 1_024


class ArgKind(StrEnum):
    """How an argument is written and checked."""

    INT = "int"
    SIZE = "size"  # an int or one int per spatial dimension, like kernel_size
    PADDING = "padding"  # a size, or 'same' / 'valid'
    OPTIONAL_SIZE = "optional_size"  # a size or None (pooling stride defaults to the kernel)
    SHAPE = "shape"  # a tuple of any length, like LayerNorm's normalized_shape
    OPTIONAL_INT = "optional_int"
    FLOAT = "float"
    BOOL = "bool"
    CHOICE = "choice"


@dataclass(frozen=True)
class ArgSpec:
    """One constructor argument: its kind, default, allowed range or choices, and help text."""

    name: str
    kind: ArgKind
    default: ArgValue
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    help: str = ""

    @property
    def flag(self) -> str:
        """Return the CLI flag: kernel_size → --kernel-size."""
        return "--" + self.name.replace("_", "-")


def _bad_value(spec: ArgSpec, raw: object, key: str) -> InvalidArgumentError:
    """Return error `key` (not_whole, not_number, not_bool) for a value of the wrong kind."""
    return InvalidArgumentError(key, name=spec.name, value=repr(raw))


def _parse_int(spec: ArgSpec, raw: object) -> int:
    if isinstance(raw, bool):
        raise _bad_value(spec, raw, "not_whole")
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, str):
        try:
            raw = int(raw.strip())
        except ValueError:
            raise _bad_value(spec, raw, "not_whole") from None
    if not isinstance(raw, int):
        raise _bad_value(spec, raw, "not_whole")
    _check_range(spec, raw)
    return raw


def _check_range(spec: ArgSpec, value: float) -> None:
    low, high = spec.minimum, spec.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        params: dict[str, Any] = {"high": _number(high)} if high is not None else {}
        key = "out_of_range" if high is not None else "too_small"
        shown_low = None if low is None else _number(low)
        raise InvalidArgumentError(key, name=spec.name, low=shown_low, value=_number(value), **params)


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


def _parse_ints(spec: ArgSpec, raw: object) -> int | tuple[int, ...]:
    if isinstance(raw, str):
        parts = [part for part in raw.strip().strip("()[]").replace(" ", "").split(",") if part]
        if len(parts) == 1:
            return _parse_int(spec, parts[0])
        raw = parts
    if isinstance(raw, (list, tuple)):
        if not raw:
            raise InvalidArgumentError("layers.needs_a_value", name=spec.name)
        return tuple(_parse_int(spec, item) for item in raw)
    return _parse_int(spec, raw)


def _parse_float(spec: ArgSpec, raw: object) -> float:
    if isinstance(raw, bool):
        raise _bad_value(spec, raw, "not_number")
    if not isinstance(raw, str | SupportsFloat | SupportsIndex):  # float() would raise TypeError
        raise _bad_value(spec, raw, "not_number")
    try:
        value = float(raw.strip() if isinstance(raw, str) else raw)
    except (TypeError, ValueError):
        raise _bad_value(spec, raw, "not_number") from None
    if not math.isfinite(value):
        raise InvalidArgumentError("errors_b.not_finite", name=spec.name, value=repr(raw))
    _check_range(spec, value)
    return value


def _parse_bool(spec: ArgSpec, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"true", "1", "yes", "on"}:
        return True
    if text in {"false", "0", "no", "off"}:
        return False
    raise _bad_value(spec, raw, "not_bool")


def _parse_choice(spec: ArgSpec, raw: object) -> str:
    text = str(raw).strip() if isinstance(raw, (str, int, float)) else raw
    if text not in spec.choices:
        choices = ", ".join(spec.choices)
        raise InvalidArgumentError("bad_choice", name=spec.name, choices=choices, value=repr(raw))
    return text


def _is_none(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip().lower() in {"none", ""})


def parse_arg(spec: ArgSpec, raw: object) -> ArgValue:
    """Return `raw` (text from the CLI or a URL, or a Python value) checked and converted."""
    kind = spec.kind
    if kind in (ArgKind.OPTIONAL_SIZE, ArgKind.OPTIONAL_INT) and _is_none(raw):
        return None
    if kind is ArgKind.PADDING and isinstance(raw, str) and raw.strip().lower() in ("same", "valid"):
        return raw.strip().lower()
    if kind in (ArgKind.INT, ArgKind.OPTIONAL_INT):
        return _parse_int(spec, raw)
    if kind in (ArgKind.SIZE, ArgKind.PADDING, ArgKind.OPTIONAL_SIZE):
        return _parse_ints(spec, raw)
    if kind is ArgKind.SHAPE:
        value = _parse_ints(spec, raw)
        return value if isinstance(value, tuple) else (value,)
    if kind is ArgKind.FLOAT:
        return _parse_float(spec, raw)
    if kind is ArgKind.BOOL:
        return _parse_bool(spec, raw)
    return _parse_choice(spec, raw)


def normalize_args(specs: tuple[ArgSpec, ...], given: Mapping[str, object] | None, layer: str) -> dict[str, ArgValue]:
    """Return every argument of the layer: the given ones parsed and checked, the rest defaulted."""
    given = dict(given or {})
    known = {spec.name: spec for spec in specs}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise InvalidArgumentError(
            "unknown_argument",
            hint_key=None if known else "layers.unknown_argument_none",
            layer=layer,
            unknown=", ".join(unknown),
            known=", ".join(known),
        )
    return {spec.name: parse_arg(spec, given[spec.name]) if spec.name in given else spec.default for spec in specs}


# Typed reads of arguments that `normalize_args` has checked against their specs: the assert states
# what the spec's kind guarantees, so a formula receives an int where it needs one.
def arg_int(args: Mapping[str, ArgValue], name: str) -> int:
    """Return the whole-number argument `name` (ArgKind.INT; a bool is one too)."""
    value = args[name]
    assert isinstance(value, int), (name, value)
    return value


def arg_flag(args: Mapping[str, ArgValue], name: str) -> bool:
    """Return the on/off argument `name` (ArgKind.BOOL)."""
    value = args[name]
    assert isinstance(value, bool), (name, value)
    return value


def arg_size(args: Mapping[str, ArgValue], name: str) -> int | tuple[int, ...]:
    """Return the size argument `name`: one int for every axis, or one per axis (ArgKind.SIZE, SHAPE)."""
    value = args[name]
    assert isinstance(value, int | tuple), (name, value)
    return value


def arg_optional_size(args: Mapping[str, ArgValue], name: str) -> int | tuple[int, ...] | None:
    """Return the size argument `name`, or None where torch picks (ArgKind.OPTIONAL_SIZE)."""
    return None if args[name] is None else arg_size(args, name)


def arg_padding(args: Mapping[str, ArgValue], name: str = "padding") -> int | tuple[int, ...] | str:
    """Return a padding argument: a size, or "same"/"valid" (ArgKind.PADDING)."""
    value = args[name]
    return value if isinstance(value, str) else arg_size(args, name)


def arg_shape(args: Mapping[str, ArgValue], name: str) -> tuple[int, ...]:
    """Return the shape argument `name`, always a tuple (ArgKind.SHAPE)."""
    value = args[name]
    assert isinstance(value, tuple), (name, value)
    return value
