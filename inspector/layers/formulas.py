"""Which worked formulas explain each supported layer: a registry keyed on the layer class.

Each entry turns the layer's arguments (and input shape) into calls of the pure formula modules;
the real layer's measured numbers are compared with these in `layer_inspection`.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from inspector.core.worked import Worked
from inspector.layers import output_size, padding, param_formulas, pool_size, sequence_params
from inspector.layers.args import arg_flag, arg_int, arg_optional_size, arg_padding, arg_size
from inspector.layers.receptive_field import ReceptiveFieldRow, WindowSpec, receptive_field
from inspector.layers.specs import Args

OutputFormula = Callable[[Args, tuple[int, ...], int], tuple[Worked, ...]]
ParamFormula = Callable[[Args], Worked]

OUTPUT_FORMULAS: dict[type[nn.Module], OutputFormula] = {}
PARAM_FORMULAS: dict[type[nn.Module], ParamFormula] = {}


def _spatial_in(shape: tuple[int, ...], ndim: int) -> tuple[int, ...]:
    return tuple(shape[-ndim:])


def _conv_output(args: Args, shape: tuple[int, ...], ndim: int) -> tuple[Worked, ...]:
    return output_size.conv_output_shape(
        _spatial_in(shape, ndim),
        arg_size(args, "kernel_size"),
        arg_size(args, "stride"),
        arg_padding(args),
        arg_size(args, "dilation"),
        ndim=ndim,
    )


def _conv_transpose_output(args: Args, shape: tuple[int, ...], ndim: int) -> tuple[Worked, ...]:
    return output_size.conv_transpose_output_shape(
        _spatial_in(shape, ndim),
        arg_size(args, "kernel_size"),
        arg_size(args, "stride"),
        arg_size(args, "padding"),
        arg_size(args, "output_padding"),
        arg_size(args, "dilation"),
        ndim=ndim,
    )


def _dilation(args: Args) -> int | tuple[int, ...]:
    return arg_size(args, "dilation") if "dilation" in args else 1  # average pools have none


def _pool_output(kind: str) -> OutputFormula:
    def formula(args: Args, shape: tuple[int, ...], ndim: int) -> tuple[Worked, ...]:
        return pool_size.pool_output_shape(
            kind,
            _spatial_in(shape, ndim),
            arg_size(args, "kernel_size"),
            arg_optional_size(args, "stride"),
            arg_size(args, "padding"),
            _dilation(args),
            arg_flag(args, "ceil_mode"),
            ndim=ndim,
        )

    return formula


for _cls in (nn.Conv1d, nn.Conv2d, nn.Conv3d):
    OUTPUT_FORMULAS[_cls] = _conv_output
for _transpose in (nn.ConvTranspose1d, nn.ConvTranspose2d):
    OUTPUT_FORMULAS[_transpose] = _conv_transpose_output
OUTPUT_FORMULAS[nn.MaxPool1d] = OUTPUT_FORMULAS[nn.MaxPool2d] = _pool_output("max")
OUTPUT_FORMULAS[nn.AvgPool1d] = OUTPUT_FORMULAS[nn.AvgPool2d] = _pool_output("avg")


def _conv_params(ndim: int) -> ParamFormula:
    return lambda a: param_formulas.conv_params(
        arg_int(a, "in_channels"),
        arg_int(a, "out_channels"),
        arg_size(a, "kernel_size"),
        arg_int(a, "groups"),
        arg_flag(a, "bias"),
        ndim=ndim,
    )


def _conv_transpose_params(ndim: int) -> ParamFormula:
    return lambda a: param_formulas.conv_transpose_params(
        arg_int(a, "in_channels"),
        arg_int(a, "out_channels"),
        arg_size(a, "kernel_size"),
        arg_int(a, "groups"),
        arg_flag(a, "bias"),
        ndim=ndim,
    )


def _rnn_params(mode: str) -> ParamFormula:
    return lambda a: sequence_params.rnn_params(
        mode,
        arg_int(a, "input_size"),
        arg_int(a, "hidden_size"),
        arg_int(a, "num_layers"),
        arg_flag(a, "bias"),
        arg_flag(a, "bidirectional"),
        arg_int(a, "proj_size") if "proj_size" in a else 0,
    )


PARAM_FORMULAS.update(
    {
        nn.Linear: lambda a: param_formulas.linear_params(
            arg_int(a, "in_features"), arg_int(a, "out_features"), arg_flag(a, "bias")
        ),
        nn.Bilinear: lambda a: param_formulas.bilinear_params(
            arg_int(a, "in1_features"), arg_int(a, "in2_features"), arg_int(a, "out_features"), arg_flag(a, "bias")
        ),
        nn.Conv1d: _conv_params(1),
        nn.Conv2d: _conv_params(2),
        nn.Conv3d: _conv_params(3),
        nn.ConvTranspose1d: _conv_transpose_params(1),
        nn.ConvTranspose2d: _conv_transpose_params(2),
        nn.BatchNorm1d: lambda a: param_formulas.batchnorm_params(arg_int(a, "num_features"), arg_flag(a, "affine")),
        nn.BatchNorm2d: lambda a: param_formulas.batchnorm_params(arg_int(a, "num_features"), arg_flag(a, "affine")),
        nn.LayerNorm: lambda a: param_formulas.layernorm_params(
            arg_size(a, "normalized_shape"), arg_flag(a, "elementwise_affine"), arg_flag(a, "bias")
        ),
        nn.GroupNorm: lambda a: param_formulas.groupnorm_params(
            arg_int(a, "num_groups"), arg_int(a, "num_channels"), arg_flag(a, "affine")
        ),
        nn.Embedding: lambda a: param_formulas.embedding_params(
            arg_int(a, "num_embeddings"), arg_int(a, "embedding_dim")
        ),
        nn.RNN: _rnn_params("RNN"),
        nn.LSTM: _rnn_params("LSTM"),
        nn.GRU: _rnn_params("GRU"),
        nn.MultiheadAttention: lambda a: sequence_params.multihead_attention_params(
            arg_int(a, "embed_dim"), arg_int(a, "num_heads"), arg_flag(a, "bias"), arg_flag(a, "add_bias_kv")
        ),
        nn.TransformerEncoderLayer: lambda a: sequence_params.transformer_encoder_layer_params(
            arg_int(a, "d_model"), arg_int(a, "nhead"), arg_int(a, "dim_feedforward"), arg_flag(a, "bias")
        ),
    }
)


def output_formulas(cls: type[nn.Module], args: Args, shape: tuple[int, ...], ndim: int) -> tuple[Worked, ...]:
    """Return the worked output size per spatial dimension, or () for layers without one."""
    formula = OUTPUT_FORMULAS.get(cls)
    return formula(args, shape, ndim) if formula else ()


def parameter_formula(cls: type[nn.Module], args: Args) -> Worked | None:
    """Return the worked parameter count, or None for layers without parameters."""
    formula = PARAM_FORMULAS.get(cls)
    return formula(args) if formula else None


def padding_suggestions(
    cls: type[nn.Module], args: Args, shape: tuple[int, ...], ndim: int
) -> tuple[padding.PaddingSolution, ...]:
    """Return, per spatial dimension, the padding that keeps the size (convolutions only)."""
    if cls not in (nn.Conv1d, nn.Conv2d, nn.Conv3d):
        return ()
    return padding.same_padding_shape(
        arg_size(args, "kernel_size"),
        arg_size(args, "stride"),
        arg_size(args, "dilation"),
        _spatial_in(shape, ndim),
        ndim=ndim,
    )


def _per_axis(value: int | tuple[int, ...], ndim: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, tuple) else (value,) * ndim


def receptive_fields(cls: type[nn.Module], args: Args, ndim: int) -> tuple[list[ReceptiveFieldRow], ...]:
    """Return one receptive-field table per spatial dimension for a conv or pool layer."""
    if cls not in OUTPUT_FORMULAS or cls in (nn.ConvTranspose1d, nn.ConvTranspose2d):
        return ()
    if isinstance(args.get("padding"), str):  # 'same'/'valid': torch's left padding
        kernels, dilations = _per_axis(arg_size(args, "kernel_size"), ndim), _per_axis(_dilation(args), ndim)
        pads = tuple(
            0 if arg_padding(args) == "valid" else d * (k - 1) // 2 for k, d in zip(kernels, dilations, strict=False)
        )
    else:
        pads = _per_axis(arg_size(args, "padding"), ndim)
    stride = arg_optional_size(args, "stride")
    if stride is None:  # a pool's default: its window's own size
        stride = arg_size(args, "kernel_size")
    columns = zip(
        _per_axis(arg_size(args, "kernel_size"), ndim),
        _per_axis(stride, ndim),
        pads,
        _per_axis(_dilation(args), ndim),
        strict=True,
    )
    return tuple(receptive_field([WindowSpec(cls.__name__, k, s, p, d)]) for k, s, p, d in columns)
