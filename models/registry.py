"""The model zoo: each entry says how to build a model, which options it takes and what it eats.

Model files stay plain PyTorch; this module is the one place that names them and states their options
and default inputs, so the CLI and the app can offer a model without knowing its class. Their titles and
descriptions are text for people: they live in `locales/<lang>/zoo.toml` as `zoo.<name>.title` and
`zoo.<name>.description`, looked up by the CLI and the pages (this package never imports `inspector`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial

import torch
from torch import nn

from models.alexnet import AlexNet
from models.gpt import PRESETS, GPTPreset, build_gpt, gpt_config
from models.lenet import Activation, LeNet5
from models.mlp import MLP, ParameterListChain
from models.mobilenet import MobileNetV2
from models.resnet import resnet18, resnet50
from models.vgg import vgg11, vgg16

OptionValue = int | float | bool | str


@dataclass(frozen=True)
class ModelOption:
    """One configurable constructor argument, with the bounds a CLI flag or app widget needs."""

    name: str
    default: OptionValue
    minimum: int | float | None = None
    maximum: int | float | None = None
    choices: tuple[str, ...] | None = None
    help: str = ""


@dataclass(frozen=True)
class ZooEntry:
    """A named model: `build(**options)` makes it, `input_size` is what its forward takes by default.

    `input_size_fn`, when set, maps the full option values to the input size, for models whose
    input depends on an option (image side, sequence length, input features).
    """

    name: str
    build: Callable[..., nn.Module]
    options: tuple[ModelOption, ...]
    input_size: tuple[int, ...]
    input_dtype: torch.dtype = torch.float32
    family: str = ""
    input_size_fn: Callable[[Mapping[str, OptionValue]], tuple[int, ...]] | None = None
    # For options whose 0 means "the preset's value": the values a 0 stands for, given the other options.
    preset_values_fn: Callable[[Mapping[str, OptionValue]], dict[str, int]] | None = None

    def preset_values(self, options: Mapping[str, OptionValue]) -> dict[str, int]:
        """Return what each option set to 0 would be built with (the preset's value); {} without presets."""
        return {} if self.preset_values_fn is None else self.preset_values_fn({**self.defaults(), **options})

    def defaults(self) -> dict[str, OptionValue]:
        """Return every option's default value, keyed by option name."""
        return {option.name: option.default for option in self.options}

    def input_size_for(self, **kwargs: OptionValue) -> tuple[int, ...]:
        """Return the default input size (batch included) for a model built with these options."""
        unknown = sorted(set(kwargs) - {option.name for option in self.options})
        if unknown:
            raise TypeError(f"{self.name} has no option(s) {unknown}; it takes {sorted(self.defaults())}")
        if self.input_size_fn is None:
            return self.input_size
        return self.input_size_fn({**self.defaults(), **kwargs})


NUM_CLASSES = ModelOption("num_classes", 1000, 1, 100_000, help="outputs of the last linear")
_KEEP = " (0 keeps the preset's)"
GPT_OVERRIDES = (
    ModelOption("n_layer", 0, 0, 256, help="transformer blocks" + _KEEP),
    ModelOption("n_head", 0, 0, 256, help="attention heads; must divide n_embd" + _KEEP),
    ModelOption("n_embd", 0, 0, 16_384, help="embedding width C" + _KEEP),
    ModelOption("vocab_size", 0, 0, 1_000_000, help="token vocabulary" + _KEEP),
    ModelOption("seq_len", 0, 0, 131_072, help="context length = block_size" + _KEEP),
)


def _dropout(default: float) -> ModelOption:
    return ModelOption("dropout", default, 0.0, 1.0, help="drop probability in the classifier")


def _image_entry(
    name: str,
    constructor: Callable[..., nn.Module],
    extra: tuple[ModelOption, ...] = (),
    min_side: int = 32,
) -> ZooEntry:
    """Return an ImageNet classifier's entry; `image_size` shapes its input, never its weights.

    `min_side` is the smallest side whose last pooling still has a full window. At 32 the last
    stage of ResNet/MobileNetV2 is 1×1, which batch norm accepts in eval mode (or batch > 1).
    """

    def build(image_size: int = 224, **options: OptionValue) -> nn.Module:
        del image_size  # an adaptive average pool sits before the classifier
        return constructor(**options)

    def input_size(options: Mapping[str, OptionValue]) -> tuple[int, ...]:
        side = int(options["image_size"])
        return (1, 3, side, side)

    image_size = ModelOption("image_size", 224, min_side, 1024, help="height = width of the input")
    options = (NUM_CLASSES, image_size, *extra)
    return ZooEntry(
        name,
        build,
        options,
        (1, 3, 224, 224),
        family="cnn",
        input_size_fn=input_size,
    )


def _gpt_entry(name: str, fixed_preset: GPTPreset | None = None) -> ZooEntry:
    """Return a GPT entry: `preset` is an option unless `fixed_preset` pins it."""
    build: Callable[..., nn.Module] = build_gpt
    options: tuple[ModelOption, ...] = GPT_OVERRIDES
    if fixed_preset is None:
        preset_choices = tuple(p.value for p in GPTPreset)
        options = (
            ModelOption(
                "preset", GPTPreset.GPT2_124M.value, choices=preset_choices, help="GPT-2 checkpoint sizes or a 7B shape"
            ),
            *options,
        )
    else:
        build = partial(build_gpt, preset=fixed_preset)
    preset = fixed_preset or GPTPreset.GPT2_124M

    def input_size(options: Mapping[str, OptionValue]) -> tuple[int, ...]:
        sizes = {name: int(value) for name, value in options.items() if name != "preset"}
        config = gpt_config(str(options.get("preset", preset)), **sizes)  # seq_len 0 → preset's block_size
        return (1, config.block_size)

    def preset_values(options: Mapping[str, OptionValue]) -> dict[str, int]:
        base = PRESETS[GPTPreset(str(options.get("preset", preset)))]
        sizes = {"n_layer": base.n_layer, "n_head": base.n_head, "n_embd": base.n_embd, "vocab_size": base.vocab_size}
        return {**sizes, "seq_len": base.block_size}

    default_size = (1, PRESETS[preset].block_size)
    return ZooEntry(
        name,
        build,
        options,
        default_size,
        torch.long,
        "transformer",
        input_size,
        preset_values_fn=preset_values,
    )


_ENTRIES: tuple[ZooEntry, ...] = (
    ZooEntry(
        "mlp",
        MLP,
        (
            ModelOption("in_features", 784, minimum=1, maximum=100_000, help="input features (28·28 pixels)"),
            ModelOption("hidden", 256, minimum=1, maximum=100_000, help="width of the hidden layer"),
            ModelOption("out_features", 10, minimum=1, maximum=100_000, help="output features (classes)"),
        ),
        (1, 784),
        family="mlp",
        input_size_fn=lambda o: (1, int(o["in_features"])),
    ),
    ZooEntry(
        "param_list",
        ParameterListChain,
        (),
        (1, 4),
        family="mlp",
    ),
    ZooEntry(
        "lenet5",
        LeNet5,
        (
            replace(NUM_CLASSES, default=10),
            ModelOption(
                "activation",
                Activation.SIGMOID.value,
                choices=tuple(a.value for a in Activation),
                help="sigmoid as in the original, or relu",
            ),
        ),
        (1, 1, 28, 28),
        family="cnn",
    ),
    _image_entry(
        "alexnet",
        AlexNet,
        (_dropout(0.5),),
        min_side=63,
    ),
    _image_entry("vgg11", vgg11, (_dropout(0.5),)),
    _image_entry("vgg16", vgg16, (_dropout(0.5),)),
    _image_entry("resnet18", resnet18),
    _image_entry("resnet50", resnet50),
    _image_entry(
        "mobilenet_v2",
        MobileNetV2,
        (
            ModelOption("width_mult", 1.0, minimum=0.25, maximum=2.0, help="scales every layer's channels"),
            _dropout(0.2),
        ),
    ),
    _gpt_entry("gpt"),
    _gpt_entry("gpt2", fixed_preset=GPTPreset.GPT2_124M),
    _gpt_entry("gpt_7b", fixed_preset=GPTPreset.SEVEN_B),
)

ZOO: dict[str, ZooEntry] = {entry.name: entry for entry in _ENTRIES}


def zoo_names() -> list[str]:
    """Return the names of all zoo entries, in registration order."""
    return list(ZOO)


def get_entry(name: str) -> ZooEntry:
    """Return the zoo entry called `name`; KeyError listing the valid names otherwise."""
    try:
        return ZOO[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; choose one of: {', '.join(ZOO)}") from None
