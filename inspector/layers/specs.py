"""The registry of supported layers: constructor arguments, input layout and default input.

Keyed by the torch class; `LAYERS` maps the class name users type to its spec.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from difflib import get_close_matches
from enum import StrEnum

import torch
from torch import nn

from inspector.core.errors import UnknownNameError
from inspector.core.messages import Message, msg
from inspector.layers.args import MAX_CHANNELS, MAX_KERNEL, ArgKind, ArgSpec, ArgValue, arg_int, arg_shape

Args = dict[str, ArgValue]


class CallStyle(StrEnum):
    """How the layer is called with its input shape(s)."""

    SINGLE = "single"  # layer(x)
    PAIR = "pair"  # layer(x1, x2): Bilinear, two input shapes
    SELF_ATTENTION = "self_attention"  # layer(x, x, x): query = key = value


class Family(StrEnum):
    """Groups for menus and for which explanations apply."""

    LINEAR = "linear"
    CONV = "convolution"
    POOL = "pooling"
    NORM = "normalization"
    ACTIVATION = "activation"
    SHAPE = "reshaping"
    EMBEDDING = "embedding"
    RECURRENT = "recurrent"
    ATTENTION = "attention"


@dataclass(frozen=True)
class LayerSpec:
    """One supported layer: its class, arguments, input layout, and default input for given args."""

    layer_class: type[nn.Module]
    family: Family
    args: tuple[ArgSpec, ...]
    input_dims: Callable[[Args], tuple[str, ...]]
    default_input: Callable[[Args], tuple[int, ...]]
    spatial_ndim: int = 0
    call_style: CallStyle = CallStyle.SINGLE
    input_dtype: torch.dtype = torch.float32
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def name(self) -> str:
        """Return the class name users type, e.g. 'Conv2d'."""
        return self.layer_class.__name__

    @property
    def math(self) -> Message:
        """Return the layer's math line, `layer_math.<name>` in `locales/<lang>/layer_math.toml`."""
        return msg(f"layer_math.{self.name}")

    def arg(self, name: str) -> ArgSpec:
        """Return the spec of argument `name`."""
        return next(spec for spec in self.args if spec.name == name)


def _int(name: str, default: int, low: int = 1, high: int = MAX_CHANNELS, help: str = "") -> ArgSpec:
    return ArgSpec(name, ArgKind.INT, default, low, high, help=help)


def _bool(name: str, default: bool, help: str = "") -> ArgSpec:
    return ArgSpec(name, ArgKind.BOOL, default, help=help)


def _float(name: str, default: float, low: float = 0.0, high: float = 1.0, help: str = "") -> ArgSpec:
    return ArgSpec(name, ArgKind.FLOAT, default, low, high, help=help)


def _size(name: str, default: ArgValue, low: int = 1, kind: ArgKind = ArgKind.SIZE, help: str = "") -> ArgSpec:
    return ArgSpec(name, kind, default, low, MAX_KERNEL, help=help)


def _channels_in(args: Args) -> int:
    return arg_int(args, "in_channels")


def _conv_args(
    default_channels: int, default_kernel: int, default_padding: int, transpose: bool
) -> tuple[ArgSpec, ...]:
    extra = (_size("output_padding", 0, low=0, help="adds to one side of the output; < max(stride, dilation)"),)
    padding_kind = ArgKind.SIZE if transpose else ArgKind.PADDING
    padding_help = "zeros added on both sides" + ("" if transpose else "; 'same' keeps the size (stride 1 only)")
    return (
        _int("in_channels", default_channels, help="C_in: channels of the input"),
        _int("out_channels", default_channels, help="C_out: number of kernels = output channels"),
        _size("kernel_size", default_kernel, help="k: the window size"),
        _size("stride", 1, help="s: step between windows"),
        ArgSpec("padding", padding_kind, default_padding, 0, MAX_KERNEL, help=padding_help),
        *(extra if transpose else ()),
        _int("groups", 1, help="C_in and C_out must both be divisible by groups"),
        _bool("bias", True),
        _size("dilation", 1, help="d: spacing between kernel taps; effective kernel d·(k − 1) + 1"),
    )


def _spatial(ndim: int) -> tuple[str, ...]:
    return {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}[ndim]


def _conv(cls: type[nn.Module], ndim: int, transpose: bool = False) -> LayerSpec:
    names = _spatial(ndim)
    side = {1: 32, 2: 8, 3: 8}[ndim]
    return LayerSpec(
        cls,
        Family.CONV,
        _conv_args(1, 3, 0, transpose),
        lambda a: ("N", "C_in", *(f"{n}_in" for n in names)),
        lambda a: (1, _channels_in(a), *(side,) * ndim),
        spatial_ndim=ndim,
    )


