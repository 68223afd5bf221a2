"""The engine calls the pages make, cached: built models as shared resources, results as data.

Keys are the settings themselves (hashable tuples), so a changed widget is a cache miss and a
revisited setting is instant. Bounds keep memory in check: a few built models, more results.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import streamlit as st
from torch import nn

from inspector.dtypes import resolve_dtype
from inspector.layer_inspection import LayerInspection, inspect_layer
from inspector.model_inspection import inspect_model
from inspector.report import ModelReport
from inspector.torchinfo_text import torchinfo_summary
from inspector.zoo import build_zoo_model, get_zoo_entry, zoo_options

Options = tuple[tuple[str, object], ...]


@dataclass(frozen=True)
class BuiltModel:
    """A zoo model built once per setting and shared by every session, with the lock its hooks need.

    Inspecting attaches forward hooks and switches modes for a moment; two sessions inspecting the
    same shared model at once would see each other's hooks, so they take turns.
    """

    model: nn.Module
    lock: threading.Lock


@st.cache_data(max_entries=256, show_spinner=False)
def layer_inspection(layer_type: str, args: Options, input_shape: tuple[int, ...] | None, device: str,
                     dtype: str) -> LayerInspection:
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
    with built.lock:
        return inspect_model(built.model, input_size=input_size, device=device, input_dtype=entry.input_dtype,
                             name=entry.name)


@st.cache_data(max_entries=16, show_spinner=False)
def torchinfo_text(name: str, options: Options, input_size: tuple[int, ...], device: str, dtype: str,
                   depth: int) -> str:
    """Return torchinfo's summary of the cached zoo model, as text."""
    built, entry = zoo_model(name, options, device, dtype), get_zoo_entry(name)
    floating = entry.input_dtype.is_floating_point  # float inputs follow the model's dtype, token ids do not
    dtypes = [resolve_dtype(dtype) if floating else entry.input_dtype]
    with built.lock:
        return torchinfo_summary(built.model, input_size, device, dtypes, depth)
