"""The engine calls the pages make, cached: built models as shared resources, results as data.

Keys are the settings themselves (hashable tuples), so a changed widget is a cache miss and a
revisited setting is instant. Bounds keep memory in check: a few built models, more results.

Every real run is bounded before it starts: its pre-flight figure (the same forward on meta) is
reserved from the process's one memory budget for as long as it runs, a run that must wait for
others shows a "queued" line, and one too big is refused with the figure. A run on cpu that is
large (INSPECTOR_WORKER_MB of memory or INSPECTOR_WORKER_GFLOPS of compute) goes to a worker process
(`inspector.core.sandbox.run_limited`) under a memory cap and a deadline, so a run that still
overruns kills a worker, not the server. Small runs stay in the server: a worker costs seconds of
start-up, far more than a small run itself (README, "Hardening").
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TypeVar

import streamlit as st
import torch
from torch import nn

from inspector.core.budget import Refusal, queued_notice
from inspector.core.dtypes import resolve_dtype
from inspector.core.errors import InvalidArgumentError
from inspector.core.memory_guard import check_fits, reserve
from inspector.core.preflight import Preflight
from inspector.core.report import ModelReport
from inspector.core.sandbox import run_limited
from inspector.core.units import binary_bytes
from inspector.lab.inspection import LayerInspection, inspect_layer, preflight_layer
from inspector.model.inspection import inspect_model
from inspector.model.torchinfo_text import torchinfo_summary
from inspector.model.zoo import build_zoo_model, get_zoo_entry, inspect_named_model, zoo_options, zoo_preflight
from ui.state import tr

try:  # the session's stop/rerun check (Streamlit >= 1.5x); without it a run stops only at a Streamlit call
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_run_yield_check
except ImportError:  # pragma: no cover - other Streamlit versions

    def get_run_yield_check() -> Callable[[], None] | None:
        return None


Options = tuple[tuple[str, object], ...]
T = TypeVar("T")
# A cpu run above either bound goes to a worker process (module docstring).
DEFAULT_WORKER_MB = 256
DEFAULT_WORKER_GFLOPS = 20.0
# What a worker may allocate beyond the run's figure: the address space of torch's threads and
# allocator arenas, which RLIMIT_AS counts though little of it is ever touched.
WORKER_HEADROOM_BYTES = 1024 * 2**20


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


def _env_number(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if math.isfinite(value) and value > 0 else default


def in_worker(plan: Preflight) -> bool:
    """Return whether a run with this figure goes to a worker process (cpu, and large in memory or FLOPs)."""
    if plan.device != "cpu":
        return False
    large_memory = plan.total_bytes > _env_number("INSPECTOR_WORKER_MB", DEFAULT_WORKER_MB) * 2**20
    return large_memory or plan.flops > _env_number("INSPECTOR_WORKER_GFLOPS", DEFAULT_WORKER_GFLOPS) * 1e9


def _stop_requested() -> bool:
    """Ask this session whether it wants to rerun or stop; raises Streamlit's own exception if so."""
    check = get_run_yield_check()
    if check is not None:
        check()
    return False


def in_sandbox(plan: Preflight, fn: Callable[..., T], *args: object) -> T:
    """Return `fn(*args)` run in a worker process capped near `plan`'s figure; a new widget value stops it."""
    memory = plan.total_bytes + WORKER_HEADROOM_BYTES
    return run_limited(fn, *args, memory_bytes=memory, cancelled=_stop_requested)


@contextmanager
def reserved(plan: Preflight, what: str) -> Iterator[None]:
    """Hold `plan`'s figure in the process budget for the block; while it waits, say so on the page."""
    notice = st.empty()

    def queued(refusal: Refusal) -> None:
        needed, held, capacity = (binary_bytes(value) for value in (refusal.needed, refusal.reserved, refusal.capacity))
        notice.info(tr("memory.queued", needed=needed, reserved=held, capacity=capacity), icon=":material/schedule:")

    try:
        with queued_notice(queued), reserve(plan, torch.device(plan.device), what):
            notice.empty()
            yield
    finally:
        notice.empty()


@st.cache_data(max_entries=256, show_spinner=False)
def layer_plan(
    layer_type: str, args: Options, input_shape: tuple[int, ...] | None, device: str, dtype: str
) -> Preflight:
    """Return the pre-flight figure of `inspect_layer` for these settings (found on meta; cached)."""
    return preflight_layer(layer_type, dict(args), input_shape, device, dtype)


