"""What a scheme does to a model, measured: weights per layer, activations through depth, gradients.

`init_report` initialises a copy of the model (`apply_init`), runs one seeded random batch through
it in eval mode (dropout off, batch norm on its running statistics) with forward hooks on every
leaf module, then one backward pass of LOSS and reads each layer's weight gradient. Statistics are
computed in float64 so that a float32 network that explodes is measured, not overflowed again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import torch
from torch import nn
from torch.nn import functional

from inspector.core.errors import ForwardError, InvalidArgumentError, UnknownNameError
from inspector.core.messages import msg
from inspector.init.code import init_code
from inspector.init.models import DEEP_MODELS, prepare_model, reserved_measurement
from inspector.init.schemes import (
    INIT_LAYER_TYPES,
    MAX_SEED,
    BiasInit,
    InitScheme,
    InitSpec,
    apply_init,
    check_seed,
    make_init_spec,
)
from inspector.init.theory import Histogram, WeightTheory, fans, weight_histogram, weight_theory
from inspector.model.sources import TensorOutput

LOSS = "mse_loss(output, target), target ~ N(0, 1)"
# The input batch and the target come from a generator seeded with seed + DATA_SEED_OFFSET. With the
# weights' own seed, the first layer's weight rows would repeat the input's numbers (both streams
# start alike) and its output std would be inflated: 1.99 instead of √2 for kaiming + ReLU.
DATA_SEED_OFFSET = 1_000_003
BIAS_TEXT = {
    BiasInit.ZEROS: msg("init_notes.bias_zeros"),
    BiasInit.DEFAULT: msg("init_notes.bias_default"),
    BiasInit.SCHEME: msg("init_notes.bias_scheme"),
}


@dataclass(frozen=True)
class LayerInit:
    """One leaf module: its weight (theory and measured), its output's statistics, its weight gradient.

    `initialised` says whether the scheme set this layer's weight (Linear and Conv1d/2d/3d do);
    other weights (norms, embeddings) are measured as they were built.
    """

    name: str
    type: str
    initialised: bool
    weight_shape: tuple[int, ...] | None = None
    fan_in: int | None = None
    fan_out: int | None = None
    theory: WeightTheory | None = None
    weight_mean: float | None = None
    weight_std: float | None = None
    activation_mean: float | None = None
    activation_std: float | None = None
    gradient_norm: float | None = None
    histogram: Histogram | None = None

    def to_dict(self) -> dict[str, object]:
        numbers = {
            key: _json_number(getattr(self, key))
            for key in ("weight_mean", "weight_std", "activation_mean", "activation_std", "gradient_norm")
        }
        document: dict[str, object] = {
            "name": self.name,
            "type": self.type,
            "initialised": self.initialised,
            "weight_shape": list(self.weight_shape) if self.weight_shape else None,
            "fan_in": self.fan_in,
            "fan_out": self.fan_out,
            "theory": self.theory.to_dict() if self.theory else None,
            **numbers,
        }
        if self.histogram is not None:
            document["histogram"] = self.histogram.to_dict()
        return document


@dataclass(frozen=True)
class InitReport:
    """A scheme applied to a model: the layers in module order, with the run's settings and notes."""

    model: str
    spec: InitSpec
    seed: int
    input_size: tuple[int, ...]
    layers: tuple[LayerInit, ...]
    notes: tuple[str, ...] = ()
    loss: str = LOSS

    def initialised_layers(self) -> list[LayerInit]:
        """The layers the scheme set, in order: layer k is at depth k."""
        return [layer for layer in self.layers if layer.initialised]

    def to_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            **self.spec.to_dict(),
            "seed": self.seed,
            "input_size": list(self.input_size),
            "loss": self.loss,
            "layers": [layer.to_dict() for layer in self.layers],
            "notes": list(self.notes),
        }


def _json_number(value: float | None) -> float | str | None:
    """Return `value`, or "inf"/"-inf"/"nan" where JSON has no number for it."""
    return value if value is None or math.isfinite(value) else str(value)


def _stats(tensor: torch.Tensor) -> tuple[float, float]:
    values = tensor.detach().to(torch.float64)
    std = values.std().item() if values.numel() > 1 else 0.0
    return values.mean().item(), std


def _first_tensor(value: object) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value if value.is_floating_point() else None
    items = value.values() if isinstance(value, Mapping) else value if isinstance(value, (tuple, list)) else ()
    return next((t for t in map(_first_tensor, items) if t is not None), None)


