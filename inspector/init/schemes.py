"""Initialisation schemes: the `nn.init` call each one is, its checked arguments, and applying it to a copy.

A scheme sets the weight of every Linear and Conv1d/2d/3d layer (their weights have dim ≥ 2, so
fan_in and fan_out exist). Other parameters (norm layers, embeddings) keep the values they were
built with. Biases get `nn.init.zeros_` unless asked otherwise (`BiasInit`); under the `default`
scheme they get PyTorch's own U(−1/√fan_in, 1/√fan_in).

PyTorch's default (`nn.Linear` / `nn.Conv2d`'s `reset_parameters`) is `kaiming_uniform_(w, a=√5)`:
gain = √(2/(1 + a²)) = √(1/3) and bound = gain·√(3/fan_in) = 1/√fan_in, so w ~ U(−1/√fan_in, 1/√fan_in).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import SupportsFloat

import torch
from torch import nn

from inspector.core.errors import InvalidArgumentError, UnknownNameError
from inspector.core.messages import msg

# The layers a scheme initialises. ConvTranspose is left out on purpose: its weight is
# (in, out/groups, k…), which torch's fan rule (size(1) = fan_in) reads the wrong way round.
InitLayer = nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d
INIT_LAYER_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)  # isinstance(m, INIT_LAYER_TYPES) gives InitLayer
DEFAULT_A = math.sqrt(5)  # reset_parameters' kaiming_uniform_(a=√5), see pytorch/pytorch#57109
MAX_SEED = 2**63 - 1


class InitScheme(StrEnum):
    """The initialisation schemes, named after their `torch.nn.init` function (without the `_`)."""

    DEFAULT = "default"
    XAVIER_UNIFORM = "xavier_uniform"
    XAVIER_NORMAL = "xavier_normal"
    KAIMING_UNIFORM = "kaiming_uniform"
    KAIMING_NORMAL = "kaiming_normal"
    NORMAL = "normal"
    UNIFORM = "uniform"
    TRUNC_NORMAL = "trunc_normal"
    ORTHOGONAL = "orthogonal"
    ZEROS = "zeros"
    CONSTANT = "constant"


class FanMode(StrEnum):
    """Which fan kaiming keeps the variance of: fan_in (forward pass) or fan_out (backward pass)."""

    FAN_IN = "fan_in"
    FAN_OUT = "fan_out"


class Nonlinearity(StrEnum):
    """The nonlinearities `nn.init.calculate_gain` knows (the conv names give 1, like linear)."""

    LINEAR = "linear"
    SIGMOID = "sigmoid"
    TANH = "tanh"
    RELU = "relu"
    LEAKY_RELU = "leaky_relu"
    SELU = "selu"


class BiasInit(StrEnum):
    """What a layer's bias gets: zeros, PyTorch's default U(−1/√fan_in, 1/√fan_in), or the weight's scheme."""

    ZEROS = "zeros"
    DEFAULT = "default"
    SCHEME = "scheme"


@dataclass(frozen=True)
class SchemeInfo:
    """How a scheme is called: torch's function, its arguments with torch's defaults, what it needs."""

    function: Callable[..., torch.Tensor]
    arguments: tuple[tuple[str, float | str | None], ...]  # None: no default, the user must give it
    needs_matrix: bool  # uses fans or a matrix shape, so a 1-D tensor (a bias) is refused
    random: bool  # draws from the generator


_KAIMING = (("a", 0.0), ("mode", FanMode.FAN_IN.value), ("nonlinearity", Nonlinearity.LEAKY_RELU.value))
SCHEMES: dict[InitScheme, SchemeInfo] = {
    InitScheme.DEFAULT: SchemeInfo(nn.init.kaiming_uniform_, (), True, True),
    InitScheme.XAVIER_UNIFORM: SchemeInfo(nn.init.xavier_uniform_, (("gain", 1.0),), True, True),
    InitScheme.XAVIER_NORMAL: SchemeInfo(nn.init.xavier_normal_, (("gain", 1.0),), True, True),
    InitScheme.KAIMING_UNIFORM: SchemeInfo(nn.init.kaiming_uniform_, _KAIMING, True, True),
    InitScheme.KAIMING_NORMAL: SchemeInfo(nn.init.kaiming_normal_, _KAIMING, True, True),
    InitScheme.NORMAL: SchemeInfo(nn.init.normal_, (("mean", 0.0), ("std", 1.0)), False, True),
    InitScheme.UNIFORM: SchemeInfo(nn.init.uniform_, (("a", 0.0), ("b", 1.0)), False, True),
    InitScheme.TRUNC_NORMAL: SchemeInfo(
        nn.init.trunc_normal_, (("mean", 0.0), ("std", 1.0), ("a", -2.0), ("b", 2.0)), False, True
    ),
    InitScheme.ORTHOGONAL: SchemeInfo(nn.init.orthogonal_, (("gain", 1.0),), True, True),
    InitScheme.ZEROS: SchemeInfo(nn.init.zeros_, (), False, False),
    InitScheme.CONSTANT: SchemeInfo(nn.init.constant_, (("value", None),), False, False),
}
TORCH_ARGUMENT_NAMES = {"value": "val"}  # constant_(tensor, val)
_CHOICES: dict[str, type[StrEnum]] = {"mode": FanMode, "nonlinearity": Nonlinearity}
# The name each choice goes by in an error, as the catalogues translate it.
_CHOICE_NAMES = {
    FanMode: msg("engine.init.what.mode"),
    Nonlinearity: msg("engine.init.what.nonlinearity"),
    BiasInit: msg("engine.errors_b.what.bias_initialisation"),
}


