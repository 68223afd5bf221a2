"""LeNet-5 as in Dive into Deep Learning: two convolutions with average pooling, three linears."""

from __future__ import annotations

from enum import StrEnum

import torch
from torch import nn


class Activation(StrEnum):
    """The nonlinearity between layers: LeCun's sigmoid, or the ReLU that trains faster."""

    SIGMOID = "sigmoid"
    RELU = "relu"


_ACTIVATIONS: dict[Activation, type[nn.Module]] = {
    Activation.SIGMOID: nn.Sigmoid,
    Activation.RELU: nn.ReLU,
}


class LeNet5(nn.Module):
    """Classic LeNet-5 for 28×28 single-channel images: (B, 1, 28, 28) -> (B, num_classes).

    The first convolution pads by 2 so a 28×28 MNIST digit behaves like the original 32×32 input,
    which is why the flattened features are 16·5·5 = 400 (and why other image sizes do not fit).
    """

    def __init__(self, num_classes: int = 10, activation: str = Activation.SIGMOID) -> None:
        super().__init__()
        act = _ACTIVATIONS[Activation(activation)]
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, padding=2),  # (B, 6, 28, 28)
            act(),
            nn.AvgPool2d(kernel_size=2, stride=2),  # (B, 6, 14, 14)
            nn.Conv2d(6, 16, kernel_size=5),  # (B, 16, 10, 10)
            act(),
            nn.AvgPool2d(kernel_size=2, stride=2),  # (B, 16, 5, 5)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),  # (B, 400)
            nn.Linear(16 * 5 * 5, 120),
            act(),
            nn.Linear(120, 84),
            act(),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))  # (B, num_classes)
