"""`inspect_layer`: build one real torch layer from its arguments, run it, and explain its numbers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from inspector.core.devices import resolve_device
from inspector.core.dtypes import dtype_name, resolve_dtype
from inspector.core.errors import InvalidArgumentError
from inspector.core.memory_guard import check_fits, reserve
from inspector.core.messages import Message, msg
from inspector.core.preflight import Preflight, forward_peak, resident_bytes
from inspector.core.report import ModelReport
from inspector.core.shapes import ShapeTree, format_shape_tree, validate_size
from inspector.core.worked import Worked
from inspector.lab.arithmetic_plan import linear_forward
from inspector.lab.outputs import keeps_shape, named_outputs
from inspector.layers.args import ArgValue, arg_int, normalize_args
from inspector.layers.formulas import output_formulas, padding_suggestions, parameter_formula, receptive_fields
from inspector.layers.specs import CallStyle, LayerSpec, get_layer_spec
from inspector.model.inspection import inspect_model


@dataclass(frozen=True)
class TensorInfo:
    """A parameter or buffer of the real layer: name, shape, element count, dtype, trainable."""

    name: str
    shape: list[int]
    numel: int
    dtype: str
    requires_grad: bool


@dataclass(frozen=True)
class LayerInspection:
    """Everything about one layer: measured by torch, next to the formulas that predict it."""

    layer_type: str
    args: dict[str, ArgValue]
    constructor: str
    math: Message  # the layer's math line, `layer_math.<layer_type>`
    device: str
    dtype: str
    input_shape: ShapeTree
    input_dims: list[str]
    output_shape: ShapeTree
    output_formulas: list[tuple[str, Worked]]
    formulas_match: bool | None
    parameters: list[TensorInfo]
    buffers: list[TensorInfo]
    param_count: int
    param_formula: Worked | None
    padding_suggestions: list[dict[str, object]]
    receptive_field: list[list[dict[str, object]]]
    matmul: str | None
    flops: int
    report: ModelReport = field(repr=False)
    notes: list[str] = field(default_factory=list)

    @property
    def macs(self) -> int:
        """Return multiply–accumulates: FLOPs / 2."""
        return self.flops // 2

    @property
    def output_parts(self) -> list[tuple[str, list[int]]]:
        """Return (torch's name, measured shape) per tensor when the layer returns a tuple, else []."""
        return named_outputs(get_layer_spec(self.layer_type).layer_class, self.output_shape)

    @property
    def keeps_shape(self) -> bool:
        """Return whether torch's output has exactly the input's shape."""
        return keeps_shape(self.input_shape, self.output_shape)

    def to_dict(self) -> dict[str, object]:
        """Return the JSON document of the `layer` command (README, "JSON schema")."""
        data = asdict(self)
        data.pop("report")
        data["output_formulas"] = [{"dimension": dim, **worked.to_dict()} for dim, worked in self.output_formulas]
        data["param_formula"] = self.param_formula.to_dict() if self.param_formula else None
        data["macs"] = self.macs
        data["model_report"] = self.report.to_dict()
        return data


def constructor_code(spec: LayerSpec, args: Mapping[str, ArgValue]) -> str:
    """Return the Python that builds this layer, e.g. `nn.Conv2d(in_channels=1, …)`."""
    changed = [f"{name}={value!r}" for name, value in args.items()]
    return f"nn.{spec.name}({', '.join(changed)})"


def _input_shapes(spec: LayerSpec, args: Mapping[str, ArgValue], input_shape: object) -> list[tuple[int, ...]]:
    if input_shape is None:
        shape = spec.default_input(dict(args))
    elif isinstance(input_shape, Sequence) and input_shape and not isinstance(input_shape[0], int):
        shapes = [validate_size(item) for item in input_shape]
        if spec.call_style is CallStyle.PAIR and len(shapes) == 2:
            return shapes
        shape = shapes[0]
    else:
        shape = validate_size(input_shape)
    if spec.call_style is CallStyle.PAIR:  # Bilinear: the second input matches except its features
        return [shape, (*shape[:-1], arg_int(args, "in2_features"))]
    if spec.call_style is CallStyle.SELF_ATTENTION:
        return [shape, shape, shape]
    return [shape]


def build_layer(
    spec: LayerSpec, args: Mapping[str, ArgValue], device: torch.device, dtype: torch.dtype | None
) -> nn.Module:
    """Return the real layer built directly on `device` (after a memory check), cast to `dtype`.

    The one place that turns a spec and checked arguments into a torch module.
    """
    if device.type != "meta":
        with torch.device("meta"):
            probe = _construct(spec, args)
        itemsize = dtype.itemsize if dtype else 4
        check_fits(
            sum(p.numel() for p in probe.parameters()) * itemsize, device, msg("engine.lab.this_layer", layer=spec.name)
        )
    with torch.device(device):
        layer = _construct(spec, args)
    return layer.to(dtype) if dtype is not None else layer


def preflight_layer(
    layer_type: str,
    args: Mapping[str, object] | None = None,
    input_shape: Sequence[int] | Sequence[Sequence[int]] | None = None,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
) -> Preflight:
    """Return the peak memory `inspect_layer` will need with these settings, found on meta (nothing allocated)."""
    spec = get_layer_spec(layer_type)
    values = normalize_args(spec.args, args, spec.name)
    cast = resolve_dtype(dtype) if dtype is not None else None
    shapes = _input_shapes(spec, values, input_shape)
    return layer_preflight(spec, values, shapes if len(shapes) > 1 else shapes[0], resolve_device(device), cast)


def layer_preflight(
    spec: LayerSpec, args: Mapping[str, ArgValue], size: object, device: torch.device, dtype: torch.dtype | None
) -> Preflight:
    """Return the peak memory `inspect_layer` will need on `device`, found by the same run on meta."""
    probe = build_layer(spec, args, torch.device("meta"), dtype)
    float_dtype = dtype or torch.get_default_dtype()
    input_dtype = spec.input_dtype if spec.input_dtype != torch.float32 else None
    known = linear_forward(spec, dict(args), size, float_dtype)  # exact, without the meta run's imports
    peak, flops, complete = known or forward_peak(probe, size, float_dtype, input_dtype)
    resident = resident_bytes(probe)
    if dtype is not None:  # built in the default dtype, then cast: both copies exist for a moment
        resident += resident_bytes(probe, torch.get_default_dtype())
    return Preflight(str(device), resident, peak, flops, complete)


def _construct(spec: LayerSpec, args: Mapping[str, ArgValue]) -> nn.Module:
    try:
        return spec.layer_class(**args)
    except (ValueError, TypeError, RuntimeError, AssertionError) as error:
        code = constructor_code(spec, args)
        raise InvalidArgumentError("errors_a.torch_refused", code=code, reason=str(error)) from None


def _tensors(layer: nn.Module, buffers: bool) -> list[TensorInfo]:
    items = layer.named_buffers() if buffers else layer.named_parameters()
    return [TensorInfo(name, list(t.shape), t.numel(), dtype_name(t.dtype), t.requires_grad) for name, t in items]


def _matmul(spec: LayerSpec, args: Mapping[str, ArgValue], shape: tuple[int, ...]) -> str | None:
    if spec.layer_class is not nn.Linear:
        return None
    lead = ", ".join(["N", *(str(dim) for dim in shape[1:-1])])
    fin, fout = args["in_features"], args["out_features"]
    bias = f" + ({fout},)" if args["bias"] else ""
    return msg("layer_text.matmul", lead=lead, fin=fin, fout=fout, bias=bias)


def inspect_layer(
    layer_type: str,
    args: Mapping[str, object] | None = None,
    input_shape: Sequence[int] | Sequence[Sequence[int]] | None = None,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
) -> LayerInspection:
    """Return what the real layer `layer_type(**args)` holds and does to `input_shape`, and why.

    Arguments are checked and defaulted from the layer's spec; the output-size formulas are
    evaluated first, so an impossible setting is explained before torch is asked.
    """
    spec = get_layer_spec(layer_type)
    values = normalize_args(spec.args, args, spec.name)
    target = resolve_device(device)
    cast = resolve_dtype(dtype) if dtype is not None else None
    shapes = _input_shapes(spec, values, input_shape)
    ndim = spec.spatial_ndim
    if ndim and len(shapes[0]) < ndim + 1:
        raise InvalidArgumentError(
            "errors_a.too_few_dims",
            layer=spec.name,
            ndim=ndim + 1,
            dims=", ".join(spec.input_dims(values)[2:]),
            shape=shapes[0],
        )
    formulas = output_formulas(spec.layer_class, values, shapes[0], ndim)
    param_formula = parameter_formula(spec.layer_class, values)  # explains e.g. groups before torch does
    size = shapes if len(shapes) > 1 else shapes[0]
    input_dtype = spec.input_dtype if spec.input_dtype != torch.float32 else None
    plan = layer_preflight(spec, values, size, target, cast)
    with reserve(plan, target, msg("engine.lab.this_layer", layer=spec.name)):  # refused before allocating
        layer = build_layer(spec, values, target, cast)
        report = inspect_model(layer, input_size=size, device=target, input_dtype=input_dtype, name=spec.name)
    return _assemble(spec, values, layer, report, shapes, formulas, param_formula, target)


def _assemble(
    spec: LayerSpec,
    values: dict[str, ArgValue],
    layer: nn.Module,
    report: ModelReport,
    shapes: list[tuple[int, ...]],
    formulas: tuple[Worked, ...],
    param_formula: Worked | None,
    target: torch.device,
) -> LayerInspection:
    ndim = spec.spatial_ndim
    out = report.output_shape
    measured = out[-ndim:] if ndim and isinstance(out, list) and all(isinstance(d, int) for d in out) else None
    labels = [name.removesuffix("_in") + "_out" for name in spec.input_dims(values)[-ndim:]] if ndim else []
    notes = list(spec.notes)
    if ndim and len(shapes[0]) == ndim + 1:
        given = format_shape_tree(list(shapes[0]))
        notes.append(msg("notes.unbatched", shape=given))
    return LayerInspection(
        layer_type=spec.name,
        args=dict(values),
        constructor=constructor_code(spec, values),
        math=spec.math,
        device=str(target),
        dtype=report.dtype,
        input_shape=report.input_size,
        input_dims=list(spec.input_dims(values)),
        output_shape=out,
        output_formulas=list(zip(labels, formulas, strict=False)),
        formulas_match=[w.value for w in formulas] == measured if formulas else None,
        parameters=_tensors(layer, buffers=False),
        buffers=_tensors(layer, buffers=True),
        param_count=report.total_params,
        param_formula=param_formula,
        padding_suggestions=[asdict(s) for s in padding_suggestions(spec.layer_class, values, shapes[0], ndim)],
        receptive_field=[[asdict(row) for row in rows] for rows in receptive_fields(spec.layer_class, values, ndim)],
        matmul=_matmul(spec, values, shapes[0]),
        flops=report.flops,
        report=report,
        notes=notes,
    )
