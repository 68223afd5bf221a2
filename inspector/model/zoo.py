"""Models by name: zoo entries with checked options, or a user's class by import path."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from difflib import get_close_matches
from typing import cast

import torch
from torch import nn

from inspector.core.bounds import load_json, shorten
from inspector.core.devices import resolve_device
from inspector.core.dtypes import resolve_dtype
from inspector.core.errors import InvalidArgumentError, UnknownNameError
from inspector.core.memory_guard import check_fits, reserve
from inspector.core.messages import msg
from inspector.core.preflight import Preflight, forward_peak, resident_bytes
from inspector.core.report import ModelReport
from inspector.model.inspection import inspect_model
from models import ZOO, ModelOption, ZooEntry

OptionValue = int | float | bool | str


def get_zoo_entry(name: str) -> ZooEntry:
    """Return the zoo entry `name`, or raise listing the zoo."""
    if isinstance(name, str) and name.strip().lower() in ZOO:
        return ZOO[name.strip().lower()]
    close = get_close_matches(name.strip().lower(), list(ZOO), n=3, cutoff=0.6) if isinstance(name, str) else []
    if close:  # a guess when one is close (resnt18 → resnet18), else the whole zoo
        raise UnknownNameError("model.unknown_close", name=repr(name), choices=", ".join(close))
    raise UnknownNameError("unknown_model", name=repr(name), choices=", ".join(ZOO))


def _parse_option(option: ModelOption, raw: object) -> OptionValue:
    default = option.default
    if option.choices:
        if str(raw) not in option.choices:
            raise InvalidArgumentError(
                "errors_a.option_choice", name=option.name, choices=", ".join(option.choices), value=repr(raw)
            )
        return str(raw)
    kind = type(default)
    value: bool | int | float | None
    number = cast("str | float", raw)  # for int() and float(): anything else raises TypeError, caught below
    try:
        if kind is bool:
            if isinstance(raw, bool) or str(raw).lower() not in {"true", "false", "1", "0"}:
                value = raw if isinstance(raw, bool) else None
            else:
                value = str(raw).lower() in {"true", "1"}
        elif kind is int:
            value = int(number) if not isinstance(raw, (bool, float)) or float(number).is_integer() else None
        else:
            value = float(number) if not isinstance(raw, bool) else None
    except (TypeError, ValueError):
        value = None
    if value is None or value != value:  # NaN fails the second test
        raise InvalidArgumentError("errors_a.option_type", name=option.name, type=kind.__name__, value=repr(raw))
    low, high = option.minimum, option.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        raise InvalidArgumentError("errors_a.option_range", name=option.name, low=low, high=high, value=value)
    return value


def zoo_options(entry: ZooEntry, given: Mapping[str, object] | None) -> dict[str, OptionValue]:
    """Return all options of `entry`: given values checked and converted, the rest defaulted."""
    given = dict(given or {})
    known = {option.name: option for option in entry.options}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise InvalidArgumentError(
            "errors_a.unknown_option" if known else "errors_a.unknown_option_none",
            model=entry.name,
            unknown=", ".join(unknown),
            known=", ".join(known),
        )
    return {
        name: _parse_option(option, given[name]) if name in given else option.default for name, option in known.items()
    }


def _build_on(
    factory: Callable[[], nn.Module], device: torch.device, dtype: torch.dtype | None, label: str
) -> nn.Module:
    """Return `factory()` built on `device` (directly, so meta allocates nothing), after a size check."""
    if device.type != "meta":
        with torch.device("meta"):
            probe = _call_factory(factory, label)
        itemsize = dtype.itemsize if dtype is not None else 4
        needed = sum(
            t.numel() * (itemsize if t.is_floating_point() else t.element_size())
            for t in [*probe.parameters(), *probe.buffers()]
        )
        check_fits(needed, device, msg("engine.model.parameters_and_buffers", model=label))
    with torch.device(device):
        model = _call_factory(factory, label)
    return model.to(dtype) if dtype is not None else model


def _preflight(
    factory: Callable[[], nn.Module],
    label: str,
    input_size: object,
    device: torch.device,
    dtype: torch.dtype | None,
    input_dtype: torch.dtype | None = None,
    mode: str = "eval",
) -> Preflight:
    """Return the peak memory of building `factory()` on `device` and inspecting it, found by the same run on meta."""
    with torch.device("meta"):
        probe = _call_factory(factory, label)
    resident = resident_bytes(probe, dtype)
    if dtype is not None:  # built in its own dtype, then cast: both copies exist for a moment
        resident += resident_bytes(probe)
        probe = probe.to(dtype)
    float_dtype = dtype or next((p.dtype for p in probe.parameters() if p.is_floating_point()), torch.float32)
    peak, flops, complete = forward_peak(probe, input_size, float_dtype, input_dtype, mode)
    return Preflight(str(device), resident, peak, flops, complete)


def zoo_preflight(
    name: str, options: Mapping[str, object] | None, input_size: tuple[int, ...], device: str, dtype: str | None
) -> Preflight:
    """Return the peak memory `inspect_named_model` will need for this zoo model on `device`."""
    entry = get_zoo_entry(name)
    values = zoo_options(entry, options)
    cast = resolve_dtype(dtype) if dtype is not None else None
    build = lambda: entry.build(**values)  # noqa: E731 - the factory the real build calls
    return _preflight(build, entry.name, input_size, resolve_device(device), cast, entry.input_dtype)


def _call_factory(factory: Callable[[], nn.Module], label: str) -> nn.Module:
    try:
        model = factory()
    except Exception as error:  # a user's class runs its own code: whatever it raises is about its arguments
        expected = isinstance(error, (ValueError, TypeError, AssertionError, RuntimeError))
        reason = str(error) if expected else f"{type(error).__name__}: {shorten(error, 200)}"
        raise InvalidArgumentError("errors_a.build_failed", model=label, reason=reason) from None
    if not isinstance(model, nn.Module):
        raise InvalidArgumentError("errors_a.not_a_module", model=label, type=type(model).__name__)
    return model


def build_zoo_model(
    name: str, options: Mapping[str, object] | None = None, device: str | None = None, dtype: str | None = None
) -> nn.Module:
    """Return the zoo model `name` built with `options` directly on `device`."""
    entry = get_zoo_entry(name)
    values = zoo_options(entry, options)
    target = resolve_device(device)
    cast = resolve_dtype(dtype) if dtype is not None else None
    return _build_on(lambda: entry.build(**values), target, cast, entry.name)


def import_model_class(path: str) -> Callable[..., nn.Module]:
    """Return the class (or factory) named by 'package.module:ClassName'."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise InvalidArgumentError("errors_a.bad_import_path", path=repr(path))
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise UnknownNameError("errors_a.cannot_import", module=repr(module_name), reason=str(error)) from None
    except (Exception, SystemExit) as error:  # the user's module ran and failed: its own code, not ours
        raise InvalidArgumentError(
            "bounds.import_raised",
            module=repr(shorten(module_name)),
            name=shorten(module_name),
            kind=type(error).__name__,
            reason=shorten(error, 200),
        ) from None
    try:
        target: Callable[..., nn.Module] = getattr(module, attribute)
    except AttributeError:
        raise UnknownNameError("errors_a.no_attribute", module=repr(module_name), attribute=repr(attribute)) from None
    if not callable(target):
        raise InvalidArgumentError("errors_a.not_callable", path=path)
    return target


