"""Deep plain stacks for the initialisation explorer: `depth` × (Linear → activation) or (Conv2d → activation).

Nothing here normalises or skips: no batch norm, no residual connections, so what the initial
weights do to the signal shows undiluted, layer after layer. Layer names count from 1
(`linear1`, `act1`, `linear2`, …) so a report's rows read as depth.
"""

from __future__ import annotations

from collections import OrderedDict
from enum import StrEnum

from torch import nn


class ActivationFunction(StrEnum):
    """The nonlinearity after every layer of a deep stack (`identity` leaves the stack linear)."""

    RELU = "relu"
    LEAKY_RELU = "leaky_relu"
    TANH = "tanh"
    SIGMOID = "sigmoid"
    GELU = "gelu"
    SELU = "selu"
    IDENTITY = "identity"


_ACTIVATIONS: dict[ActivationFunction, type[nn.Module]] = {
    ActivationFunction.RELU: nn.ReLU,
    ActivationFunction.LEAKY_RELU: nn.LeakyReLU,  # negative_slope 0.01, torch's default
    ActivationFunction.TANH: nn.Tanh,
    ActivationFunction.SIGMOID: nn.Sigmoid,
    ActivationFunction.GELU: nn.GELU,
    ActivationFunction.SELU: nn.SELU,
    ActivationFunction.IDENTITY: nn.Identity,
}


def _check_positive(**sizes: int) -> None:
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number ≥ 1, got {value!r}")


def deep_mlp(
    depth: int = 20, width: int = 256, activation: str = ActivationFunction.RELU, in_features: int = 256
) -> nn.Sequential:
    """Return `depth` × (Linear → activation): (B, in_features) -> (B, width).

    The first Linear maps in_features → width, every later one width → width.
    """
    _check_positive(depth=depth, width=width, in_features=in_features)
    act = _ACTIVATIONS[ActivationFunction(activation)]
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for index in range(1, depth + 1):
        layers[f"linear{index}"] = nn.Linear(in_features if index == 1 else width, width)  # (B, width)
        layers[f"act{index}"] = act()
    return nn.Sequential(layers)


def deep_cnn(
    depth: int = 10, channels: int = 16, activation: str = ActivationFunction.RELU, in_channels: int = 3
) -> nn.Sequential:
    """Return `depth` × (Conv2d 3×3, padding 1 → activation): (B, in_channels, H, W) -> (B, channels, H, W).

    Padding 1 keeps H and W, so depth is limited only by time, never by the image shrinking.
    """
    _check_positive(depth=depth, channels=channels, in_channels=in_channels)
    act = _ACTIVATIONS[ActivationFunction(activation)]
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for index in range(1, depth + 1):
        source = in_channels if index == 1 else channels
        layers[f"conv{index}"] = nn.Conv2d(source, channels, kernel_size=3, padding=1)  # (B, channels, H, W)
        layers[f"act{index}"] = act()
    return nn.Sequential(layers)
