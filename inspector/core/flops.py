"""FLOP counting that gives FlopCounterMode's numbers, faster per op and on repeated blocks.

Most ops (views, adds, softmax, mm) cannot decompose: each is run and counted by its formula
directly, without FlopCounterMode's attempt to decompose it first (`FlopCounter.route`).
FlopCounterMode decomposes every other op that has no FLOP formula, to find formulas inside it (a
layer_norm into prims, an attention into matmuls); in Python that dominates a transformer's
inspection. The count of such an op depends only on its overload and its arguments' shapes,
dtypes and plain values, so the first call of each signature is counted the normal way and the
result reused for every later call with the same signature (the 31 other blocks of a 32-block
decoder). On meta, where a result is only a shape, the repeat call also skips the op's (Python)
meta kernel and returns a fresh tensor of the remembered layout. Module attribution is done by
our hooks, so the counter keeps one running total. `EXTRA_FORMULAS` adds the formulas
FlopCounterMode lacks (see there); `UNCOUNTED_LAYERS` names the layers whose arithmetic it never counts.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Hashable
from typing import Any

import torch
from torch import nn
from torch.nn.modules import activation, batchnorm, normalization, pooling, rnn
from torch.utils.flop_counter import FlopCounterMode, _FlopCounterMode, sdpa_flop_count, shape_wrapper


def _cpu_flash_attention_flop(
    query_shape: torch.Size, key_shape: torch.Size, value_shape: torch.Size, *args: object, **kwargs: object
) -> int:
    """Return torch's own attention formula for the CPU flash kernel, which its registry lacks."""
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def fused_rnn_layer_flop(
    input_shape: torch.Size,
    weight_ih_shape: torch.Size,
    weight_hh_shape: torch.Size,
    *args: object,
    **kwargs: object,
) -> int:
    """Return our formula for one fused CPU recurrent layer: 2 · steps · gates · (I + H) FLOPs.

    nn.LSTM on float32 CPU runs `aten.mkldnn_rnn_layer`, one op per layer and direction, which
    FlopCounterMode neither counts nor decomposes (its LSTM would read 0). Each time step of each
    sequence multiplies the input by W_ih (gates × I) and the hidden state by W_hh (gates × H):
    2 · T · B · 4H · (I + H) for an LSTM, the count FlopCounterMode gives an LSTMCell unrolled over T
    (bias and the gates' element-wise ops are not counted, as for Linear). `steps` is T · B, or the
    sum of `batch_sizes` for a packed sequence. Argument order: torch's schema of mkldnn_rnn_layer.
    """
    batch_sizes = args[5] if len(args) > 5 else kwargs.get("batch_sizes")
    if isinstance(batch_sizes, list | tuple) and batch_sizes:  # int[] in the schema: a packed sequence
        steps = sum(batch_sizes)
    else:
        steps = input_shape[0] * input_shape[1]
    gates, inputs = weight_ih_shape
    return 2 * steps * gates * (inputs + weight_hh_shape[1])


# On CPU, F.scaled_dot_product_attention runs an op that FlopCounterMode neither counts nor
# decomposes, so attention's two matmuls would vanish on cpu yet count on meta and cuda. This
# gives that op the formula torch uses for the CUDA flash kernel; pass it as `custom_mapping`.
# nn.LSTM's fused CPU kernel gets our formula (it decomposes into counted matmuls on meta).
EXTRA_FORMULAS: dict[Any, Callable[..., int]] = {
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _cpu_flash_attention_flop,
    torch.ops.aten.mkldnn_rnn_layer: fused_rnn_layer_flop,
}

