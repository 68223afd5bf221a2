"""The saved activations of one training forward, counted without allocating them.

One forward and the loss run in train mode on tensors that hold no memory (meta, or FakeTensorMode
on the target device) under `torch.autograd.graph.saved_tensors_hooks`: each storage autograd saves
is counted once and attributed to the innermost module running when it was saved. A failure
becomes a ForwardError naming that module.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import torch
from torch import nn
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.func import functional_call

from inspector.core.errors import ForwardError
from inspector.core.shapes import ShapeTree, format_shape_tree, shape_tree
from inspector.doctor.diagnose import diagnose_failure
from inspector.planner.choices import COMPUTE_DTYPE, LossName, Precision
from inspector.planner.subject import Subject, compute_loss, make_targets

LOSS_LAYER = "(loss)"  # the breakdown's name for what the loss function saves


@dataclass(frozen=True)
class LayerActivations:
    """Saved-activation bytes attributed to one module: the innermost one running when saved."""

    name: str
    type: str
    bytes: int
    tensors: int


@dataclass(frozen=True)
class SavedTensors:
    """Saved bytes per module, the output's shape, the output when nothing saved it, inputs and targets."""

    layers: tuple[LayerActivations, ...]
    output_shape: tuple[int, ...]
    outputs: int
    inputs: int


def _storage_key(tensor: torch.Tensor) -> int:
    # On meta and fake tensors data_ptr() is 0 for every tensor, so it cannot tell storages apart.
    # `_cdata` is the address of the C++ StorageImpl that all views of one tensor share; two live
    # storages never share it, and `collect_saved_tensors` keeps every storage it has seen alive until it ends,
    # so an address cannot be reused for a new storage while it is being counted.
    return tensor.untyped_storage()._cdata


@contextlib.contextmanager
def _innermost_module(model: nn.Module) -> Iterator[tuple[list[str], dict[str, ShapeTree]]]:
    """Yield a stack whose last entry names the module running now, and each module's latest input shape."""
    stack = [""]
    received: dict[str, ShapeTree] = {}
    handles = []

    def enter(name: str) -> Callable[..., None]:
        def hook(_module: nn.Module, args: tuple) -> None:  # None: the input is left alone
            stack.append(name)
            received[name] = shape_tree(args[0] if len(args) == 1 else list(args))

        return hook

    def leave(*_: object) -> None:  # returns None: a forward hook's return value would replace the output
        stack.pop()  # not called when the forward raises, so the failing module stays on top

    try:
        for name, module in model.named_modules():
            handles.append(module.register_forward_pre_hook(enter(name)))
            handles.append(module.register_forward_hook(leave))
        yield stack, received
    finally:
        for handle in handles:
            handle.remove()


@contextlib.contextmanager
def _training_mode(model: nn.Module) -> Iterator[None]:
    modes = [(module, module.training) for module in model.modules()]
    try:
        model.train()  # training memory: dropout masks and batch statistics are saved in train mode
        yield
    finally:
        for module, training in modes:
            module.training = training


def _stand_ins(model: nn.Module, device: torch.device, compute: torch.dtype) -> dict[str, torch.Tensor]:
    """Return memory-free stand-ins for every parameter and buffer; tied names share one stand-in."""
    made: dict[int, torch.Tensor] = {}
    state = {}
    named = [*model.named_parameters(remove_duplicate=False), *model.named_buffers(remove_duplicate=False)]
    for name, tensor in named:
        if id(tensor) not in made:
            dtype = compute if tensor.is_floating_point() else tensor.dtype
            made[id(tensor)] = torch.empty(tensor.shape, dtype=dtype, device=device).requires_grad_(
                tensor.requires_grad and isinstance(tensor, nn.Parameter)
            )
        state[name] = made[id(tensor)]
    return state


def collect_saved_tensors(
    subject: Subject, batch: int, precision: Precision, loss: LossName, device: torch.device
) -> SavedTensors:
    """Run forward and loss on memory-free tensors; return saved bytes per module, output and input sizes."""
    compute = COMPUTE_DTYPE[precision]
    model = subject.model
    types = {name: type(module).__name__ for name, module in model.named_modules()}
    seen: dict[int, torch.UntypedStorage] = {}
    per_layer: dict[str, list[int]] = {}
    # Meta runs device-independent kernels; FakeTensorMode runs the target device's own choices
    # (e.g. flash attention, which saves far less than the math path) and still allocates nothing.
    memory_free = contextlib.nullcontext() if device.type == "meta" else FakeTensorMode(allow_non_fake_inputs=True)
    with memory_free, _training_mode(model), _innermost_module(model) as (stack, received), torch.enable_grad():
        state = _stand_ins(model, device, compute)
        inputs = [_input((batch, *shape), subject.token_dtype or compute, device) for shape in subject.sample_shapes]
        excluded = {_storage_key(t) for t in [*state.values(), *inputs]}  # counted as parameters / inputs

        def pack(tensor: torch.Tensor) -> torch.Tensor:
            storage = tensor.untyped_storage()
            key = _storage_key(tensor)
            if key not in excluded and key not in seen:
                seen[key] = storage  # kept alive: see _storage_key
                record = per_layer.setdefault(stack[-1], [0, 0])
                record[0] += storage.nbytes()
                record[1] += 1
            return tensor

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
            output = _guarded(lambda: functional_call(model, state, tuple(inputs)), model, stack, received)
            token_model = subject.token_dtype is not None
            targets = make_targets(output, loss, token_model)
            excluded.add(_storage_key(targets))
            stack.append(LOSS_LAYER)
            _guarded(lambda: compute_loss(output, targets, loss, token_model), model, stack, received)
        unsaved_output = 0 if _storage_key(output) in seen else output.untyped_storage().nbytes()
        input_bytes = sum(t.untyped_storage().nbytes() for t in [*inputs, targets])
    layers = tuple(
        LayerActivations(name or subject.label, types.get(name, "loss"), b, n) for name, (b, n) in per_layer.items()
    )
    return SavedTensors(layers, tuple(output.shape), unsaved_output, input_bytes)


def _input(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    if dtype.is_floating_point:
        return torch.empty(shape, dtype=dtype, device=device)
    return torch.zeros(shape, dtype=dtype, device=device)  # token id 0 exists in every vocabulary


Result = TypeVar("Result")


def _guarded(
    action: Callable[[], Result], model: nn.Module, stack: list[str], received: dict[str, ShapeTree]
) -> Result:
    """Return `action()`; torch's errors become a ForwardError naming the module that was running."""
    try:
        return action()
    except (RuntimeError, ValueError, TypeError, IndexError, AssertionError) as error:
        name = stack[-1]
        module = None if name == LOSS_LAYER else model.get_submodule(name)
        kind = "loss" if module is None else type(module).__name__
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        shape = received.get(name)
        model_fix = diagnose_failure(module, shape) if module is not None else None
        raise ForwardError(
            "planner.forward_failed",
            hint_key=None if model_fix else "planner.forward_failed_no_fix",  # then only the input and loss are left
            where=name or type(model).__name__,
            shape=format_shape_tree(shape),
            fix=model_fix,
            module_name=name,
            module_type=kind,
            input_shape=shape,
            torch_message=message,
        ) from None
