"""`propagate`: build a network spec layer by layer as real torch modules and run the input through.

Each layer is built by the engine's one builder (`layer_inspection.build_layer`, with its memory
check) and run by the one runner (`collect.trace_forward`, which counts FLOPs), on the chosen
device; meta gives shapes, parameters and FLOPs without allocating. The first layer that cannot
take its input stops the run and carries the shape doctor's diagnosis; the rest are not reached.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field, replace
from enum import StrEnum

import torch
from torch import nn

from inspector.core.collect import ForwardFailure, trace_forward
from inspector.core.devices import resolve_device
from inspector.core.dtypes import dtype_name, resolve_dtype
from inspector.core.errors import InvalidArgumentError
from inspector.core.inputs import make_inputs
from inspector.core.memory_guard import reserve
from inspector.core.messages import msg
from inspector.core.preflight import Preflight, StoragePeak
from inspector.doctor.diagnose import Diagnosis, FailureSite, PreviousLayer, diagnose, find_problem
from inspector.doctor.fixes import EditKind, Fix, apply_fix
from inspector.lab.inspection import build_layer, constructor_code
from inspector.layers.args import ArgValue
from inspector.layers.network_spec import LayerEntry, NetworkSpec, layer_entry, layer_names, with_layer
from inspector.layers.specs import CallStyle, LayerSpec

# Layers whose forward returns (output, state) or (output, weights): the next layer gets output[0].
TUPLE_OUTPUT: frozenset[type[nn.Module]] = frozenset({nn.RNN, nn.LSTM, nn.GRU, nn.MultiheadAttention})
# How many times the layer takes x: Bilinear(x, x), MultiheadAttention(x, x, x).
CALL_ARITY = {CallStyle.SINGLE: 1, CallStyle.PAIR: 2, CallStyle.SELF_ATTENTION: 3}


class StepStatus(StrEnum):
    """What happened to one layer of the spec."""

    OK = "ok"
    FAILED = "failed"
    NOT_REACHED = "not_reached"


@dataclass(frozen=True)
class LayerStep:
    """One layer as propagated: shapes from the real output, parameters by numel(), FLOPs by FlopCounterMode."""

    index: int
    name: str
    type: str
    constructor: str
    status: StepStatus
    input_shape: tuple[int, ...] | None = None
    output_shape: tuple[int, ...] | None = None
    params: int = 0
    running_params: int = 0
    flops: int = 0
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class BuildResult:
    """The whole propagation: one step per layer, and the doctor's diagnosis where a layer did not fit."""

    spec: NetworkSpec
    device: str
    dtype: str
    steps: tuple[LayerStep, ...]
    diagnosis: Diagnosis | None = field(default=None)

    @property
    def fits(self) -> bool:
        """Return whether every layer took its input."""
        return self.diagnosis is None

    @property
    def total_params(self) -> int:
        """Return the parameters of the layers that were built."""
        return sum(step.params for step in self.steps)

    @property
    def flops(self) -> int:
        """Return the FLOPs of the layers that ran."""
        return sum(step.flops for step in self.steps)

    @property
    def output_shape(self) -> tuple[int, ...]:
        """Return the shape after the last layer that ran (the input when none did)."""
        ran = [step.output_shape for step in self.steps if step.status is StepStatus.OK and step.output_shape]
        return ran[-1] if ran else self.spec.input_shape

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form."""
        steps = [
            {
                **step.__dict__,
                "status": step.status.value,
                "notes": list(step.notes),
                "input_shape": _listed(step.input_shape),
                "output_shape": _listed(step.output_shape),
            }
            for step in self.steps
        ]
        return {
            "spec": self.spec.to_dict(),
            "device": self.device,
            "dtype": self.dtype,
            "fits": self.fits,
            "output_shape": list(self.output_shape),
            "total_params": self.total_params,
            "flops": self.flops,
            "steps": steps,
            "diagnosis": self.diagnosis.to_dict() if self.diagnosis else None,
        }


def _listed(shape: tuple[int, ...] | None) -> list[int] | None:
    return None if shape is None else list(shape)


def module_names(spec: NetworkSpec) -> list[str]:
    """Return each layer's attribute name in the generated module: its own name, else conv2d1, relu1, conv2d2, …"""
    return layer_names(spec)


def layer_code(entry: LayerEntry) -> str:
    """Return `nn.Conv2d(in_channels=1, out_channels=6, kernel_size=5)`: the arguments torch needs or that differ."""
    spec = entry.spec
    parameters = _torch_parameters(spec.layer_class)

    def shown(name: str, value: ArgValue) -> bool:
        parameter = parameters.get(name)
        return parameter is None or parameter.default is inspect.Parameter.empty or parameter.default != value

    return constructor_code(spec, {name: value for name, value in entry.args.items() if shown(name, value)})