def parse_kwargs(text: str | None) -> dict[str, object]:
    """Return the constructor keyword arguments given as a JSON object."""
    if not text:
        return {}
    try:
        value = load_json(text, "--kwargs")
    except json.JSONDecodeError as error:
        raise InvalidArgumentError("errors_a.kwargs_bad_json", reason=error.msg) from None
    if not isinstance(value, dict):
        raise InvalidArgumentError("errors_a.kwargs_not_object")
    return value


def inspect_named_model(
    name: str,
    options: Mapping[str, object] | None = None,
    input_size: tuple[int, ...] | list[tuple[int, ...]] | None = None,
    device: str | None = None,
    dtype: str | None = None,
    mode: str = "eval",
) -> ModelReport:
    """Return the report of a zoo model or an import path, built and run on `device`.

    A zoo model's default input follows its options (image_size, seq_len, in_features); an
    import-path model needs `input_size`. Options of an import path are its constructor kwargs.
    """
    target = resolve_device(device)
    cast = resolve_dtype(dtype) if dtype is not None else None
    if ":" in str(name):
        if input_size is None:
            raise InvalidArgumentError("errors_a.no_input_size", name=name)
        factory = import_model_class(name)
        build: Callable[[], nn.Module] = lambda: factory(**dict(options or {}))  # noqa: E731
        label, size, input_dtype = name, input_size, None
    else:
        entry = get_zoo_entry(name)
        values = zoo_options(entry, options)
        build = lambda: entry.build(**values)  # noqa: E731
        label, input_dtype = entry.name, entry.input_dtype
        size = input_size if input_size is not None else entry.input_size_for(**values)
    plan = _preflight(build, label, size, target, cast, input_dtype, mode) if target.type != "meta" else 0
    with reserve(plan, target, label):  # refused before anything real is built
        model = _build_on(build, target, cast, label)
        return inspect_model(model, input_size=size, device=target, input_dtype=input_dtype, name=label, mode=mode)
