"""Parameter formulas against `numel()` of the real layers, over random configurations."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from inspector.core.errors import InvalidArgumentError
from inspector.layers.param_formulas import (
    batchnorm_params,
    bilinear_params,
    conv_params,
    conv_transpose_params,
    embedding_params,
    groupnorm_params,
    layernorm_params,
    linear_params,
)
from inspector.layers.sequence_params import multihead_attention_params, rnn_params, transformer_encoder_layer_params

EXAMPLES = settings(max_examples=200, deadline=None)
CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
CONV_TRANSPOSE = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
RECURRENT = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}
features = st.integers(1, 24)
flags = st.booleans()


def real_count(build) -> int | None:
    """Return the built layer's parameter count, or None when torch refuses the configuration."""
    with torch.device("meta"):  # only shapes matter; nothing is allocated
        try:
            layer = build()
        except (ValueError, AssertionError, RuntimeError):
            return None
    return sum(p.numel() for p in layer.parameters())


def our_count(compute) -> int | None:
    """Return our count, or None when we raise InvalidArgumentError."""
    try:
        return compute().value
    except InvalidArgumentError:
        return None


# --- the notes' worked examples --------------------------------------------------------------


def test_notes_linear_784_256():
    worked = linear_params(784, 256)
    # 784·256 + 256 = 200,704 + 256 = 200,960
    assert (worked.value, worked.formula) == (200_960, "784·256 + 256 = 200,960")
    assert worked.value == real_count(lambda: nn.Linear(784, 256))


def test_notes_mlp_total():
    hidden, output = linear_params(784, 256), linear_params(256, 10)
    # 256·10 + 10 = 2570
    assert output.formula == "256·10 + 10 = 2570"
    # 200,960 + 2570 = 203,530
    total = hidden.value + output.value
    assert total == 203_530
    assert total == real_count(lambda: nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10)))


def test_conv_formula_worked():
    # (3/1)·3·3·16 + 16 = 432 + 16 = 448
    assert conv_params(3, 16, 3).formula == "(3/1)·3·3·16 + 16 = 448"


def test_batchnorm_says_running_stats_are_buffers():
    worked = batchnorm_params(64)
    # γ and β: 2·64 = 128
    assert worked.value == 128
    assert "buffers, not parameters" in worked.formula
    assert len(list(nn.BatchNorm2d(64).buffers())) == 3  # running_mean, running_var, num_batches_tracked


def test_lstm_two_layers_worked():
    worked = rnn_params("LSTM", 10, 20, num_layers=2)
    # layer 0: 4·20·(10 + 20) + 2·4·20 = 2400 + 160 = 2560
    # layer 1: 4·20·(20 + 20) + 2·4·20 = 3200 + 160 = 3360; total 2560 + 3360 = 5920
    assert worked.value == 5920
    assert worked.formula.startswith("layer 0: 4·20·(10 + 20) + 2·4·20 = 2560; layer 1: ")


def test_multihead_attention_512_8():
    # 3·512·512 + 3·512 + 512·512 + 512 = 786,432 + 1536 + 262,144 + 512 = 1,050,624
    assert multihead_attention_params(512, 8).formula == "3·512·512 + 3·512 + 512·512 + 512 = 1,050,624"


def test_transformer_encoder_layer_512():
    # 1,050,624 + (512·2048 + 2048) + (2048·512 + 512) + 2·(512 + 512) = 3,152,384
    assert transformer_encoder_layer_params(512, 8).value == 3_152_384


# --- against torch ---------------------------------------------------------------------------


@EXAMPLES
@given(n_in=features, n_out=features, bias=flags)
def test_linear_matches_torch(n_in, n_out, bias):
    assert linear_params(n_in, n_out, bias).value == real_count(lambda: nn.Linear(n_in, n_out, bias))


@EXAMPLES
@given(n1=features, n2=features, n_out=features, bias=flags)
def test_bilinear_matches_torch(n1, n2, n_out, bias):
    expected = real_count(lambda: nn.Bilinear(n1, n2, n_out, bias))
    assert bilinear_params(n1, n2, n_out, bias).value == expected


@EXAMPLES
@given(
    data=st.data(),
    ndim=st.sampled_from([1, 2, 3]),
    transposed=flags,
    c_in=st.integers(1, 12),
    c_out=st.integers(1, 12),
    groups=st.integers(1, 4),
    bias=flags,
)
def test_conv_matches_torch(data, ndim, transposed, c_in, c_out, groups, bias):
    kernel = data.draw(st.integers(1, 4) | st.tuples(*[st.integers(1, 4)] * ndim))
    layer = (CONV_TRANSPOSE if transposed else CONV)[ndim]
    formula = conv_transpose_params if transposed else conv_params
    expected = real_count(lambda: layer(c_in, c_out, kernel, groups=groups, bias=bias))
    assert our_count(lambda: formula(c_in, c_out, kernel, groups, bias, ndim)) == expected