def _pool(cls: type[nn.Module], ndim: int, kind: str) -> LayerSpec:
    names = _spatial(ndim)
    args = [
        _size("kernel_size", 2),
        _size("stride", None, kind=ArgKind.OPTIONAL_SIZE, help="defaults to kernel_size"),
        _size("padding", 0, low=0, help="at most half the kernel"),
    ]
    if kind == "max":
        args.append(_size("dilation", 1))
    args.append(_bool("ceil_mode", False, help="round the output size up instead of down"))
    if kind == "avg":
        args.append(_bool("count_include_pad", True))
    return LayerSpec(
        cls,
        Family.POOL,
        tuple(args),
        lambda a: ("N", "C", *(f"{n}_in" for n in names)),
        lambda a: (1, 1, *({1: (32,), 2: (8, 8)}[ndim])),
        spatial_ndim=ndim,
    )


def _features(args: Args) -> tuple[str, ...]:
    return ("N", "in_features")


def _rnn(cls: type[nn.Module]) -> LayerSpec:
    args = [
        _int("input_size", 10, help="H_in: features per time step"),
        _int("hidden_size", 20, help="H_out: features of the hidden state"),
        _int("num_layers", 1, high=64),
        _bool("bias", True),
        _bool("batch_first", False, help="input (N, L, H_in) instead of (L, N, H_in)"),
        _float("dropout", 0.0, help="between stacked layers (needs num_layers > 1)"),
        _bool("bidirectional", False),
    ]
    if cls is nn.LSTM:
        args.append(_int("proj_size", 0, low=0, help="projects h to proj_size (< hidden_size)"))
    if cls is nn.RNN:
        args.append(ArgSpec("nonlinearity", ArgKind.CHOICE, "tanh", choices=("tanh", "relu")))
    return LayerSpec(
        cls,
        Family.RECURRENT,
        tuple(args),
        lambda a: ("N", "L", "H_in") if a["batch_first"] else ("L", "N", "H_in"),
        lambda a: (1, 5, arg_int(a, "input_size")) if a["batch_first"] else (5, 1, arg_int(a, "input_size")),
    )


def _one_d(features_default: int = 10) -> Callable[[Args], tuple[int, ...]]:
    return lambda a: (1, features_default)