def _leaves(model: nn.Module) -> dict[str, nn.Module]:
    wrapper = "model." if isinstance(model, TensorOutput) else ""  # an hf: model's names, as transformers gives them
    return {
        name.removeprefix(wrapper): module
        for name, module in model.named_modules()
        if next(module.children(), None) is None
    }


def _run(
    model: nn.Module, label: str, inputs: torch.Tensor, generator: torch.Generator
) -> dict[str, tuple[float, float]]:
    """Run forward + backward; return each leaf's first output statistics by name (hooks always removed)."""
    leaves = _leaves(model)
    names = {id(module): name for name, module in leaves.items()}
    outputs: dict[str, tuple[float, float]] = {}

    def record(module: nn.Module, args: tuple[object, ...], output: object) -> None:
        tensor = _first_tensor(output)
        if names[id(module)] not in outputs and tensor is not None:
            outputs[names[id(module)]] = _stats(tensor)

    handles = [module.register_forward_hook(record) for module in leaves.values()]
    try:
        output = _first_tensor(model(inputs))
        if output is None:
            raise InvalidArgumentError("errors_b.no_float_output", model=label)
        target = torch.randn(output.shape, generator=generator, dtype=output.dtype).to(output.device)
        functional.mse_loss(output, target).backward()
    except (RuntimeError, ValueError, TypeError, IndexError) as error:
        raise ForwardError("init.forward_failed", model=label, torch_message=str(error)) from None
    finally:
        for handle in handles:
            handle.remove()
    return outputs


def _layer(
    name: str, module: nn.Module, spec: InitSpec, outputs: dict[str, tuple[float, float]], bins: int | None
) -> LayerInit:
    weight = getattr(module, "weight", None)
    activation_mean, activation_std = outputs.get(name, (None, None))
    row = LayerInit(
        name,
        type(module).__name__,
        isinstance(module, INIT_LAYER_TYPES),
        activation_mean=activation_mean,
        activation_std=activation_std,
    )
    if not isinstance(weight, torch.Tensor) or weight.numel() == 0:
        return row
    shape = tuple(weight.shape)
    fan_in, fan_out = fans(shape) if weight.dim() >= 2 else (None, None)
    weight_mean, weight_std = _stats(weight)
    grad = weight.grad.detach().to(torch.float64).norm().item() if weight.grad is not None else None
    return replace(
        row,
        weight_shape=shape,
        fan_in=fan_in,
        fan_out=fan_out,
        weight_mean=weight_mean,
        weight_std=weight_std,
        gradient_norm=grad,
        theory=weight_theory(shape, spec) if row.initialised else None,
        histogram=weight_histogram(weight, bins) if bins is not None and row.initialised else None,
    )


def _kept_types(leaves: dict[str, nn.Module]) -> list[str]:
    """The types of leaves whose weight the scheme did not set (a weight tied to a Linear's was set)."""
    initialised = {id(module.weight) for module in leaves.values() if isinstance(module, INIT_LAYER_TYPES)}
    weights = {name: getattr(module, "weight", None) for name, module in leaves.items()}
    return sorted(
        {
            type(leaves[name]).__name__
            for name, weight in weights.items()
            if isinstance(weight, torch.Tensor) and id(weight) not in initialised
        }
    )


def _notes(spec: InitSpec, layers: list[LayerInit], kept: list[str]) -> tuple[str, ...]:
    notes = [BIAS_TEXT[BiasInit.DEFAULT if spec.scheme is InitScheme.DEFAULT else spec.bias]]
    if kept:
        names = ", ".join(kept)
        notes.append(msg("init_notes.kept", names=names))
    overflow = next(
        (
            layer.name
            for layer in layers
            if layer.activation_std is not None and not math.isfinite(layer.activation_std)
        ),
        None,
    )
    if overflow:
        notes.append(msg("init_notes.activations_overflow", layer=overflow))
    exploded = [
        layer.name for layer in layers if layer.gradient_norm is not None and not math.isfinite(layer.gradient_norm)
    ]
    if exploded:
        notes.append(msg("init_notes.gradients_overflow", count=len(exploded), first=exploded[0]))
    vanished = [layer.name for layer in layers if layer.initialised and layer.gradient_norm == 0.0]
    if vanished and spec.scheme not in (InitScheme.ZEROS, InitScheme.CONSTANT):
        notes.append(msg("init_notes.gradients_vanished", count=len(vanished), first=vanished[0]))
    return tuple(notes)