def _torch_parameters(cls: type[nn.Module]) -> dict[str, inspect.Parameter]:
    """Return the constructor's named parameters; LSTM/GRU take *args and forward them to RNNBase."""
    found: dict[str, inspect.Parameter] = {}
    for klass in cls.__mro__:
        if klass is nn.Module:
            break
        own_init = vars(klass).get("__init__")  # an inherited one is met further along the MRO
        if own_init is None:
            continue
        for name, parameter in inspect.signature(own_init).parameters.items():
            if parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                found.setdefault(name, parameter)
    return found


def call_layer(layer: nn.Module, spec: LayerSpec, x: torch.Tensor) -> torch.Tensor:
    """Return what the network passes on from `layer`: x fed once, twice or three times; output[0] of a tuple."""
    output = layer(*(x,) * CALL_ARITY[spec.call_style])
    passed_on: torch.Tensor = output[0] if spec.layer_class in TUPLE_OUTPUT else output
    return passed_on


class SpecNetwork(nn.Module):
    """The spec as one nn.Module, named as the generated code names it (what `build` inspects)."""

    def __init__(self, spec: NetworkSpec, device: torch.device, dtype: torch.dtype | None) -> None:
        super().__init__()
        self._layer_specs = [entry.spec for entry in spec.layers]
        for name, entry in zip(module_names(spec), spec.layers, strict=True):
            self.add_module(name, build_layer(entry.spec, entry.args, device, dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer, spec in zip(self.children(), self._layer_specs, strict=True):
            x = call_layer(layer, spec, x)
        return x


def build_network(
    spec: NetworkSpec, device: str | torch.device | None = None, dtype: str | torch.dtype | None = None
) -> nn.Module:
    """Return the spec as an eval-mode nn.Module on `device` (meta allocates nothing)."""
    cast = resolve_dtype(dtype) if dtype is not None else None
    return SpecNetwork(spec, resolve_device(device), cast).eval()


def propagate(
    spec: NetworkSpec, device: str | torch.device | None = None, dtype: str | torch.dtype | None = None
) -> BuildResult:
    """Return the layer-by-layer propagation of `spec`'s input on `device`, stopping at the first misfit.

    On a real device the same propagation runs on meta first: its peak (one layer's weights, its
    input and output at a time) is reserved from the memory budget, or refused before allocating.
    """
    target = resolve_device(device)
    cast = resolve_dtype(dtype) if dtype is not None else None
    if target.type == "meta":
        return _propagate(spec, target, cast)
    with StoragePeak() as tracker:
        _propagate(spec, torch.device("meta"), cast)
    with reserve(Preflight(str(target), 0, tracker.peak), target, msg("engine.memory.what.network")):
        return _propagate(spec, target, cast)


def _propagate(spec: NetworkSpec, target: torch.device, cast: torch.dtype | None) -> BuildResult:
    float_dtype = cast or torch.get_default_dtype()
    x = make_inputs(spec.input_shape, None, target, float_dtype, spec.input_dtype)
    assert isinstance(x, torch.Tensor), "a spec has one input shape, so one tensor"
    names = module_names(spec)
    steps: list[LayerStep] = []
    previous: list[PreviousLayer] = []
    running = 0
    for index, (name, entry) in enumerate(zip(names, spec.layers, strict=True)):
        step, diagnosis, x = _run_layer(spec, index, name, entry, x, target, cast, tuple(previous), running)
        steps.append(step)
        if diagnosis is not None:
            steps += [
                LayerStep(
                    later, names[later], spec.layers[later].type, layer_code(spec.layers[later]), StepStatus.NOT_REACHED
                )
                for later in range(index + 1, len(spec.layers))
            ]
            return BuildResult(spec, str(target), dtype_name(float_dtype), tuple(steps), diagnosis)
        running = step.running_params
        assert step.input_shape is not None and step.output_shape is not None, "a layer that ran has both"
        previous.append(PreviousLayer(index, entry.spec.layer_class, entry.args, step.input_shape, step.output_shape))
    return BuildResult(spec, str(target), dtype_name(float_dtype), tuple(steps))


def _run_layer(
    spec: NetworkSpec,
    index: int,
    name: str,
    entry: LayerEntry,
    x: torch.Tensor,
    target: torch.device,
    cast: torch.dtype | None,
    previous: tuple[PreviousLayer, ...],
    running: int,
) -> tuple[LayerStep, Diagnosis | None, torch.Tensor]:
    """Return (step, diagnosis or None, the tensor passed on) for one layer."""
    shape = tuple(x.shape)
    code = layer_code(entry)
    failed = LayerStep(index, name, entry.type, code, StepStatus.FAILED, shape, running_params=running)
    try:
        layer = build_layer(entry.spec, entry.args, target, cast).eval()
    except InvalidArgumentError as error:
        reason = msg("doctor.error", error=error)  # translated as the engine error it is
        return failed, Diagnosis(index, name, entry.type, shape, "—", reason, (), str(error)), x
    site = FailureSite(layer, shape, x.dtype, index, name, previous, spec.input_shape, spec.input_dtype)
    try:
        trace = trace_forward(layer, lambda: call_layer(layer, entry.spec, x))
    except ForwardFailure as failure:
        message = str(failure.error).strip().splitlines()[0] if str(failure.error).strip() else repr(failure.error)
        return failed, diagnose(replace(site, torch_message=message)), x
    if target.type == "meta" and find_problem(site) is not None:  # meta kernels skip some checks real ones make
        message = msg("doctor.meta_let_through")
        return failed, diagnose(replace(site, torch_message=message)), x
    params = sum(p.numel() for p in layer.parameters())
    output = trace.output
    assert isinstance(output, torch.Tensor), "call_layer passes one tensor on"
    return (
        LayerStep(
            index,
            name,
            entry.type,
            code,
            StepStatus.OK,
            shape,
            tuple(output.shape),
            params,
            running + params,
            trace.total_flops,
            _notes(entry, shape, index),
        ),
        None,
        output,
    )


def _notes(entry: LayerEntry, shape: tuple[int, ...], index: int) -> tuple[str, ...]:
    spec = entry.spec
    notes = []
    if index == 0 and spec.spatial_ndim and len(shape) == spec.spatial_ndim + 1:
        notes.append(msg("notes.unbatched", shape=str(shape)))
    if spec.layer_class in TUPLE_OUTPUT:
        notes.append(msg("notes.tuple_output"))
    if spec.call_style is not CallStyle.SINGLE:
        call = f"layer({', '.join(['x'] * CALL_ARITY[spec.call_style])})"
        notes.append(msg("notes.called_as", call=call))
    return tuple(notes)


def fix_until_fits(
    spec: NetworkSpec,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
    max_fixes: int | None = None,
) -> tuple[NetworkSpec, tuple[Fix, ...], BuildResult]:
    """Return the spec after applying the doctor's first applicable fix until it fits or none applies.

    Also returns the fixes applied, in order, and the last propagation (check `.fits`). The number
    of fixes is bounded, so two fixes that undo each other cannot loop.
    """
    limit = 2 * len(spec.layers) + 4 if max_fixes is None else max_fixes
    applied: list[Fix] = []
    result = propagate(spec, device, dtype)
    while result.diagnosis is not None and len(applied) < limit:
        fixed = _first_applicable(spec, result.diagnosis)
        if fixed is None:
            break
        spec, fix = fixed
        applied.append(fix)
        result = propagate(spec, device, dtype)
    return spec, tuple(applied), result


def _first_applicable(spec: NetworkSpec, diagnosis: Diagnosis) -> tuple[NetworkSpec, Fix] | None:
    for fix in diagnosis.fixes:
        if not fix.applicable:
            continue
        try:
            return apply_fix(spec, fix), fix
        except InvalidArgumentError:  # e.g. the size it proposes is beyond an argument's range
            continue
    return None


def fit_new_layer(spec: NetworkSpec, index: int, layer_type: str) -> NetworkSpec:
    """Return `spec` with a new `layer_type` at `index`, its sizes fitted to what arrives there.

    The new layer starts from the registry's defaults; where the doctor's fix for it only changes
    its own arguments (in_features, in_channels, num_features, …), that fix is applied. Shapes come
    from the meta device, so this allocates nothing.
    """
    spec = with_layer(spec, index, layer_entry(layer_type))
    for _ in range(3):  # e.g. in_channels, then a kernel that fits
        diagnosis = propagate(replace(spec, layers=spec.layers[: index + 1]), "meta").diagnosis
        if diagnosis is None or diagnosis.layer_index != index:
            break
        own = next(
            (
                fix
                for fix in diagnosis.fixes
                if all(e.kind is EditKind.SET_ARGS and e.index == index for e in fix.edits)
            ),
            None,
        )
        if own is None:
            break
        spec = apply_fix(spec, own)
    return spec