@EXAMPLES
@given(c=features, affine=flags)
def test_batchnorm_matches_torch(c, affine):
    for layer in (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d):
        assert batchnorm_params(c, affine).value == real_count(lambda layer=layer: layer(c, affine=affine))


@EXAMPLES
@given(shape=st.lists(st.integers(1, 8), min_size=1, max_size=3), affine=flags, bias=flags, as_int=flags)
def test_layernorm_matches_torch(shape, affine, bias, as_int):
    normalized = shape[0] if as_int else tuple(shape)
    expected = real_count(lambda: nn.LayerNorm(normalized, elementwise_affine=affine, bias=bias))
    assert layernorm_params(normalized, affine, bias).value == expected


@EXAMPLES
@given(groups=st.integers(1, 6), channels=st.integers(1, 24), affine=flags)
def test_groupnorm_matches_torch(groups, channels, affine):
    expected = real_count(lambda: nn.GroupNorm(groups, channels, affine=affine))
    assert our_count(lambda: groupnorm_params(groups, channels, affine)) == expected


@EXAMPLES
@given(n=st.integers(1, 500), dim=features)
def test_embedding_matches_torch(n, dim):
    assert embedding_params(n, dim).value == real_count(lambda: nn.Embedding(n, dim))


@EXAMPLES
@given(
    mode=st.sampled_from(["RNN", "LSTM", "GRU"]),
    input_size=st.integers(1, 12),
    hidden=st.integers(1, 12),
    layers=st.integers(1, 4),
    bias=flags,
    bidirectional=flags,
    proj_size=st.integers(0, 6),
)
def test_recurrent_matches_torch(mode, input_size, hidden, layers, bias, bidirectional, proj_size):
    kwargs = dict(num_layers=layers, bias=bias, bidirectional=bidirectional)
    if proj_size or mode == "LSTM":  # nn.RNN and nn.GRU refuse even proj_size=0 when it is passed
        kwargs["proj_size"] = proj_size
    expected = real_count(lambda: RECURRENT[mode](input_size, hidden, **kwargs))
    assert our_count(lambda: rnn_params(mode, input_size, hidden, **kwargs)) == expected


@EXAMPLES
@given(
    embed_dim=st.integers(1, 32),
    heads=st.integers(1, 8),
    bias=flags,
    add_bias_kv=flags,
    kdim=st.none() | st.integers(1, 10),
    vdim=st.none() | st.integers(1, 10),
)
def test_multihead_attention_matches_torch(embed_dim, heads, bias, add_bias_kv, kdim, vdim):
    kwargs = dict(bias=bias, add_bias_kv=add_bias_kv, kdim=kdim, vdim=vdim)
    expected = real_count(lambda: nn.MultiheadAttention(embed_dim, heads, **kwargs))
    assert our_count(lambda: multihead_attention_params(embed_dim, heads, **kwargs)) == expected


@EXAMPLES
@given(d_model=st.integers(1, 32), nhead=st.integers(1, 4), feedforward=st.integers(1, 64), bias=flags)
def test_transformer_encoder_layer_matches_torch(d_model, nhead, feedforward, bias):
    expected = real_count(lambda: nn.TransformerEncoderLayer(d_model, nhead, feedforward, bias=bias))
    assert our_count(lambda: transformer_encoder_layer_params(d_model, nhead, feedforward, bias)) == expected


# --- bad input -------------------------------------------------------------------------------


def test_groups_not_dividing_channels_suggests_nearest():
    with pytest.raises(InvalidArgumentError) as caught:
        conv_params(10, 6, 3, groups=4)
    # gcd(10, 6) = 2, whose divisors nearest 4 are 2; multiples of 4 around 10 are 8 and 12
    assert caught.value.message == "in_channels=10 is not divisible by groups=4"
    assert caught.value.hint == "use groups 2 (dividing both 10 and 6), or in_channels 8 or 12"


def test_heads_not_dividing_embed_dim_suggests_nearest():
    with pytest.raises(InvalidArgumentError) as caught:
        multihead_attention_params(10, 3)
    # divisors of 10 around 3: 2 and 5; multiples of 3 around 10: 9 and 12
    assert caught.value.hint == "use num_heads 2 or 5, or embed_dim 9 or 12"


@pytest.mark.parametrize("bad", [0, -1, True, 2.0, math.nan, "8", None])
def test_bad_sizes_are_refused(bad):
    with pytest.raises(InvalidArgumentError):
        linear_params(bad, 4)
    with pytest.raises(InvalidArgumentError):
        conv_params(3, bad, 3)


def test_bad_flags_and_modes_are_refused():
    with pytest.raises(InvalidArgumentError):
        linear_params(4, 4, bias=1)
    with pytest.raises(InvalidArgumentError, match="'RNN', 'LSTM' or 'GRU'"):
        rnn_params("Transformer", 4, 4)
    with pytest.raises(InvalidArgumentError, match="proj_size"):
        rnn_params("GRU", 4, 4, proj_size=2)
    with pytest.raises(InvalidArgumentError, match="3 values"):
        conv_params(3, 3, (3, 3, 3), ndim=2)
