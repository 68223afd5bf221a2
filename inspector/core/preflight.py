"""The peak memory of a forward pass, found by running the same forward on `meta` first.

On `meta` every op computes its output's shape and allocates nothing, so the same forward costs
milliseconds and no memory. A TorchDispatchMode sees each op's outputs: a storage that none of the
op's inputs had is new memory the real run would allocate (views and in-place results share their
input's storage and are counted once), and a weakref finalizer on that storage takes it off when
the forward drops it. The highest sum seen is the peak of live tensors: inputs, intermediates and
output. Parameters and buffers exist before the forward and are added separately.

Scratch memory a kernel allocates and frees inside one op is invisible on meta. The one that
matters on cpu is convolution's: oneDNN reorders its input and output into a blocked layout
(measured: the real peak of a Conv2d is about input + 2 × output; a transposed one's about
input + 3 × output), so a convolution adds that scratch at its moment. What is still left out
is the allocator's rounding; `tests/test_preflight.py` measures the real peak against the figure.
"""

from __future__ import annotations

import weakref
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from inspector.core.collect import ForwardFailure, trace_forward
from inspector.core.inputs import make_inputs, run_call


@dataclass(frozen=True)
class Preflight:
    """The memory a real run will need, in bytes: what it holds before the forward, and the forward's peak."""

    device: str
    resident_bytes: int  # parameters and buffers, in the dtype the run uses
    forward_bytes: int  # peak of live tensors during the forward: inputs, intermediates, output
    flops: int = 0  # the forward's FLOPs as FlopCounterMode counts them: what the run will take in time
    complete: bool = True  # False when the meta forward failed part way: a lower bound up to that op

    @property
    def total_bytes(self) -> int:
        """Return the peak of the whole run: resident plus the forward's peak."""
        return self.resident_bytes + self.forward_bytes


class StoragePeak(TorchDispatchMode):
    """Tracks the bytes of storages that ops create, while they live, and their highest sum."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False  # no torch._dynamo import (1.5 s) on the first op: see inspector.core.flops._count_op

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0
        self._counted: set[int] = set()

    def __torch_dispatch__(
        self, func: Any, types: Collection[type], args: tuple = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        output = func(*args, **(kwargs or {}))
        given = {id(t.untyped_storage()) for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)}
        for tensor in tree_flatten(output)[0]:
            if isinstance(tensor, torch.Tensor):
                self._count(tensor.untyped_storage(), given)
        self.peak = max(self.peak, self.live + _scratch(func, args, output))
        return output

    def _count(self, storage: torch.UntypedStorage, given: set[int]) -> None:
        key = id(storage)  # torch keeps one Python object per storage while it lives
        if key in given or key in self._counted:
            return
        size = storage.nbytes()
        self._counted.add(key)
        self.live += size
        self.peak = max(self.peak, self.live)
        weakref.finalize(storage, self._free, key, size)

    def _free(self, key: int, size: int) -> None:
        self._counted.discard(key)
        self.live -= size


def _nbytes(value: object) -> int:
    return value.untyped_storage().nbytes() if isinstance(value, torch.Tensor) else 0


def _scratch(func: object, args: tuple, output: object) -> int:
    """Return the bytes op `func` needs for itself while it runs, beside its inputs and output."""
    if func is not torch.ops.aten.convolution.default:
        return 0
    transposed = bool(args[6]) if len(args) > 6 else False
    # oneDNN's reordered copies: the input once, the output once (twice for a transposed one).
    return _nbytes(args[0]) + _nbytes(output) * (2 if transposed else 1)


def resident_bytes(module: nn.Module, dtype: torch.dtype | None = None) -> int:
    """Return the bytes of `module`'s parameters and buffers, floating ones counted in `dtype` if given."""
    total = 0
    for tensor in [*module.parameters(), *module.buffers()]:
        itemsize = dtype.itemsize if dtype is not None and tensor.is_floating_point() else tensor.element_size()
        total += tensor.numel() * itemsize
    return total


def forward_peak(
    model: nn.Module,
    input_size: object,
    float_dtype: torch.dtype,
    input_dtype: torch.dtype | str | None = None,
    mode: str = "eval",
) -> tuple[int, int, bool]:
    """Return the peak bytes of live tensors in `model`'s forward on `input_size`, its FLOPs, and whether it finished.

    `model` must be on meta (it is run there). The forward is the app's own (`trace_forward`: hooks,
    FLOP counter, no grad), so it takes the same path as the real run. A forward that fails gives
    the peak up to the failing op and False: the real run reports the failure itself.
    """
    meta = torch.device("meta")
    modes = [(module, module.training) for module in model.modules()]
    tracker = StoragePeak()
    try:
        model.train(mode == "train")
        with tracker:
            inputs = make_inputs(input_size, None, meta, float_dtype, input_dtype)
            trace = trace_forward(model, lambda: run_call(model, inputs))
    except ForwardFailure:
        return tracker.peak, 0, False
    finally:
        for module, training in modes:
            module.training = training
    return tracker.peak, trace.total_flops, True


def forward_backward_peak(model: nn.Module, input_size: tuple[int, ...], input_dtype: torch.dtype) -> int:
    """Return the peak bytes of live tensors in one forward and backward of `model` (on meta), gradients included.

    The loss is a mean-squared error of the first floating output against a tensor of its shape, as
    the init explorer measures gradients. A pass that fails gives the peak up to the failing op.
    """
    tracker = StoragePeak()
    try:
        with tracker, torch.enable_grad():
            make = torch.empty if input_dtype.is_floating_point else torch.zeros
            inputs = make(input_size, dtype=input_dtype, device="meta")
            outputs = [t for t in tree_flatten(model(inputs))[0] if isinstance(t, torch.Tensor)]
            output = next((t for t in outputs if t.is_floating_point()), None)
            if output is not None and output.requires_grad:
                torch.nn.functional.mse_loss(output, torch.empty_like(output)).backward()
    except (RuntimeError, ValueError, TypeError, IndexError, NotImplementedError):
        pass
    return tracker.peak