def layer_inspection(
    layer_type: str, args: Options, input_shape: tuple[int, ...] | None, device: str, dtype: str
) -> LayerInspection:
    """Return `inspect_layer` for these settings, within the memory budget (in a worker when large)."""
    if device == "meta":
        return _layer_inspection(layer_type, args, input_shape, device, dtype, False)
    plan = layer_plan(layer_type, args, input_shape, device, dtype)
    with reserved(plan, layer_type):
        return _layer_inspection(layer_type, args, input_shape, device, dtype, in_worker(plan))


@st.cache_data(max_entries=256, show_spinner=False)
def _layer_inspection(
    layer_type: str, args: Options, input_shape: tuple[int, ...] | None, device: str, dtype: str, worker: bool
) -> LayerInspection:
    """Return `inspect_layer` for these settings (cached: a revisited setting is instant)."""
    if worker:
        plan = layer_plan(layer_type, args, input_shape, device, dtype)
        return in_sandbox(plan, inspect_layer, layer_type, dict(args), input_shape, device, dtype)
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
def model_plan(name: str, options: Options, input_size: tuple[int, ...], device: str, dtype: str) -> Preflight:
    """Return the pre-flight figure of inspecting the zoo model on `input_size` (found on meta; cached)."""
    return zoo_preflight(name, dict(options), input_size, device, dtype)


def model_report(name: str, options: Options, input_size: tuple[int, ...], device: str, dtype: str) -> ModelReport:
    """Return the report of the zoo model on `input_size`, within the memory budget (in a worker when large).

    Refused before the model is built when its figure could never fit.
    """
    if device == "meta":
        return _model_report(name, options, input_size, device, dtype, False)
    plan = model_plan(name, options, input_size, device, dtype)
    check_fits(plan, torch.device(device), name)
    worker = in_worker(plan)
    # In the server the model is built once and cached: only the forward is new memory.
    with reserved(plan if worker else replace(plan, resident_bytes=0), name):
        return _model_report(name, options, input_size, device, dtype, worker)


@st.cache_data(max_entries=32, show_spinner=False)
def _model_report(
    name: str, options: Options, input_size: tuple[int, ...], device: str, dtype: str, worker: bool
) -> ModelReport:
    """Return the report of the zoo model on `input_size`: the cached model in the server, or a worker's own."""
    if worker:
        plan = model_plan(name, options, input_size, device, dtype)
        return in_sandbox(plan, inspect_named_model, name, dict(options), input_size, device, dtype)
    built, entry = zoo_model(name, options, device, dtype), get_zoo_entry(name)
    with built.lock, cancellable(built.model):
        return inspect_model(
            built.model, input_size=input_size, device=device, input_dtype=entry.input_dtype, name=entry.name
        )


def torchinfo_text(
    name: str, options: Options, input_size: tuple[int, ...], device: str, dtype: str, depth: int
) -> str:
    """Return torchinfo's summary of the cached zoo model, as text, within the memory budget.

    torchinfo runs its own forward in the server, so a model the report ran in a worker is not summarised.
    """
    if device == "meta":
        return _torchinfo_text(name, options, input_size, device, dtype, depth)
    plan = model_plan(name, options, input_size, device, dtype)
    check_fits(plan, torch.device(device), name)
    if in_worker(plan):
        raise InvalidArgumentError("memory.torchinfo_in_worker", needed=binary_bytes(plan.total_bytes))
    with reserved(replace(plan, resident_bytes=0), name):
        return _torchinfo_text(name, options, input_size, device, dtype, depth)


@st.cache_data(max_entries=16, show_spinner=False)
def _torchinfo_text(
    name: str, options: Options, input_size: tuple[int, ...], device: str, dtype: str, depth: int
) -> str:
    """Return torchinfo's summary of the cached zoo model, as text."""
    built, entry = zoo_model(name, options, device, dtype), get_zoo_entry(name)
    floating = entry.input_dtype.is_floating_point  # float inputs follow the model's dtype, token ids do not
    dtypes = [resolve_dtype(dtype) if floating else entry.input_dtype]
    with built.lock, cancellable(built.model):
        return torchinfo_summary(built.model, input_size, device, dtypes, depth)