# Layers whose work FlopCounterMode never counts: it has formulas for matmul- and conv-like ops
# only, so pooling, normalisation and activations read 0 although they compute. A recurrent
# layer joins them when its fused kernel has no formula on that device (an LSTM on cuda).
# Taken from torch's own module lists; MultiheadAttention is a matmul layer, the unpoolings only move values.
UNCOUNTED_LAYERS: tuple[type[nn.Module], ...] = (
    *(getattr(activation, name) for name in activation.__all__ if name != "MultiheadAttention"),
    *(getattr(pooling, name) for name in pooling.__all__ if not name.startswith("MaxUnpool")),
    batchnorm._NormBase,
    *(getattr(normalization, name) for name in normalization.__all__),
    rnn.RNNBase,
    rnn.RNNCellBase,
)


def flops_counted(module: nn.Module, flops: int) -> bool:
    """Return False when `module`'s `flops` of 0 means "not counted" (its arithmetic has no formula), not "none"."""
    return flops > 0 or next(module.children(), None) is not None or not isinstance(module, UNCOUNTED_LAYERS)


def _signature(value: object) -> Hashable:
    if isinstance(value, torch.Tensor):
        return ("T", tuple(value.shape), value.stride(), value.dtype, value.device.type)
    if isinstance(value, (list, tuple)):
        return tuple(_signature(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((key, _signature(item)) for key, item in value.items()))
    if isinstance(value, (int, float, bool, str, type(None), torch.dtype, torch.device, torch.memory_format)):
        return value
    raise TypeError  # anything else: not memoized, counted the normal way


# The dispatch protocol passes ops, arguments and results untyped (torch annotates none of it): Any below.
def _meta_functional(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    """Return whether `out` may be replaced by fresh tensors of its layout on a repeat call.

    True for ops on meta tensors that neither alias nor mutate (per their schema) and return
    plain tensors: there is no data, so a fresh tensor of the same shape, stride and dtype is
    the same result, without rerunning the (Python) meta kernel.
    """
    schema = func._schema
    if any(arg.alias_info is not None for arg in schema.arguments) or any(
        ret.alias_info is not None for ret in schema.returns
    ):
        return False
    outs = out if isinstance(out, (tuple, list)) else (out,)
    if not outs or not all(type(t) is torch.Tensor and t.device.type == "meta" for t in outs):
        return False
    tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]
    return all(t.device.type == "meta" for t in tensors)


def _layout(out: Any) -> tuple[Any, ...]:
    if isinstance(out, (tuple, list)):
        return (type(out), tuple(_layout(t) for t in out))
    return (out.shape, out.stride(), out.dtype, out.requires_grad)


def _fresh(layout: tuple[Any, ...]) -> Any:
    if isinstance(layout[0], type):
        return layout[0](tuple(_fresh(item) for item in layout[1]))
    shape, stride, dtype, requires_grad = layout
    return torch.empty_strided(shape, stride, dtype=dtype, device="meta", requires_grad=requires_grad)


# torch wraps every dispatch mode's `__torch_dispatch__` in `torch._dynamo.disable`, whose first call
# imports torch._dynamo: 1.5 s on a quiet machine, a third of a CLI run. That wrapper only matters
# under torch.compile, which an inspection never runs: the mode calls the plain function it wraps
# (`__wrapped__`, set by functools.wraps) and has its own left unwrapped (`_should_skip_dynamo`).
_count_op = _FlopCounterMode.__torch_dispatch__.__wrapped__  # type: ignore[attr-defined]  # set by functools.wraps

# The ops FlopCounterMode treats its own way: sizes and strides of non-standard tensors (NotImplemented)
# and prim.device (never decomposed); they go through its code.
_NOT_RUN = frozenset(
    getattr(torch.ops.aten, name).default
    for name in ("sym_is_contiguous", "is_contiguous", "is_non_overlapping_and_dense", "size", "sym_size")
) | {
    torch.ops.aten.is_contiguous.memory_format,
    torch.ops.aten.is_strides_like_format.default,
    torch.ops.aten.stride.default,
    torch.ops.aten.sym_stride.default,
    torch.ops.aten.storage_offset.default,
    torch.ops.aten.sym_storage_offset.default,
    torch.ops.aten.numel.default,
    torch.ops.aten.sym_numel.default,
    torch.ops.aten.dim.default,
    torch.ops.prim.layout.default,
    torch.ops.prim.device.default,  # never decomposed by FlopCounterMode
}


# torch registers most formulas through `shape_wrapper`, which turns the op's tensors into shapes with
# pytree's tree_map: about as costly in Python as the rest of an op's dispatch, and addmm's formula calls
# mm's wrapped one, paying it twice. `_direct` calls the same formula on shapes we take ourselves.
_WRAPPED = shape_wrapper(lambda: 0).__code__
_LEAVES = frozenset({int, float, bool, str, type(None), torch.dtype, torch.device, torch.memory_format, torch.layout})


class _Unusual(Exception):
    """An argument that `_shapes` does not take apart as tree_map would: the formula's own wrapper handles it."""


def _shapes(value: Any) -> Any:
    """Return tree_map(get_shape, value) (torch's wrapper) for tensors in plain lists, tuples and dicts."""
    kind = type(value)
    if kind is torch.Tensor or kind is nn.Parameter:
        return value.shape
    if kind is tuple or kind is torch.Size:  # pytree takes a Size apart too, and gives a tuple back
        return tuple(_shapes(item) for item in value)
    if kind is list:
        return [_shapes(item) for item in value]
    if kind is dict:
        return {key: _shapes(item) for key, item in value.items()}
    if kind in _LEAVES:
        return value
    raise _Unusual


_PLAIN: dict[Any, Any] = {}  # a function of torch's FLOP code (or ours) → the same code, calling formulas unwrapped


def _global_names(code: types.CodeType) -> set[str]:
    """Return the names `code` and the code nested in it (comprehensions, inner functions) may look up as globals."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _plain(fn: Any) -> Any:
    """Return `fn` with shape_wrapper taken off it and off the FLOP functions it calls by global name.

    The same code: a copy whose globals bind those names to their plain versions, so addmm's formula
    calls mm's, and sdpa_flop_count calls bmm's, on the shapes it has. Only functions of torch's
    flop_counter module and of this one are followed; shapes stay shapes, so the numbers are the same.
    """
    if getattr(fn, "__code__", None) is _WRAPPED:
        return _plain(fn.__wrapped__)
    if not isinstance(fn, types.FunctionType) or fn.__module__ not in _FOLLOWED:
        return fn
    known = _PLAIN.get(fn)
    if known is not None:
        return known
    _PLAIN[fn] = fn  # while its callees are looked at (a recursive formula)
    swaps = {}
    for name in _global_names(fn.__code__):
        inner = fn.__globals__.get(name)
        if isinstance(inner, types.FunctionType) and inner is not fn and (plain := _plain(inner)) is not inner:
            swaps[name] = plain
    if swaps:
        scope = {**fn.__globals__, **swaps}
        copy = types.FunctionType(fn.__code__, scope, fn.__name__, fn.__defaults__, fn.__closure__)
        copy.__kwdefaults__ = fn.__kwdefaults__
        _PLAIN[fn] = copy
    return _PLAIN[fn]


_FOLLOWED = frozenset({shape_wrapper.__module__, __name__})
_DIRECT: dict[Any, Any] = {}  # torch's wrapped formula → the same formula on our shapes


def _direct(formula: Any) -> Any:
    """Return `formula` (a FLOP formula as registered) counting from the op's arguments without tree_map.

    The same function (`_plain`), called with the shapes shape_wrapper would pass it. One that is
    not wrapped (a raw formula, which takes the arguments themselves) is returned as it is.
    """
    if getattr(formula, "__code__", None) is not _WRAPPED:
        return formula
    known = _DIRECT.get(formula)
    if known is not None:
        return known
    raw = _plain(formula)

    def count(*args: Any, out_val: Any = None, **kwargs: Any) -> Any:
        try:
            shapes, named, out_shape = _shapes(args), _shapes(kwargs), _shapes(out_val)
        except _Unusual:
            return formula(*args, out_val=out_val, **kwargs)
        return raw(*shapes, out_shape=out_shape, **named)

    _DIRECT[formula] = count
    return count


_UNROUTED = object()  # an op not seen yet
_SPECIAL = object()  # an op that takes FlopCounterMode's own path (see FlopCounter.route)


class _MemoizedMode(_FlopCounterMode):
    counter: FlopCounter  # the counter it was made with (torch types it as the plain FlopCounterMode)

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False

    def __torch_dispatch__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        kwargs = kwargs or {}
        counter = self.counter
        # Most ops (mm, views, adds, softmax) neither decompose nor take torch's special paths: they
        # run and are counted by their formula, if they have one, as FlopCounterMode does; without its
        # attempt to decompose them under a re-entered mode first, which is most of its cost per op.
        # The route is looked up by id: an OpOverload's own __hash__ is Python, and ops live forever.
        route = counter.routes.get(id(func), _UNROUTED)
        if route is _UNROUTED:
            route = counter.route(func)
        if route is not _SPECIAL:
            out = func(*args, **kwargs)
            if route is not None:
                counter.total += route(*args, **kwargs, out_val=out)
            return out
        if isinstance(func, torch._ops.HigherOrderOperator) or func in _NOT_RUN:  # torch's own paths
            return _count_op(self, func, types, args, kwargs)
        try:
            key = (func, _signature(args), _signature(kwargs))
        except TypeError:
            return _count_op(self, func, types, args, kwargs)
        if key in counter.memo:
            counter.total += counter.memo[key]
            layout = counter.outputs.get(key)
            return func(*args, **kwargs) if layout is None else _fresh(layout)
        before = counter.total
        out = _count_op(self, func, types, args, kwargs)
        counter.memo[key] = counter.total - before
        if _meta_functional(func, args, kwargs, out):
            counter.outputs[key] = _layout(out)
        return out


class FlopCounter(FlopCounterMode):
    """A FlopCounterMode with one running total (`get_total_flops`) and memoized decompositions."""

    def __init__(self) -> None:
        super().__init__(display=False, custom_mapping=EXTRA_FORMULAS)
        self.total = 0
        self.memo: dict[Hashable, int] = {}
        self._composite: dict[object, bool] = {}
        self.routes: dict[int, Any] = {}  # id(op) → its formula, None (none) or _SPECIAL (see route)
        self.outputs: dict[Hashable, tuple[Any, ...]] = {}

    def __enter__(self) -> FlopCounter:
        self.total = 0
        self.mode = _MemoizedMode(self)
        self.mode.__enter__()
        return self

    def __exit__(self, *args: object) -> bool | None:
        assert self.mode is not None, "__enter__ set it"
        result: bool | None = self.mode.__exit__(*args)
        self.mode = None
        return result

    def _count_flops(self, func_packet: Any, out: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if func_packet in self.flop_registry:
            self.total += _direct(self.flop_registry[func_packet])(*args, **kwargs, out_val=out)
        return out

    def route(self, func: Any) -> Any:
        """Return and remember `func`'s FLOP formula or None, or _SPECIAL when it needs more than a run and a count.

        _SPECIAL: a higher-order op, an op FlopCounterMode treats its own way (`_NOT_RUN`), or one it
        would decompose (the decomposition's ops are counted, and memoized).
        """
        special = isinstance(func, torch._ops.HigherOrderOperator) or func in _NOT_RUN or self.decomposes(func)
        formula = None if special else self.flop_registry.get(func._overloadpacket)
        route = _SPECIAL if special else (formula and _direct(formula))
        self.routes[id(func)] = route
        return route

    def decomposes(self, func: torch._ops.OpOverload) -> bool:
        """Return whether FlopCounterMode would decompose `func` (it has a CompositeImplicit kernel)."""
        known = self._composite.get(func)
        if known is None:
            known = self._composite[func] = func._can_decompose()
        return known

    def get_total_flops(self) -> int:
        """Return the FLOPs counted so far in this context."""
        return self.total
