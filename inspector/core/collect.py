"""Runs one forward pass with hooks under FlopCounterMode and records what each module saw.

This is the one place that runs a model: shapes come from the real outputs, FLOPs from
`torch.utils.flop_counter.FlopCounterMode` (through `inspector.core.flops.FlopCounter`); each module's
count is the counter's total after its forward minus the total before, so it equals what
FlopCounterMode attributes to that call. `kept_as_found` puts back what a forward changes in the
model itself: attributes it replaces, buffers it updates in place, train/eval flags.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from inspector.core.flops import FlopCounter
from inspector.core.shapes import ShapeTree, shape_tree


@dataclass
class ModuleRecord:
    """What the hooks saw of one module (first call's shapes; FLOPs summed over calls)."""

    input_shape: ShapeTree = None
    output_shape: ShapeTree = None
    flops: int = 0
    calls: int = 0
    open_counts: list[int] = field(default_factory=list)


@dataclass
class ForwardTrace:
    """The result of one traced forward: the output, the records by module name, total FLOPs."""

    output: object
    records: dict[str, ModuleRecord]
    total_flops: int


class ForwardFailure(Exception):
    """The forward raised; carries the innermost module that was running and its input."""

    def __init__(self, module_name: str, module: nn.Module, input_shape: ShapeTree, error: Exception) -> None:
        super().__init__(str(error))
        self.module_name = module_name
        self.module = module
        self.input_shape = input_shape
        self.error = error


def _inputs_tree(args: tuple, kwargs: dict) -> ShapeTree:
    if kwargs and not args:
        return shape_tree(kwargs)
    tree = shape_tree(args[0] if len(args) == 1 else list(args))
    if kwargs:
        return {"args": tree, "kwargs": shape_tree(kwargs)}
    return tree


# torch's attention fast-path switch is process-wide, and the app inspects from several threads:
# the first inspection to start turns it off, the last to finish restores what it was.
_FASTPATH_LOCK = threading.Lock()
_fastpath_users = 0
_fastpath_before = True


@contextmanager
def _unfused_attention() -> Iterator[None]:
    """Run nn.MultiheadAttention/TransformerEncoderLayer unfused inside the block.

    Their fused fast path (eval mode, no grad) is one opaque op that FlopCounterMode counts as 0
    FLOPs; the unfused ops show attention's real cost.
    """
    global _fastpath_users, _fastpath_before
    with _FASTPATH_LOCK:
        if _fastpath_users == 0:
            _fastpath_before = torch.backends.mha.get_fastpath_enabled()
            torch.backends.mha.set_fastpath_enabled(False)
        _fastpath_users += 1
    try:
        yield
    finally:
        with _FASTPATH_LOCK:
            _fastpath_users -= 1
            if _fastpath_users == 0:
                torch.backends.mha.set_fastpath_enabled(_fastpath_before)


def trace_forward(
    model: nn.Module, call: Callable[[], object], named: list[tuple[str, nn.Module]] | None = None
) -> ForwardTrace:
    """Return the output of `call()` (which runs `model`), with per-module shapes and FLOPs.

    `named` is `list(model.named_modules())` when the caller has it already. The hooks are always
    removed, also when the forward fails; a failure is raised as ForwardFailure naming the innermost
    module still running.
    """
    named = list(model.named_modules()) if named is None else named
    records = {id(module): (name, ModuleRecord()) for name, module in named}
    running: list[tuple[str, ShapeTree]] = []
    counter = FlopCounter()

    def before(module: nn.Module, args: tuple, kwargs: dict) -> None:
        name, record = records[id(module)]
        tree = _inputs_tree(args, kwargs)
        if record.calls == 0:
            record.input_shape = tree
        record.open_counts.append(counter.total)
        running.append((name, tree))

    def after(module: nn.Module, args: tuple, kwargs: dict, output: object) -> None:
        record = records[id(module)][1]
        if record.calls == 0:
            record.output_shape = shape_tree(output)
        record.calls += 1
        record.flops += counter.total - record.open_counts.pop()
        running.pop()

    hooked: list[nn.Module] = []
    key = RemovableHandle(OrderedDict()).id  # a hook id from torch's own counter: no other hook has it
    try:
        for _, module in named:  # as register_forward_pre_hook/register_forward_hook(with_kwargs=True) do,
            # without their RemovableHandle per hook (tens of µs each, more than the call it hooks)
            module._forward_pre_hooks[key] = before
            module._forward_pre_hooks_with_kwargs[key] = True
            module._forward_hooks[key] = after
            module._forward_hooks_with_kwargs[key] = True
            hooked.append(module)
        try:
            with _unfused_attention(), counter, torch.no_grad():
                output = call()
        except Exception as error:
            name, tree = running[-1] if running else ("", None)
            module = model.get_submodule(name) if running else model
            raise ForwardFailure(name, module, tree, error) from error
    finally:
        for module in hooked:
            for hooks in (
                module._forward_pre_hooks,
                module._forward_pre_hooks_with_kwargs,
                module._forward_hooks,
                module._forward_hooks_with_kwargs,
            ):
                hooks.pop(key, None)
    return ForwardTrace(output, {name: record for name, record in records.values()}, counter.get_total_flops())


# A plain attribute counts as model state when it is a tensor or a list, tuple or dict holding
# tensors (torchvision's AnchorGenerator caches `cell_anchors`, a list, and moves it in forward).
_CONTAINER_DEPTH = 3


def _tensors_inside(value: object, depth: int = _CONTAINER_DEPTH) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if depth == 0 or not isinstance(value, (list, tuple, dict)):
        return []
    items = value.values() if isinstance(value, dict) else value
    return [tensor for item in items for tensor in _tensors_inside(item, depth - 1)]


@dataclass
class _ModuleState:
    """One module as found: its attributes (containers shallow-copied) and its parameter and buffer slots."""

    module: nn.Module
    attributes: dict[str, object]
    contents: dict[str, list | dict]
    parameters: dict[str, nn.Parameter | None]
    buffers: dict[str, torch.Tensor | None]
    tensors: list[torch.Tensor]  # held by its plain attributes, also inside containers

    @classmethod
    def of(cls, module: nn.Module) -> _ModuleState:
        attributes = dict(vars(module))
        contents: dict[str, list | dict] = {}
        tensors: list[torch.Tensor] = []
        for name, value in attributes.items():  # one pass: most are torch's own `_` slots or plain numbers
            if name.startswith("_") or not isinstance(value, (torch.Tensor, list, tuple, dict)):
                continue
            inside = _tensors_inside(value)
            tensors += inside
            if inside and isinstance(value, (list, dict)):
                contents[name] = value.copy()
        return cls(module, attributes, contents, dict(module._parameters), dict(module._buffers), tensors)

    def restore(self) -> None:
        found = vars(self.module)
        if found.keys() != self.attributes.keys():
            for name in [name for name in found if name not in self.attributes]:
                del found[name]  # a cache the forward created
        found.update(self.attributes)  # replaced attributes and the train/eval flag, as they were
        for name, saved in self.contents.items():
            if isinstance(saved, list):
                found[name][:] = saved
            else:
                found[name].clear()
                found[name].update(saved)
        self.module._parameters.clear()
        self.module._parameters.update(self.parameters)
        self.module._buffers.clear()
        self.module._buffers.update(self.buffers)


def _put_back(tensor: torch.Tensor, copy: torch.Tensor) -> None:
    """Write `copy`'s values into `tensor`; in place, so views of it (tied buffers) see them too.

    Always, not only when the version counter moved: BatchNorm's kernels update the running
    statistics without bumping it. An inference tensor cannot be written, nor by a forward.
    """
    if tensor.is_inference():
        return
    if tensor.shape == copy.shape and tensor.dtype == copy.dtype and tensor.device == copy.device:
        tensor.copy_(copy)
    else:  # the forward resized it with .data or set_
        tensor.data = copy


@contextmanager
def kept_as_found(model: nn.Module, modules: Iterable[nn.Module] | None = None) -> Iterator[None]:
    """Run the block, then leave `model` as it was found, also when the block fails.

    Restored: every module's attributes (a tensor a forward replaced, a cache it added, the
    train/eval flag), the objects in its parameter and buffer slots, each tensor's requires_grad,
    and bit for bit the values of buffers and tensor attributes a forward updated in place
    (BatchNorm's running statistics in train mode). Those are copied first; on meta a copy is free.
    Parameters are not copied: nothing in a forward under no_grad writes into them. `modules` is
    `model.modules()` when the caller has walked them already.
    """
    states = [_ModuleState.of(module) for module in (model.modules() if modules is None else modules)]
    state_tensors = {
        id(tensor): tensor
        for state in states
        for tensor in chain((b for b in state.buffers.values() if b is not None), state.tensors)
    }
    copies = {key: tensor.detach().clone() for key, tensor in state_tensors.items()}
    parameters = (p for state in states for p in state.parameters.values() if p is not None)
    flags = [(tensor, tensor.requires_grad) for tensor in chain(parameters, state_tensors.values())]
    try:
        yield
    finally:
        for state in states:
            state.restore()
        with torch.no_grad():
            for key, tensor in state_tensors.items():
                _put_back(tensor, copies[key])
        for tensor, requires_grad in flags:
            if tensor.is_leaf:
                tensor.requires_grad_(requires_grad)
