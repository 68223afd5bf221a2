"""`inspect_model`: one forward pass on the chosen device → a ModelReport. Wires the parts only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn
from torch.func import functional_call

from inspector.core.collect import ForwardFailure, ForwardTrace, kept_as_found, trace_forward
from inspector.core.devices import cuda_visible_devices, resolve_device
from inspector.core.dtypes import dtype_name, resolve_dtype
from inspector.core.errors import ForwardError, InvalidArgumentError
from inspector.core.flops import flops_counted
from inspector.core.inputs import make_inputs, run_call
from inspector.core.report import LayerReport, ModelReport
from inspector.core.shapes import shape_tree, tensors_in
from inspector.doctor.inputs import WholeModel
from inspector.model.stand_ins import converted_state, float_dtype, named_tensors, subtree_params
from models import ZOO

MODES = ("eval", "train")


def inspect_model(
    model: nn.Module,
    input_size: Sequence[int] | Sequence[Sequence[int]] | None = None,
    input_data: object = None,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
    *,
    input_dtype: str | torch.dtype | None = None,
    mode: str = "eval",
    name: str | None = None,
) -> ModelReport:
    """Return the report of one forward pass of `model` on `device`, leaving the model as found.

    Give the input as `input_size` (a shape, or a list of shapes for several inputs) or as
    `input_data` (a tensor, a tuple/list of tensors, or a dict of keyword tensors). `dtype` casts
    floating parameters and inputs for the inspection only. `mode` is the train/eval mode the
    forward runs in (eval by default, as for inference); the model's own modes are restored.
    One model instance is inspected by one thread at a time (its hooks see every forward); the
    app keeps a lock per cached model for that.
    """
    if not isinstance(model, nn.Module):
        raise InvalidArgumentError("errors_b.not_module", type=type(model).__name__)
    if mode not in MODES:
        raise InvalidArgumentError("errors_b.bad_mode", choices=", ".join(MODES), value=repr(mode))
    target = resolve_device(device)
    cast = resolve_dtype(dtype) if dtype is not None else None
    inputs = make_inputs(input_size, input_data, target, cast or float_dtype(model), input_dtype)
    named = list(model.named_modules())  # walked once: each walk is a generator per level, per module
    state = converted_state(model, target, cast, named)
    trace = _run(model, inputs, state, mode, name, named)
    return _build_report(model, name, target, cast, inputs, state, trace, mode, named)


def _run(
    model: nn.Module,
    inputs: object,
    state: dict[str, torch.Tensor] | None,
    mode: str,
    name: str | None = None,
    named: list[tuple[str, nn.Module]] | None = None,
) -> ForwardTrace:
    """Return the traced forward; the model is left as found (modes, attributes, buffers), also on failure."""
    named = list(model.named_modules()) if named is None else named
    try:
        with kept_as_found(model, (module for _, module in named)):
            model.train(mode == "train")
            if state is None:
                return trace_forward(model, lambda: run_call(model, inputs), named)
            return trace_forward(
                model, lambda: run_call(model, inputs, lambda *a, **k: functional_call(model, state, a, k)), named
            )
    except ForwardFailure as failure:
        raise _forward_error(model, failure, _whole_model(model, inputs, mode, name)) from None


def _whole_model(model: nn.Module, inputs: object, mode: str, name: str | None) -> WholeModel | None:
    """Return the failed forward as the doctor's input check sees it, or None when it is not one tensor."""
    single = inputs[0] if isinstance(inputs, (list, tuple)) and len(inputs) == 1 else inputs
    if not isinstance(single, torch.Tensor):
        return None
    entry = ZOO.get(name) if name is not None else None  # a zoo model's documented size is one to try
    default_size = entry.input_size if entry is not None else None
    return WholeModel(model, tuple(single.shape), single.dtype, mode, default_size)


