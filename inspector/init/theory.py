"""What each scheme promises a weight of a given shape: its distribution, mean, std or bound, and the formula.

Pure functions of shapes and arguments (no tensors), except `weight_histogram`, which bins a real
weight so that its bars and the theoretical density share one y-axis (probability density).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import torch

from inspector.core.errors import InvalidArgumentError
from inspector.init.schemes import DEFAULT_A, InitScheme, InitSpec, Nonlinearity

MAX_BINS = 1000


class Distribution(StrEnum):
    """The shape of the values a scheme draws."""

    UNIFORM = "uniform"
    NORMAL = "normal"
    TRUNCATED_NORMAL = "truncated_normal"
    CONSTANT = "constant"


@dataclass(frozen=True)
class WeightTheory:
    """The distribution a scheme draws a weight from, with the formula that gives its spread.

    `low`/`high` are the support (uniform) or cut-offs (truncated normal); `location`/`scale` are
    the parameters of the normal before truncation. `approximate` is set where the element
    distribution is only close to `distribution` (orthogonal matrices), though `std` is exact.
    """

    distribution: Distribution
    mean: float
    std: float
    formula: str
    symbolic: str
    low: float | None = None
    high: float | None = None
    location: float | None = None
    scale: float | None = None
    approximate: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "distribution": self.distribution.value,
            "mean": self.mean,
            "std": self.std,
            "low": self.low,
            "high": self.high,
            "formula": self.formula,
            "symbolic": self.symbolic,
            "approximate": self.approximate,
        }


def fans(shape: Sequence[int]) -> tuple[int, int]:
    """Return (fan_in, fan_out) as `torch.nn.init._calculate_fan_in_and_fan_out` computes them.

    fan_in = size(1)·∏ kernel, fan_out = size(0)·∏ kernel: Linear(in, out) → (in, out),
    Conv2d(C_in, C_out, (k_h, k_w), groups=g) → (C_in/g·k_h·k_w, C_out·k_h·k_w).
    """
    if len(shape) < 2:
        raise InvalidArgumentError("errors_b.fans_need_matrix", shape=tuple(shape))
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def _n(value: float) -> str:
    return f"{value:.4g}"


def _uniform(bound: float, formula: str, symbolic: str) -> WeightTheory:
    std = bound / math.sqrt(3)
    return WeightTheory(
        Distribution.UNIFORM,
        0.0,
        std,
        f"{formula}; std = bound/√3 = {_n(std)}",
        f"{symbolic}, std = bound/√3",
        -bound,
        bound,
    )


def _normal(std: float, formula: str, symbolic: str, mean: float = 0.0, approximate: bool = False) -> WeightTheory:
    return WeightTheory(
        Distribution.NORMAL, mean, std, formula, symbolic, location=mean, scale=std, approximate=approximate
    )


def _kaiming_gain(kwargs: dict[str, float | str]) -> tuple[float, str]:
    """Return calculate_gain(nonlinearity, a) and how it is worked out."""
    nonlinearity, a = Nonlinearity(str(kwargs["nonlinearity"])), float(kwargs["a"])
    gain = float(torch.nn.init.calculate_gain(nonlinearity.value, a))
    if nonlinearity == Nonlinearity.LEAKY_RELU:
        return gain, f"gain = √(2/(1 + a²)) = √(2/(1 + {_n(a)}²)) = {_n(gain)}"
    text = {Nonlinearity.RELU: "√2", Nonlinearity.TANH: "5/3", Nonlinearity.SELU: "3/4"}.get(nonlinearity, "1")
    return gain, f"gain({nonlinearity}) = {text} = {_n(gain)}"


def _default(fan_in: int, fan_out: int, kwargs: dict) -> WeightTheory:
    gain = math.sqrt(2 / (1 + DEFAULT_A**2))  # √(2/(1 + 5)) = √(1/3)
    bound = gain * math.sqrt(3 / fan_in)  # = 1/√fan_in
    return _uniform(
        bound,
        f"bound = 1/√fan_in = 1/√{fan_in} = {_n(bound)}",
        "kaiming_uniform_(a=√5): gain = √(2/(1 + 5)) = √(1/3), bound = gain·√(3/fan_in) = 1/√fan_in",
    )


def _xavier_uniform(fan_in: int, fan_out: int, kwargs: dict) -> WeightTheory:
    gain = kwargs["gain"]
    bound = gain * math.sqrt(6 / (fan_in + fan_out))
    return _uniform(
        bound,
        f"bound = gain·√(6/(fan_in + fan_out)) = {_n(gain)}·√(6/({fan_in} + {fan_out})) = {_n(bound)}",
        "bound = gain·√(6/(fan_in + fan_out))",
    )


def _xavier_normal(fan_in: int, fan_out: int, kwargs: dict) -> WeightTheory:
    gain = kwargs["gain"]
    std = gain * math.sqrt(2 / (fan_in + fan_out))
    return _normal(
        std,
        f"std = gain·√(2/(fan_in + fan_out)) = {_n(gain)}·√(2/({fan_in} + {fan_out})) = {_n(std)}",
        "std = gain·√(2/(fan_in + fan_out))",
    )


def _kaiming(fan_in: int, fan_out: int, kwargs: dict, uniform: bool) -> WeightTheory:
    gain, gain_text = _kaiming_gain(kwargs)
    mode = kwargs["mode"]
    fan = fan_in if mode == "fan_in" else fan_out
    if uniform:
        bound = gain * math.sqrt(3 / fan)
        return _uniform(
            bound,
            f"{gain_text}; bound = gain·√(3/{mode}) = {_n(gain)}·√(3/{fan}) = {_n(bound)}",
            f"bound = gain·√(3/{mode})",
        )
    std = gain / math.sqrt(fan)
    return _normal(std, f"{gain_text}; std = gain/√{mode} = {_n(gain)}/√{fan} = {_n(std)}", f"std = gain/√{mode}")


def _plain_normal(fan_in: int, fan_out: int, kwargs: dict) -> WeightTheory:
    mean, std = kwargs["mean"], kwargs["std"]
    return _normal(
        std, f"N(mean, std²) = N({_n(mean)}, {_n(std)}²): std = {_n(std)}, whatever the fans", "std as given", mean
    )


def _plain_uniform(fan_in: int, fan_out: int, kwargs: dict) -> WeightTheory:
    low, high = kwargs["a"], kwargs["b"]
    mean, std = (low + high) / 2, (high - low) / math.sqrt(12)
    return WeightTheory(
        Distribution.UNIFORM,
        mean,
        std,
        f"U(a, b) = U({_n(low)}, {_n(high)}): mean = (a + b)/2 = {_n(mean)}, std = (b − a)/√12 = {_n(std)}",
        "mean = (a + b)/2, std = (b − a)/√12",
        low,
        high,
    )


def _phi(x: float) -> float:
    return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def _big_phi(x: float) -> float:
    return (1 + math.erf(x / math.sqrt(2))) / 2


def _trunc_normal(fan_in: int, fan_out: int, kwargs: dict) -> WeightTheory:
    """Moments of N(μ, σ²) cut to [a, b]: α = (a − μ)/σ, β = (b − μ)/σ, Z = Φ(β) − Φ(α)."""
    mu, sigma, low, high = kwargs["mean"], kwargs["std"], kwargs["a"], kwargs["b"]
    alpha, beta = (low - mu) / sigma, (high - mu) / sigma
    z = _big_phi(beta) - _big_phi(alpha)
    shift = (_phi(alpha) - _phi(beta)) / z
    mean = mu + sigma * shift
    std = sigma * math.sqrt(max(0.0, 1 + (alpha * _phi(alpha) - beta * _phi(beta)) / z - shift**2))
    return WeightTheory(
        Distribution.TRUNCATED_NORMAL,
        mean,
        std,
        f"N({_n(mu)}, {_n(sigma)}²) cut to [a, b] = [{_n(low)}, {_n(high)}] (absolute values, not stds): "
        f"α = (a − mean)/std = {_n(alpha)}, β = (b − mean)/std = {_n(beta)}; "
        f"std = std·√(1 + (αφ(α) − βφ(β))/Z − ((φ(α) − φ(β))/Z)²) = {_n(std)}",
        "std = σ·√(1 + (αφ(α) − βφ(β))/Z − ((φ(α) − φ(β))/Z)²), Z = Φ(β) − Φ(α)",
        low,
        high,
        mu,
        sigma,
    )


def _orthogonal(shape: Sequence[int], kwargs: dict) -> WeightTheory:
    rows = shape[0]
    cols = math.prod(shape) // rows
    gain = kwargs["gain"]
    std = gain / math.sqrt(max(rows, cols))
    return _normal(
        std,
        f"rows = {rows}, cols = {cols}: std ≈ gain/√max(rows, cols) = {_n(gain)}/√{max(rows, cols)} = "
        f"{_n(std)} (the rows or columns are orthonormal, so the mean square is exactly gain²/max)",
        "std ≈ gain/√max(rows, cols), rows = size(0), cols = numel/rows",
        approximate=True,
    )


def _constant(value: float) -> WeightTheory:
    return WeightTheory(
        Distribution.CONSTANT,
        value,
        0.0,
        f"every weight = {_n(value)}: std = 0, so all units "
        "in a layer compute the same thing and stay equal during training",
        "w = value",
        low=value,
        high=value,
    )


_FAN_THEORIES: dict[InitScheme, Callable[[int, int, dict], WeightTheory]] = {
    InitScheme.DEFAULT: _default,
    InitScheme.XAVIER_UNIFORM: _xavier_uniform,
    InitScheme.XAVIER_NORMAL: _xavier_normal,
    InitScheme.KAIMING_UNIFORM: lambda fan_in, fan_out, kwargs: _kaiming(fan_in, fan_out, kwargs, uniform=True),
    InitScheme.KAIMING_NORMAL: lambda fan_in, fan_out, kwargs: _kaiming(fan_in, fan_out, kwargs, uniform=False),
    InitScheme.NORMAL: _plain_normal,
    InitScheme.UNIFORM: _plain_uniform,
    InitScheme.TRUNC_NORMAL: _trunc_normal,
}


def weight_theory(shape: Sequence[int], spec: InitSpec) -> WeightTheory:
    """Return what `spec` draws for a weight of `shape` (dim ≥ 2): distribution, mean, std, bounds, formula."""
    fan_in, fan_out = fans(shape)
    if spec.scheme is InitScheme.ORTHOGONAL:
        return _orthogonal(shape, spec.kwargs)
    if spec.scheme is InitScheme.ZEROS:
        return _constant(0.0)
    if spec.scheme is InitScheme.CONSTANT:
        return _constant(float(spec.kwargs["value"]))
    return _FAN_THEORIES[spec.scheme](fan_in, fan_out, spec.kwargs)


def density(theory: WeightTheory, xs: Sequence[float]) -> list[float]:
    """Return the probability density of `theory` at each x (a constant has none: all zeros)."""
    low = theory.low if theory.low is not None else -math.inf
    high = theory.high if theory.high is not None else math.inf
    if theory.distribution is Distribution.UNIFORM:
        height = 1 / (high - low)
        return [height if low <= x <= high else 0.0 for x in xs]
    if theory.distribution is Distribution.CONSTANT:
        return [0.0 for _ in xs]
    mu, sigma = theory.location, theory.scale
    assert mu is not None and sigma is not None, "every normal theory has a location and a scale"
    scale = 1.0
    if theory.distribution is Distribution.TRUNCATED_NORMAL:
        scale = 1 / (_big_phi((high - mu) / sigma) - _big_phi((low - mu) / sigma))
    return [scale * _phi((x - mu) / sigma) / sigma if low <= x <= high else 0.0 for x in xs]


def density_curve(theory: WeightTheory, points: int = 201) -> tuple[list[float], list[float]]:
    """Return (xs, density) over the support, or mean ± 4 std for an untruncated normal, padded on both sides."""
    if theory.low is not None and theory.high is not None:
        low, high = theory.low, theory.high
    else:
        low, high = theory.mean - 4 * theory.std, theory.mean + 4 * theory.std
    pad = 0.05 * (high - low) or 0.5
    xs = [low - pad + (high - low + 2 * pad) * i / (points - 1) for i in range(points)]
    if theory.low is not None and theory.high is not None:  # draw the vertical edges of a uniform or truncated density
        xs = sorted(
            [
                *xs,
                theory.low,
                theory.low - 1e-12 * (high - low + pad),
                theory.high,
                theory.high + 1e-12 * (high - low + pad),
            ]
        )
    return xs, density(theory, xs)


@dataclass(frozen=True)
class Histogram:
    """A weight's histogram: `bins` + 1 edges, counts, and counts/(n·width) to compare with a density."""

    edges: tuple[float, ...]
    counts: tuple[int, ...]
    density: tuple[float, ...]

    def to_dict(self) -> dict[str, object]:
        return {"edges": list(self.edges), "counts": list(self.counts), "density": list(self.density)}


def weight_histogram(tensor: torch.Tensor, bins: int = 50) -> Histogram:
    """Return the histogram of `tensor`'s values in `bins` equal bins from its min to its max."""
    if isinstance(bins, bool) or not isinstance(bins, int) or not 1 <= bins <= MAX_BINS:
        raise InvalidArgumentError("errors_b.bad_bins", maximum=MAX_BINS, value=repr(bins))
    values = tensor.detach().to("cpu", torch.float64).flatten()
    if values.numel() == 0:
        raise InvalidArgumentError("errors_b.empty_tensor")
    low, high = values.min().item(), values.max().item()
    if low == high:  # a constant: one bin of width 1 around it
        low, high = low - 0.5, high + 0.5
    counts, edges = torch.histogram(values, bins=bins, range=(low, high))
    width = (high - low) / bins
    total = values.numel()
    return Histogram(
        tuple(edges.tolist()),
        tuple(int(c) for c in counts.tolist()),
        tuple(c / (total * width) for c in counts.tolist()),
    )