_SPECS: tuple[LayerSpec, ...] = (
    LayerSpec(
        nn.Linear,
        Family.LINEAR,
        (
            _int("in_features", 784, help="size of each input sample's last dimension"),
            _int("out_features", 256, help="size of each output sample"),
            _bool("bias", True),
        ),
        _features,
        lambda a: (1, arg_int(a, "in_features")),
    ),
    LayerSpec(
        nn.Bilinear,
        Family.LINEAR,
        (_int("in1_features", 20), _int("in2_features", 30), _int("out_features", 40), _bool("bias", True)),
        lambda a: ("N", "in1_features"),
        lambda a: (1, arg_int(a, "in1_features")),
        call_style=CallStyle.PAIR,
    ),
    _conv(nn.Conv1d, 1),
    _conv(nn.Conv2d, 2),
    _conv(nn.Conv3d, 3),
    _conv(nn.ConvTranspose1d, 1, transpose=True),
    _conv(nn.ConvTranspose2d, 2, transpose=True),
    _pool(nn.MaxPool1d, 1, "max"),
    _pool(nn.MaxPool2d, 2, "max"),
    _pool(nn.AvgPool1d, 1, "avg"),
    _pool(nn.AvgPool2d, 2, "avg"),
    LayerSpec(
        nn.AdaptiveAvgPool2d,
        Family.POOL,
        (_size("output_size", 1, help="the output's (H_out, W_out), whatever the input"),),
        lambda a: ("N", "C", "H_in", "W_in"),
        lambda a: (1, 1, 8, 8),
        spatial_ndim=2,
    ),
    LayerSpec(
        nn.BatchNorm1d,
        Family.NORM,
        (
            _int("num_features", 16),
            _float("eps", 1e-5),
            _float("momentum", 0.1),
            _bool("affine", True),
            _bool("track_running_stats", True),
        ),
        lambda a: ("N", "C"),
        lambda a: (2, arg_int(a, "num_features")),
    ),
    LayerSpec(
        nn.BatchNorm2d,
        Family.NORM,
        (
            _int("num_features", 16),
            _float("eps", 1e-5),
            _float("momentum", 0.1),
            _bool("affine", True),
            _bool("track_running_stats", True),
        ),
        lambda a: ("N", "C", "H", "W"),
        lambda a: (2, arg_int(a, "num_features"), 8, 8),
    ),
    LayerSpec(
        nn.LayerNorm,
        Family.NORM,
        (
            ArgSpec(
                "normalized_shape", ArgKind.SHAPE, (16,), 1, MAX_CHANNELS, help="the trailing dimensions normalized"
            ),
            _float("eps", 1e-5),
            _bool("elementwise_affine", True),
            _bool("bias", True),
        ),
        lambda a: ("N", "…", *(f"D{i}" for i in range(len(arg_shape(a, "normalized_shape"))))),
        lambda a: (1, 10, *arg_shape(a, "normalized_shape")),
    ),
    LayerSpec(
        nn.GroupNorm,
        Family.NORM,
        (_int("num_groups", 4), _int("num_channels", 16), _float("eps", 1e-5), _bool("affine", True)),
        lambda a: ("N", "C", "H", "W"),
        lambda a: (1, arg_int(a, "num_channels"), 8, 8),
    ),
    LayerSpec(
        nn.Dropout,
        Family.ACTIVATION,
        (_float("p", 0.5),),
        lambda a: ("N", "*"),
        _one_d(),
    ),
    LayerSpec(nn.ReLU, Family.ACTIVATION, (), lambda a: ("N", "*"), _one_d()),
    LayerSpec(
        nn.GELU,
        Family.ACTIVATION,
        (ArgSpec("approximate", ArgKind.CHOICE, "none", choices=("none", "tanh")),),
        lambda a: ("N", "*"),
        _one_d(),
    ),
    LayerSpec(nn.Sigmoid, Family.ACTIVATION, (), lambda a: ("N", "*"), _one_d()),
    LayerSpec(nn.Tanh, Family.ACTIVATION, (), lambda a: ("N", "*"), _one_d()),
    LayerSpec(
        nn.Softmax,
        Family.ACTIVATION,
        (_int("dim", -1, low=-8, high=7),),
        lambda a: ("N", "*"),
        _one_d(),
    ),
    LayerSpec(
        nn.Flatten,
        Family.SHAPE,
        (_int("start_dim", 1, low=-8, high=7), _int("end_dim", -1, low=-8, high=7)),
        lambda a: ("N", "C", "H", "W"),
        lambda a: (1, 3, 8, 8),
    ),
    LayerSpec(
        nn.Unflatten,
        Family.SHAPE,
        (_int("dim", 1, low=-8, high=7), ArgSpec("unflattened_size", ArgKind.SHAPE, (3, 8, 8), 1, MAX_CHANNELS)),
        lambda a: ("N", "C·H·W"),
        lambda a: (1, math.prod(arg_shape(a, "unflattened_size"))),
    ),
    LayerSpec(
        nn.Embedding,
        Family.EMBEDDING,
        (
            _int("num_embeddings", 1000, high=10_000_000, help="vocabulary size"),
            _int("embedding_dim", 64),
            ArgSpec("padding_idx", ArgKind.OPTIONAL_INT, None, -10_000_000, 10_000_000),
        ),
        lambda a: ("N", "L"),
        lambda a: (1, 16),
        input_dtype=torch.int64,
    ),
    _rnn(nn.RNN),
    _rnn(nn.LSTM),
    _rnn(nn.GRU),
    LayerSpec(
        nn.MultiheadAttention,
        Family.ATTENTION,
        (
            _int("embed_dim", 64),
            _int("num_heads", 8),
            _float("dropout", 0.0),
            _bool("bias", True),
            _bool("add_bias_kv", False),
            _bool("batch_first", False),
        ),
        lambda a: ("N", "L", "E") if a["batch_first"] else ("L", "N", "E"),
        lambda a: (1, 10, arg_int(a, "embed_dim")) if a["batch_first"] else (10, 1, arg_int(a, "embed_dim")),
        call_style=CallStyle.SELF_ATTENTION,
    ),
    LayerSpec(
        nn.TransformerEncoderLayer,
        Family.ATTENTION,
        (
            _int("d_model", 64),
            _int("nhead", 8),
            _int("dim_feedforward", 2048),
            _float("dropout", 0.1),
            ArgSpec("activation", ArgKind.CHOICE, "relu", choices=("relu", "gelu")),
            _float("layer_norm_eps", 1e-5),
            _bool("batch_first", False),
            _bool("norm_first", False),
            _bool("bias", True),
        ),
        lambda a: ("N", "L", "E") if a["batch_first"] else ("L", "N", "E"),
        lambda a: (1, 10, arg_int(a, "d_model")) if a["batch_first"] else (10, 1, arg_int(a, "d_model")),
    ),
)

LAYERS: dict[str, LayerSpec] = {spec.name: spec for spec in _SPECS}
BY_CLASS: dict[type[nn.Module], LayerSpec] = {spec.layer_class: spec for spec in _SPECS}


def get_layer_spec(name: str) -> LayerSpec:
    """Return the spec for a layer name such as 'Conv2d' (case-insensitive; 'nn.' prefix allowed)."""
    if not isinstance(name, str):
        raise UnknownNameError("layers.layer_type_not_text", type=type(name).__name__)
    key = name.strip().removeprefix("torch.").removeprefix("nn.")
    by_lower = {known.lower(): known for known in LAYERS}
    if key.lower() in by_lower:
        return LAYERS[by_lower[key.lower()]]
    close = get_close_matches(key, list(LAYERS), n=3, cutoff=0.5)
    key = "unknown_layer" if close else "unknown_layer_list"  # a guess when one is close, else the whole list
    raise UnknownNameError(key, name=repr(name), choices=", ".join(close or LAYERS))
