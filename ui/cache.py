"""The engine calls the pages make, cached: built models as shared resources, results as data.

Keys are the settings themselves (hashable tuples), so a changed widget is a cache miss and a
revisited setting is instant. Bounds keep memory in check: a few built models, more results.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import streamlit as st
from torch import nn

from inspector.core.dtypes import resolve_dtype
from inspector.core.report import ModelReport
from inspector.lab.inspection import LayerInspection, inspect_layer
from inspector.model.inspection import inspect_model
from inspector.model.torchinfo_text import torchinfo_summary
from inspector.model.zoo import build_zoo_model, get_zoo_entry, zoo_options

try:  # the session's stop/rerun check (Streamlit >= 1.5x); without it a run stops only at a Streamlit call
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_run_yield_check
except ImportError:  # pragma: no cover - other Streamlit versions

    def get_run_yield_check() -> None:
        return None


Options = tuple[tuple[str, object], ...]


@dataclass(frozen=True)
class BuiltModel:
    """A zoo model built once per setting and shared by every session, with the lock its hooks need.

    Inspecting attaches forward hooks and switches modes for a moment; two sessions inspecting the
    same shared model at once would see each other's hooks, so they take turns.
    """

    model: nn.Module
    lock: threading.Lock


@contextmanager
def cancellable(model: nn.Module) -> Iterator[None]:
    """Let this session's pending rerun or stop end a forward pass at the next layer.

    A changed widget, a page left or the Stop button asks Streamlit to rerun or stop, which it
    does at the script's next Streamlit call; a forward makes none, so a long one would run to
    its end first. A pre-hook on every module asks at each layer instead. The RerunException or
    StopException it raises is a BaseException: the engine does not catch it, the hooks and the
    model lock are released, and the cached function stores nothing (no half-filled entry).
    A single torch op still runs to its end. Call it with the model's lock held.
    """
    check = get_run_yield_check()
    if check is None:  # no script run (a bare call, a test): nothing can ask to stop
        yield
        return
    handles = [module.register_forward_pre_hook(lambda *_: check()) for module in model.modules()]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


@st.cache_data(max_entries=256, show_spinner=False)
def layer_inspection(
    layer_type: str, args: Options, input_shape: tuple[int, ...] | None, device: str, dtype: str
) -> LayerInspection:
    """Return `inspect_layer` for these settings (cached: a revisited setting is instant)."""
    return inspect_layer(layer_type, dict(args), input_shape, device, dtype)


@st.cache_resource(max_entries=4, show_spinner=False)
def zoo_model(name: str, options: Options, device: str, dtype: str) -> BuiltModel:
    """Return the zoo model built on `device` in `dtype` (cached and shared; never mutated)."""
    return BuiltModel(build_zoo_model(name, dict(options), device, dtype), threading.Lock())


def default_input_size(name: str, options: Options) -> tuple[int, ...]:
    """Return the zoo model's default input size for these options."""
    entry = get_zoo_entry(name)
    return entry.input_size_for(**zoo_options(entry, dict(options)))


@st.cache_data(max_entries=32, show_spinner=False)
def model_report(name: str, options: Options, input_size: tuple[int, ...], device: str, dtype: str) -> ModelReport:
    """Return the report of the cached zoo model on `input_size`."""
    built, entry = zoo_model(name, options, device, dtype), get_zoo_entry(name)
    with built.lock, cancellable(built.model):
        return inspect_model(
            built.model, input_size=input_size, device=device, input_dtype=entry.input_dtype, name=entry.name
        )


@st.cache_data(max_entries=16, show_spinner=False)
def torchinfo_text(
    name: str, options: Options, input_size: tuple[int, ...], device: str, dtype: str, depth: int
) -> str:
    """Return torchinfo's summary of the cached zoo model, as text."""
    built, entry = zoo_model(name, options, device, dtype), get_zoo_entry(name)
    floating = entry.input_dtype.is_floating_point  # float inputs follow the model's dtype, token ids do not
    dtypes = [resolve_dtype(dtype) if floating else entry.input_dtype]
    with built.lock, cancellable(built.model):
        return torchinfo_summary(built.model, input_size, device, dtypes, depth)