@dataclass(frozen=True)
class InitSpec:
    """A checked scheme: every argument it takes (torch's defaults filled in) and what biases get."""

    scheme: InitScheme
    arguments: tuple[tuple[str, float | str], ...]
    bias: BiasInit

    @property
    def kwargs(self) -> dict[str, float | str]:
        """The arguments by our names (`value` where torch says `val`)."""
        return dict(self.arguments)

    def torch_kwargs(self) -> dict[str, float | str]:
        """The keyword arguments of the `nn.init` call, by torch's names."""
        return {TORCH_ARGUMENT_NAMES.get(name, name): value for name, value in self.arguments}

    def to_dict(self) -> dict[str, object]:
        return {"scheme": self.scheme.value, "arguments": self.kwargs, "bias": self.bias.value}


def parse_scheme(scheme: object) -> InitScheme:
    """Return the InitScheme named `scheme` (a trailing `_` as in `nn.init.xavier_uniform_` is fine)."""
    text = str(scheme).strip().lower().removesuffix("_").removeprefix("nn.init.")
    try:
        return InitScheme(text)
    except ValueError:
        raise UnknownNameError("errors_b.unknown_scheme", scheme=repr(scheme), choices=", ".join(InitScheme)) from None


def _choice(raw: object, kind: type[StrEnum]) -> str:
    try:
        return kind(str(raw).strip().lower()).value
    except ValueError:
        name = _CHOICE_NAMES[kind]
        raise UnknownNameError("errors_b.unknown_choice", name=name, value=repr(raw), choices=", ".join(kind)) from None


def _number(name: str, raw: object) -> float:
    try:
        value = float(raw) if isinstance(raw, SupportsFloat | str) and not isinstance(raw, bool) else math.nan
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        raise InvalidArgumentError("errors_b.not_finite", name=name, value=repr(raw))
    return value


def parse_argument(name: str, raw: object) -> float | str:
    """Return one scheme argument read from text (a link's value): a choice, or a finite number that is
    positive where it must be (gain, std). Checks between arguments (a < b) are make_init_spec's."""
    if name in _CHOICES:
        return _choice(raw, _CHOICES[name])
    value = _number(name, raw)
    if name == "gain" and value <= 0:
        raise InvalidArgumentError("errors_b.gain_positive", gain=value)
    if name == "std" and value <= 0:
        raise InvalidArgumentError("errors_b.std_positive", std=value)
    return value


def _check_values(scheme: InitScheme, values: dict[str, float | str]) -> None:
    """Raise for values torch would accept silently but that make no sense (or give NaN)."""
    numbers = {name: value for name, value in values.items() if isinstance(value, float)}  # all but nonlinearity
    if "gain" in values and numbers["gain"] <= 0:
        raise InvalidArgumentError("errors_b.gain_positive", gain=numbers["gain"])
    if "std" in values and numbers["std"] <= 0:
        raise InvalidArgumentError("errors_b.std_positive", std=numbers["std"])
    if scheme in (InitScheme.UNIFORM, InitScheme.TRUNC_NORMAL) and numbers["a"] >= numbers["b"]:
        raise InvalidArgumentError("errors_b.a_below_b", scheme=scheme.value, a=numbers["a"], b=numbers["b"])
    if scheme is InitScheme.TRUNC_NORMAL:
        mean, std, low, high = numbers["mean"], numbers["std"], numbers["a"], numbers["b"]
        if mean < low - 2 * std or mean > high + 2 * std:  # torch only warns; its samples are then wrong
            raise InvalidArgumentError("errors_b.trunc_mean_outside", mean=mean, two_std=2 * std, low=low, high=high)
    if "nonlinearity" in values and values["a"] != 0 and values["nonlinearity"] != Nonlinearity.LEAKY_RELU:
        raise InvalidArgumentError("errors_b.slope_ignored", a=values["a"], nonlinearity=values["nonlinearity"])