def measure_init(
    model: nn.Module,
    spec: InitSpec,
    input_size: tuple[int, ...],
    input_dtype: torch.dtype,
    seed: int,
    label: str,
    bins: int | None = None,
    vocab_size: int | None = None,
) -> InitReport:
    """Return the report of `spec` on a copy of `model`; the input and target come from `seed`.

    Token ids are drawn uniformly from [0, vocab_size) when it is known, else all 0 (in every vocabulary).
    """
    initialised = apply_init(model, spec, seed=seed)
    initialised.eval()
    for parameter in initialised.parameters():
        parameter.requires_grad_(parameter.is_floating_point())
    device = next(initialised.parameters()).device
    generator = torch.Generator().manual_seed((seed + DATA_SEED_OFFSET) % (MAX_SEED + 1))
    if input_dtype.is_floating_point:
        inputs = torch.randn(input_size, generator=generator).to(device)
    elif vocab_size is not None:
        inputs = torch.randint(vocab_size, input_size, generator=generator, dtype=input_dtype).to(device)
    else:
        inputs = torch.zeros(input_size, dtype=input_dtype, device=device)  # id 0 exists in every vocabulary
    outputs = _run(initialised, label, inputs, generator)
    leaves = _leaves(initialised)
    layers = [_layer(name, module, spec, outputs, bins) for name, module in leaves.items()]
    return InitReport(label, spec, seed, tuple(input_size), tuple(layers), _notes(spec, layers, _kept_types(leaves)))


def init_report(
    model_or_name: nn.Module | str,
    scheme: InitScheme | str | InitSpec = InitScheme.DEFAULT,
    *,
    options: Mapping[str, object] | None = None,
    input_size: tuple[int, ...] | None = None,
    batch: int | None = None,
    seed: int = 0,
    bias: BiasInit | str | None = None,
    bins: int | None = None,
    **arguments: object,
) -> InitReport:
    """Return per-layer fans, theory, measured weights, activations and gradients for `scheme`.

    `model_or_name` is a module (then `input_size` is needed), a zoo name, deep_mlp / deep_cnn
    with `options` (depth, width or channels, activation), or `hf:NAME` with `options` head and
    seq_len (refused above `models.MAX_HF_PARAMS` parameters: init needs real weights). `batch`
    replaces the input's first dimension. `bins` adds a weight histogram to every initialised layer.
    The model passed in is never changed.
    """
    spec = scheme if isinstance(scheme, InitSpec) else make_init_spec(scheme, bias, **arguments)
    seed = check_seed(seed)
    with reserved_measurement(model_or_name, options, input_size, batch):
        subject = prepare_model(model_or_name, options, input_size, batch)
        return measure_init(
            subject.model, spec, subject.input_size, subject.input_dtype, seed, subject.label, bins, subject.vocab_size
        )


@dataclass(frozen=True)
class InitComparison:
    """A scheme next to PyTorch's default on the same model, input and seed, with the code to apply it."""

    chosen: InitReport
    default: InitReport
    code: str


def compare_with_default(
    model_name: str,
    scheme: InitScheme | str,
    *,
    options: Mapping[str, object] | None = None,
    seed: int = 0,
    batch: int | None = None,
    bias: BiasInit | str | None = None,
    bins: int = 50,
    **arguments: object,
) -> InitComparison:
    """Return the reports of `scheme` and of PyTorch's default (with histograms), and `scheme`'s code."""
    if not isinstance(model_name, str):
        raise UnknownNameError(
            "errors_b.not_model_name", type=type(model_name).__name__, choices=", ".join(DEEP_MODELS)
        )
    spec = make_init_spec(scheme, bias, **arguments)
    seed = check_seed(seed)
    with reserved_measurement(model_name, options, None, batch):
        return _compare(model_name, spec, options, seed, batch, bins)


def _compare(
    model_name: str, spec: InitSpec, options: Mapping[str, object] | None, seed: int, batch: int | None, bins: int
) -> InitComparison:
    subject = prepare_model(model_name, options, None, batch)
    run = (subject.input_size, subject.input_dtype, seed, subject.label, bins, subject.vocab_size)
    chosen = measure_init(subject.model, spec, *run)
    default_spec = make_init_spec(InitScheme.DEFAULT)
    default = chosen if spec == default_spec else measure_init(subject.model, default_spec, *run)
    return InitComparison(chosen, default, init_code(spec, seed=seed))
