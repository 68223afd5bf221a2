"""VGG-11 and VGG-16 as torchvision defines them (Simonyan & Zisserman, 2014), without batch norm."""

from __future__ import annotations

import torch
from torch import nn

# Channels of each 3×3 convolution, "M" a 2×2 max-pool; torchvision's configurations "A" and "D".
MAX_POOL = "M"
VGG_LAYOUTS: dict[str, list[int | str]] = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [
        64,
        64,
        "M",
        128,
        128,
        "M",
        256,
        256,
        256,
        "M",
        512,
        512,
        512,
        "M",
        512,
        512,
        512,
        "M",
    ],
}


def make_features(layout: list[int | str]) -> nn.Sequential:
    """Return the convolutional trunk for a layout: Conv3×3+ReLU per number, MaxPool per "M"."""
    layers: list[nn.Module] = []
    in_channels = 3
    for item in layout:
        if item == MAX_POOL:
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))  # halves H and W
        else:
            out_channels = int(item)
            layers.append(nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1))
            layers.append(nn.ReLU(inplace=True))
            in_channels = out_channels
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """A VGG trunk, a 7×7 adaptive pool and three linears: (B, 3, H, W) -> (B, num_classes).

    Module names and initialisation follow `torchvision.models.VGG`; 124M of VGG-16's 138M
    parameters sit in the classifier, mostly in the first 25088×4096 linear.
    """

    def __init__(self, features: nn.Sequential, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                if module.bias is not None:  # every conv here has one; the check tells mypy so
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0, 0.01)
                nn.init.zeros_(module.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # (B, 512, H/32, W/32)
        x = self.avgpool(x)  # (B, 512, 7, 7)
        x = torch.flatten(x, 1)  # (B, 25088)
        return self.classifier(x)  # (B, num_classes)


def vgg11(num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """Return VGG-11 (configuration A): 8 convolutions, 132,863,336 parameters at 1000 classes."""
    return VGG(make_features(VGG_LAYOUTS["vgg11"]), num_classes, dropout)


def vgg16(num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """Return VGG-16 (configuration D): 13 convolutions, 138,357,544 parameters at 1000 classes."""
    return VGG(make_features(VGG_LAYOUTS["vgg16"]), num_classes, dropout)
