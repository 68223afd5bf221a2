"""Starting points for the builder: the notes' MLP, LeNet-5, an AlexNet-like stack, and its classic mistake."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from inspector.core.errors import UnknownNameError
from inspector.core.messages import msg
from inspector.layers.network_spec import LayerEntry, NetworkSpec, layer_entry


@dataclass(frozen=True)
class Template:
    """A named starting network."""

    name: str
    title: str
    description: str
    build: Callable[[], NetworkSpec]


def mlp_spec(input_shape: tuple[int, ...] = (1, 1, 28, 28)) -> NetworkSpec:
    """Return the notes' MLP 784 → 256 → ReLU → 10, with a Flatten first when the input is an image."""
    layers: list[LayerEntry] = []
    if len(input_shape) > 2:
        layers.append(layer_entry("Flatten"))
    features = math.prod(input_shape[1:]) if len(input_shape) > 1 else input_shape[0]
    layers += [
        layer_entry("Linear", in_features=features, out_features=256),
        layer_entry("ReLU"),
        layer_entry("Linear", in_features=256, out_features=10),
    ]
    return NetworkSpec(tuple(input_shape), tuple(layers))


def lenet5_spec() -> NetworkSpec:
    """Return LeNet-5 as in Dive into Deep Learning (sigmoid, average pooling, 28×28 input padded by 2)."""
    conv = {"stride": 1, "padding": 0}
    pool = {"kernel_size": 2, "stride": 2}
    return NetworkSpec(
        (1, 1, 28, 28),
        (
            layer_entry("Conv2d", in_channels=1, out_channels=6, kernel_size=5, stride=1, padding=2),  # (1, 6, 28, 28)
            layer_entry("Sigmoid"),
            layer_entry("AvgPool2d", **pool),  # (1, 6, 14, 14)
            layer_entry("Conv2d", in_channels=6, out_channels=16, kernel_size=5, **conv),  # (1, 16, 10, 10)
            layer_entry("Sigmoid"),
            layer_entry("AvgPool2d", **pool),  # (1, 16, 5, 5)
            layer_entry("Flatten"),  # (1, 400)
            layer_entry("Linear", in_features=16 * 5 * 5, out_features=120),
            layer_entry("Sigmoid"),
            layer_entry("Linear", in_features=120, out_features=84),
            layer_entry("Sigmoid"),
            layer_entry("Linear", in_features=84, out_features=10),
        ),
    )


def alexnet_spec(first_linear_in_features: int = 256 * 6 * 6) -> NetworkSpec:
    """Return torchvision's AlexNet as one stack for 224×224 images (61,100,840 parameters).

    `first_linear_in_features=4096` builds the classic mistake: the first Linear written with the
    hidden width instead of what Flatten gives, 256·6·6 = 9216.
    """

    def conv(c_in: int, c_out: int, kernel: int, stride: int = 1, padding: int = 0) -> LayerEntry:
        return layer_entry(
            "Conv2d", in_channels=c_in, out_channels=c_out, kernel_size=kernel, stride=stride, padding=padding
        )

    relu, pool = layer_entry("ReLU"), layer_entry("MaxPool2d", kernel_size=3, stride=2)
    return NetworkSpec(
        (1, 3, 224, 224),
        (
            conv(3, 64, 11, stride=4, padding=2), relu, pool,  # (1, 64, 55, 55) → (1, 64, 27, 27)
            conv(64, 192, 5, padding=2), relu, pool,  # (1, 192, 27, 27) → (1, 192, 13, 13)
            conv(192, 384, 3, padding=1), relu,
            conv(384, 256, 3, padding=1), relu,
            conv(256, 256, 3, padding=1), relu, pool,  # (1, 256, 13, 13) → (1, 256, 6, 6)
            layer_entry("AdaptiveAvgPool2d", output_size=(6, 6)),
            layer_entry("Flatten"),  # (1, 9216)
            layer_entry("Dropout", p=0.5),
            layer_entry("Linear", in_features=first_linear_in_features, out_features=4096), relu,
            layer_entry("Dropout", p=0.5),
            layer_entry("Linear", in_features=4096, out_features=4096), relu,
            layer_entry("Linear", in_features=4096, out_features=1000),
        ),
    )  # fmt: skip


TEMPLATES: dict[str, Template] = {
    template.name: template
    for template in (
        Template(
            "empty",
            msg("template.empty.title"),
            msg("template.empty.description"),
            lambda: NetworkSpec((1, 1, 28, 28)),
        ),
        Template(
            "mlp",
            msg("template.mlp.title"),
            msg("template.mlp.description"),
            mlp_spec,
        ),
        Template(
            "lenet5",
            msg("template.lenet5.title"),
            msg("template.lenet5.description"),
            lenet5_spec,
        ),
        Template(
            "alexnet",
            msg("template.alexnet.title"),
            msg("template.alexnet.description"),
            alexnet_spec,
        ),
        Template(
            "alexnet_mistake",
            msg("template.alexnet_mistake.title"),
            msg("template.alexnet_mistake.description"),
            lambda: alexnet_spec(first_linear_in_features=4096),
        ),
    )
}


def template_spec(name: str) -> NetworkSpec:
    """Return the spec of template `name`, or raise listing the templates."""
    if name not in TEMPLATES:
        raise UnknownNameError("errors_a.unknown_template", name=repr(name), choices=", ".join(TEMPLATES))
    return TEMPLATES[name].build()