def _forward_error(model: nn.Module, failure: ForwardFailure, whole: WholeModel | None = None) -> ForwardError:
    # Imported here: the doctor builds on the report types, which import nothing from this module.
    from inspector.core.shapes import format_shape_tree
    from inspector.doctor.diagnose import diagnose_failure

    where = failure.module_name or type(model).__name__
    kind = type(failure.module).__name__
    torch_message = str(failure.error).strip().splitlines()[0] if str(failure.error).strip() else repr(failure.error)
    shape = format_shape_tree(failure.input_shape)
    hint = diagnose_failure(failure.module, failure.input_shape, whole)  # a Message: translated with its key
    return ForwardError(
        "forward_failed",
        module_name=failure.module_name,
        module_type=kind,
        input_shape=failure.input_shape,
        torch_message=torch_message,
        where=where,
        kind=kind,
        shape=shape,
        diagnosis=hint,
    )


def _layer_reports(model: nn.Module, trace: ForwardTrace, named: list[tuple[str, nn.Module]]) -> list[LayerReport]:
    subtree = subtree_params(model)
    owners: dict[int, str] = {}
    layers = []
    for qualified, module in named:
        weights, tied, own, trainable = {}, {}, 0, 0
        # The module's own dicts: named_parameters(recurse=False) builds a generator tree per call.
        for short, param in module._parameters.items():
            if param is None:
                continue
            weights[short] = list(param.shape)
            full = f"{qualified}.{short}" if qualified else short
            if id(param) in owners:
                tied[short] = owners[id(param)]
                continue
            owners[id(param)] = full
            own += param.numel()
            trainable += param.numel() if param.requires_grad else 0
        record = trace.records[qualified]
        leaf = next(module.children(), None) is None
        layers.append(
            LayerReport(
                name=qualified,
                type=type(module).__name__,
                depth=qualified.count(".") + 1 if qualified else 0,
                input_shape=record.input_shape,
                output_shape=record.output_shape,
                weight_shapes=weights,
                buffer_shapes={short: list(b.shape) for short, b in module._buffers.items() if b is not None},
                params=own,
                trainable_params=trainable,
                params_total=subtree[qualified],
                flops=record.flops,
                calls=record.calls,
                is_leaf=leaf,
                tied=tied,
                flops_counted=flops_counted(module, record.flops) or record.calls == 0,
            )
        )
    return layers


def _bytes(tensors: Mapping[str, torch.Tensor] | list[torch.Tensor]) -> int:
    values = tensors.values() if isinstance(tensors, Mapping) else tensors
    return sum(t.numel() * t.element_size() for t in values)


def _build_report(
    model: nn.Module,
    name: str | None,
    target: torch.device,
    cast: torch.dtype | None,
    inputs: object,
    state: dict[str, torch.Tensor] | None,
    trace: ForwardTrace,
    mode: str,
    named: list[tuple[str, nn.Module]],
) -> ModelReport:
    own_params, own_buffers = named_tensors(named, "_parameters"), named_tensors(named, "_buffers")
    total = sum(p.numel() for p in own_params.values())
    trainable = sum(p.numel() for p in own_params.values() if p.requires_grad)
    # Sizes as inspected: with stand-ins, their dtype decides the bytes.
    placed = own_params if state is None else {k: state[k] for k in own_params}
    buffers = own_buffers if state is None else {k: state[k] for k in own_buffers}
    return ModelReport(
        model=name or type(model).__name__,
        device=str(target),
        dtype=dtype_name(cast or float_dtype(model)),
        input_size=shape_tree(inputs),
        output_shape=shape_tree(trace.output),
        total_params=total,
        trainable_params=trainable,
        non_trainable_params=total - trainable,
        buffers=sum(b.numel() for b in buffers.values()),
        param_bytes=_bytes(placed),
        buffer_bytes=_bytes(buffers),
        input_bytes=_bytes(tensors_in(inputs)),
        output_bytes=_bytes(tensors_in(trace.output)),
        flops=trace.total_flops,
        layers=_layer_reports(model, trace, named),
        mode=mode,
        cuda_visible_devices=cuda_visible_devices(),
    )