def make_init_spec(scheme: InitScheme | str, bias: BiasInit | str | None = None, **given: object) -> InitSpec:
    """Return the checked InitSpec: `given` arguments converted, the rest set to torch's defaults.

    `bias=None` means PyTorch's default for the `default` scheme and zeros for every other one.
    """
    chosen = parse_scheme(scheme)
    info = SCHEMES[chosen]
    taken = dict(info.arguments)
    extra = sorted(name for name, value in given.items() if value is not None and name not in taken)
    if extra:
        raise InvalidArgumentError(
            "errors_b.scheme_no_argument",
            hint_key=None if taken else "errors_b.scheme_takes_none",  # the hint lists what it does take
            scheme=chosen.value,
            extra=", ".join(extra),
            taken=", ".join(taken),
        )
    values: dict[str, float | str] = {}
    for name, default in info.arguments:
        raw = given.get(name)
        if raw is None and default is None:
            raise InvalidArgumentError("errors_b.scheme_needs", scheme=chosen.value, name=name)
        raw = default if raw is None else raw
        values[name] = _choice(raw, _CHOICES[name]) if name in _CHOICES else _number(name, raw)
    _check_values(chosen, values)
    bias_init = (
        BiasInit(_choice(bias, BiasInit))
        if bias is not None
        else (BiasInit.DEFAULT if chosen is InitScheme.DEFAULT else BiasInit.ZEROS)
    )
    if bias_init is BiasInit.SCHEME and info.needs_matrix and chosen is not InitScheme.DEFAULT:
        raise InvalidArgumentError("errors_b.bias_needs_matrix", scheme=chosen.value)
    return InitSpec(chosen, tuple(values.items()), bias_init)


def check_seed(seed: object) -> int:
    """Return `seed` as an int in 0 … 2⁶³ − 1, or raise."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InvalidArgumentError("errors_b.bad_seed", maximum=MAX_SEED, value=repr(seed))
    return seed


def _init_tensor(tensor: torch.Tensor, spec: InitSpec, generator: torch.Generator) -> None:
    info = SCHEMES[spec.scheme]
    if info.needs_matrix and tensor.dim() < 2:
        raise InvalidArgumentError("errors_b.needs_matrix", scheme=spec.scheme.value, shape=tuple(tensor.shape))
    if spec.scheme is InitScheme.DEFAULT:
        info.function(tensor, a=DEFAULT_A, generator=generator)
    elif info.random:
        info.function(tensor, **spec.torch_kwargs(), generator=generator)
    else:
        info.function(tensor, **spec.torch_kwargs())


def _init_layer(module: nn.Module, spec: InitSpec, generator: torch.Generator) -> None:
    """Initialise one layer's weight, then its bias, in the order the generated code does."""
    if not isinstance(module, INIT_LAYER_TYPES):
        return
    _init_tensor(module.weight, spec, generator)
    if module.bias is None:
        return
    if spec.bias is BiasInit.ZEROS:
        nn.init.zeros_(module.bias)
    elif spec.bias is BiasInit.DEFAULT or spec.scheme is InitScheme.DEFAULT:
        fan_in = module.weight[0].numel() if module.weight.shape[0] else 0
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        nn.init.uniform_(module.bias, -bound, bound, generator=generator)
    else:
        _init_tensor(module.bias, spec, generator)


def _init_layers(model: object) -> list[InitLayer]:
    if not isinstance(model, nn.Module):
        raise InvalidArgumentError("errors_b.not_module", type=type(model).__name__)
    layers = [module for module in model.modules() if isinstance(module, INIT_LAYER_TYPES)]
    if not layers:
        raise InvalidArgumentError("errors_b.no_init_layers", model=type(model).__name__)
    if layers[0].weight.device.type == "meta":
        raise InvalidArgumentError("errors_b.init_on_meta")
    return layers


def apply_init(
    model: nn.Module,
    scheme: InitScheme | str | InitSpec,
    *,
    seed: int = 0,
    bias: BiasInit | str | None = None,
    **arguments: object,
) -> nn.Module:
    """Return a deep copy of `model` with `scheme` applied to every Linear/Conv layer; `model` is untouched.

    The draws come from a `torch.Generator` seeded with `seed` (the global RNG is not touched) and
    follow `model.apply`'s order, so `torch.manual_seed(seed); model.apply(init_fn)` with
    `init_code`'s `init_fn` gives the same weights.
    """
    if isinstance(scheme, InitSpec):
        if arguments or bias is not None:
            raise InvalidArgumentError("errors_b.spec_and_arguments")
        spec = scheme
    else:
        spec = make_init_spec(scheme, bias, **arguments)
    seed = check_seed(seed)
    layers = _init_layers(model)
    try:
        result = copy.deepcopy(model)
    except (RuntimeError, TypeError) as error:
        raise InvalidArgumentError("errors_b.could_not_copy", model=type(model).__name__, error=str(error)) from None
    generator = torch.Generator(device=layers[0].weight.device).manual_seed(seed)
    with torch.no_grad():
        result.apply(partial(_init_layer, spec=spec, generator=generator))
    return result
