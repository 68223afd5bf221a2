"""Output-size formulas against the real torch layers: same size when torch runs, an error when it fails."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from inspector.core.errors import InvalidArgumentError
from inspector.layers.output_size import (
    conv_output_shape,
    conv_output_size,
    conv_transpose_output_shape,
    conv_transpose_output_size,
)
from inspector.layers.pool_size import pool_output_shape, pool_output_size

CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
CONV_TRANSPOSE = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
POOL = {
    ("max", 1): nn.MaxPool1d, ("max", 2): nn.MaxPool2d, ("max", 3): nn.MaxPool3d,
    ("avg", 1): nn.AvgPool1d, ("avg", 2): nn.AvgPool2d, ("avg", 3): nn.AvgPool3d,
}  # fmt: skip
EXAMPLES = settings(max_examples=200, deadline=None)


def torch_spatial_shape(build, spatial: tuple[int, ...], requires_grad: bool = False):
    """Return the real layer's output spatial shape on a (1, 1, *spatial) input, or None if torch fails."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zero-element init and even-kernel 'same' warnings
            layer = build()
            x = torch.zeros(1, 1, *spatial, requires_grad=requires_grad)
            return tuple(layer(x).shape[2:])
    except (RuntimeError, ValueError):
        return None


def our_shape(compute):
    """Return our predicted shape, or None if we raise InvalidArgumentError."""
    try:
        return tuple(worked.value for worked in compute())
    except InvalidArgumentError:
        return None


@st.composite
def per_dim(draw, ndim: int, values: st.SearchStrategy[int]):
    """An int or a tuple of ndim ints, as torch's constructors accept."""
    if draw(st.booleans()):
        return draw(values)
    return tuple(draw(values) for _ in range(ndim))


def mostly(good: st.SearchStrategy[int], bad: st.SearchStrategy[int]) -> st.SearchStrategy[int]:
    """Values from `good` nine times in ten, else from `bad`, so most layers build and run."""
    return st.integers(0, 9).flatmap(lambda roll: bad if roll == 0 else good)


@st.composite
def spatial_sizes(draw, ndim: int):
    return tuple(draw(st.integers(1, 12 if ndim < 3 else 7)) for _ in range(ndim))


# --- the notes' worked example ---------------------------------------------------------------


def test_notes_example_8x8_kernel_5x3_padding_2x1_keeps_8x8():
    height, width = conv_output_shape((8, 8), (5, 3), padding=(2, 1), ndim=2)
    # ⌊(8 + 2·2 − 1·(5 − 1) − 1)/1⌋ + 1 = 7 + 1 = 8
    assert height.formula == "⌊(8 + 2·2 − 1·(5 − 1) − 1)/1⌋ + 1 = 8"
    # ⌊(8 + 2·1 − 1·(3 − 1) − 1)/1⌋ + 1 = 7 + 1 = 8
    assert width.formula == "⌊(8 + 2·1 − 1·(3 − 1) − 1)/1⌋ + 1 = 8"
    assert width.symbolic == "⌊(W_in + 2·p − d·(k − 1) − 1)/s⌋ + 1"
    real = nn.Conv2d(1, 1, kernel_size=(5, 3), padding=(2, 1))(torch.zeros(1, 1, 8, 8))
    assert tuple(real.shape) == (1, 1, 8, 8)


def test_conv_output_size_one_dimension_formula_verbatim():
    worked = conv_output_size(8, 5, stride=1, padding=2, dilation=1)
    assert (worked.value, worked.formula) == (8, "⌊(8 + 2·2 − 1·(5 − 1) − 1)/1⌋ + 1 = 8")


def test_strided_dilated_example():
    # ⌊(28 + 2·1 − 2·(3 − 1) − 1)/2⌋ + 1 = ⌊25/2⌋ + 1 = 12 + 1 = 13
    assert conv_output_size(28, 3, stride=2, padding=1, dilation=2).value == 13


def test_large_results_get_thousands_separators():
    # ⌊(12000 + 2·0 − 1·(1 − 1) − 1)/1⌋ + 1 = 12,000
    assert conv_output_size(12_000, 1).formula.endswith("= 12,000")


# --- convolution against torch ---------------------------------------------------------------


@EXAMPLES
@given(data=st.data(), ndim=st.sampled_from([1, 2, 3]))
def test_conv_matches_torch(data, ndim):
    spatial = data.draw(spatial_sizes(ndim))
    kernel = data.draw(per_dim(ndim, mostly(st.integers(1, 5), st.integers(-1, 0))))
    stride = data.draw(per_dim(ndim, mostly(st.integers(1, 4), st.integers(-1, 0))))
    padding = data.draw(per_dim(ndim, mostly(st.integers(0, 3), st.just(-1))))
    dilation = data.draw(per_dim(ndim, mostly(st.integers(1, 2), st.integers(-1, 0))))
    expected = torch_spatial_shape(
        lambda: CONV[ndim](1, 1, kernel, stride=stride, padding=padding, dilation=dilation), spatial
    )
    ours = our_shape(lambda: conv_output_shape(spatial, kernel, stride, padding, dilation, ndim=ndim))
    assert ours == expected


@EXAMPLES
@given(data=st.data(), ndim=st.sampled_from([1, 2, 3]), mode=st.sampled_from(["same", "valid"]))
def test_conv_padding_strings_match_torch(data, ndim, mode):
    spatial = data.draw(spatial_sizes(ndim))
    kernel = data.draw(per_dim(ndim, st.integers(1, 6)))
    stride = data.draw(per_dim(ndim, st.integers(1, 2)))
    dilation = data.draw(per_dim(ndim, st.integers(1, 3)))
    expected = torch_spatial_shape(
        lambda: CONV[ndim](1, 1, kernel, stride=stride, padding=mode, dilation=dilation), spatial
    )
    ours = our_shape(lambda: conv_output_shape(spatial, kernel, stride, mode, dilation, ndim=ndim))
    assert ours == expected
    if mode == "same" and ours is not None:
        assert ours == spatial


def test_same_padding_formula_shows_torch_split():
    (worked,) = conv_output_shape((8,), 4, padding="same", ndim=1)
    # total padding d·(k − 1) = 1·(4 − 1) = 3: ⌊3/2⌋ = 1 left, 3 − 1 = 2 right
    assert worked.value == 8
    assert "1·(4 − 1) = 3" in worked.formula
    assert "1 left and 2 right" in worked.formula


def test_same_padding_refused_with_stride_like_torch():
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(1, 1, 3, stride=(1, 2), padding="same")
    with pytest.raises(InvalidArgumentError, match="strided") as caught:
        conv_output_shape((8, 8), 3, stride=(1, 2), padding="same", ndim=2)
    assert "stride=1" in caught.value.hint


# --- transposed convolution against torch ----------------------------------------------------


@EXAMPLES
@given(data=st.data(), ndim=st.sampled_from([1, 2, 3]))
def test_conv_transpose_matches_torch(data, ndim):
    spatial = data.draw(spatial_sizes(ndim))
    kernel = data.draw(per_dim(ndim, mostly(st.integers(1, 5), st.just(0))))
    stride = data.draw(per_dim(ndim, mostly(st.integers(1, 3), st.just(0))))
    padding = data.draw(per_dim(ndim, mostly(st.integers(0, 3), st.just(-1))))
    output_padding = data.draw(per_dim(ndim, mostly(st.integers(0, 1), st.integers(-1, 3))))
    dilation = data.draw(per_dim(ndim, mostly(st.integers(1, 3), st.just(0))))

    def build():
        return CONV_TRANSPOSE[ndim](
            1, 1, kernel, stride=stride, padding=padding,
            output_padding=output_padding, dilation=dilation,
        )  # fmt: skip

    expected = torch_spatial_shape(build, spatial)
    if expected is not None and 0 in expected:
        # torch's CPU kernels return some empty outputs, e.g. (0, 4), that its meta kernels and
        # ConvTranspose1d refuse ("Output size is too small"); we refuse every empty output
        expected = None
    ours = our_shape(
        lambda: conv_transpose_output_shape(spatial, kernel, stride, padding, output_padding, dilation, ndim=ndim)
    )
    assert ours == expected


def test_conv_transpose_doubles_with_stride_2():
    # (4 − 1)·2 − 2·1 + 1·(3 − 1) + 1 + 1 = 6 − 2 + 2 + 2 = 8
    worked = conv_transpose_output_size(4, 3, stride=2, padding=1, output_padding=1)
    assert worked.formula == "(4 − 1)·2 − 2·1 + 1·(3 − 1) + 1 + 1 = 8"


def test_output_padding_must_be_below_stride_or_dilation():
    with pytest.raises(InvalidArgumentError, match="smaller than either stride") as caught:
        conv_transpose_output_size(4, 3, stride=2, output_padding=2)
    assert caught.value.hint == "use output_padding ≤ 1"  # max(2, 1) − 1 = 1


# --- pooling against torch -------------------------------------------------------------------


@EXAMPLES
@given(
    data=st.data(),
    kind=st.sampled_from(["max", "avg"]),
    ndim=st.sampled_from([1, 2, 3]),
    ceil_mode=st.booleans(),
)
def test_pool_matches_torch(data, kind, ndim, ceil_mode):
    spatial = data.draw(spatial_sizes(ndim))
    kernel = data.draw(per_dim(ndim, mostly(st.integers(1, 5), st.just(0))))
    stride = data.draw(st.none() | per_dim(ndim, mostly(st.integers(1, 4), st.just(0))))
    padding = data.draw(per_dim(ndim, mostly(st.integers(0, 2), st.integers(-1, 3))))
    dilation = data.draw(per_dim(ndim, mostly(st.integers(1, 3), st.just(0)))) if kind == "max" else 1
    extra = {"dilation": dilation} if kind == "max" else {}

    def build():
        return POOL[kind, ndim](kernel, stride=stride, padding=padding, ceil_mode=ceil_mode, **extra)

    ours = our_shape(lambda: pool_output_shape(kind, spatial, kernel, stride, padding, dilation, ceil_mode, ndim=ndim))
    # max_pool1d has its own kernel without autograd: check both of torch's paths
    for requires_grad in (False, True):
        assert ours == torch_spatial_shape(build, spatial, requires_grad)


def test_pool_stride_defaults_to_kernel():
    # ⌊(8 + 2·0 − 2)/2⌋ + 1 = 3 + 1 = 4
    assert pool_output_size("avg", 8, 2).formula == "⌊(8 + 2·0 − 2)/2⌋ + 1 = 4"


def test_ceil_mode_drops_a_window_starting_in_right_padding():
    # ⌈(6 + 2·1 − 1·(2 − 1) − 1)/2⌉ + 1 = ⌈6/2⌉ + 1 = 4, and the last window starts at
    # (4 − 1)·2 = 6, which is inside the input + left padding (6 + 1 = 7): kept, 4
    assert pool_output_size("max", 6, 2, stride=2, padding=1, ceil_mode=True).value == 4
    # ⌈(5 + 2·1 − 1·(3 − 1) − 1)/3⌉ + 1 = ⌈4/3⌉ + 1 = 3, but (3 − 1)·3 = 6 ≥ 5 + 1: dropped, 2
    worked = pool_output_size("max", 5, 3, stride=3, padding=1, ceil_mode=True)
    assert worked.value == 2
    assert "drops it" in worked.formula
    assert nn.MaxPool1d(3, stride=3, padding=1, ceil_mode=True)(torch.zeros(1, 1, 5)).shape[-1] == 2


def test_ceil_mode_allows_a_window_larger_than_the_input():
    # ⌈(3 + 2·0 − 5)/3⌉ + 1 = ⌈−2/3⌉ + 1 = 0 + 1 = 1: torch keeps one window hanging off the end
    assert pool_output_size("avg", 3, 5, stride=3, ceil_mode=True).value == 1
    assert nn.AvgPool1d(5, stride=3, ceil_mode=True)(torch.zeros(1, 1, 3)).shape[-1] == 1


def test_pool_padding_limit_ignores_dilation():
    # torch allows p ≤ ⌊k/2⌋ = ⌊3/2⌋ = 1 even though the dilated window spans 2·(3 − 1) + 1 = 5
    with pytest.raises(RuntimeError, match="half of kernel size"):
        nn.MaxPool2d(3, padding=2, dilation=2)(torch.zeros(1, 1, 9, 9))
    with pytest.raises(InvalidArgumentError, match=r"⌊3/2⌋ = 1"):
        pool_output_size("max", 9, 3, padding=2, dilation=2)


def test_avg_pool_has_no_dilation():
    with pytest.raises(InvalidArgumentError, match="no dilation"):
        pool_output_size("avg", 9, 3, dilation=2)


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [0, -3, True, 2.5, 3.0, math.nan, "8", None])
def test_bad_input_size_is_refused(bad):
    with pytest.raises(InvalidArgumentError):
        conv_output_size(bad, 3)


@pytest.mark.parametrize("bad", [True, 2.5, math.nan, "3", None, (3,)])
def test_bad_kernel_type_is_refused(bad):
    with pytest.raises(InvalidArgumentError):
        conv_output_size(8, bad)


def test_float_hint_gives_the_int():
    with pytest.raises(InvalidArgumentError) as caught:
        conv_output_size(8, 3.0)
    assert caught.value.hint == "use kernel_size=3"


def test_negative_padding_is_refused():
    with pytest.raises(InvalidArgumentError, match="padding must be ≥ 0"):
        conv_output_size(8, 3, padding=-1)


def test_wrong_tuple_lengths_are_refused():
    with pytest.raises(InvalidArgumentError, match="3 values"):
        conv_output_shape((8, 8), (5, 3, 3), ndim=2)
    with pytest.raises(InvalidArgumentError, match="tuple of 2 sizes"):
        conv_output_shape((8, 8, 8), 3, ndim=2)
    with pytest.raises(InvalidArgumentError, match="ndim"):
        conv_output_shape((8,) * 4, 3, ndim=4)


def test_unknown_padding_string_and_pool_kind_are_refused():
    with pytest.raises(InvalidArgumentError, match="'same' or 'valid'"):
        conv_output_shape((8,), 3, padding="full", ndim=1)
    with pytest.raises(InvalidArgumentError, match="'max' or 'avg'"):
        pool_output_size("min", 8, 2)


def test_kernel_larger_than_padded_input_names_sizes_and_fix():
    with pytest.raises(InvalidArgumentError) as caught:
        conv_output_size(3, 7, padding=1)
    # padded input 3 + 2·1 = 5 < kernel extent 1·(7 − 1) + 1 = 7
    assert "= 5" in caught.value.message and "= 7" in caught.value.message
    # ⌈(7 − 3)/2⌉ = 2, and the largest kernel is (5 − 1)//1 + 1 = 5
    assert caught.value.hint == "use padding ≥ 2 or kernel_size ≤ 5 (or a larger input)"
    assert conv_output_size(3, 7, padding=2).value == 1
    assert conv_output_size(3, 5, padding=1).value == 1


def test_errors_along_an_axis_name_it():
    with pytest.raises(InvalidArgumentError, match=r"^along W: "):
        conv_output_shape((8, 2), 3, ndim=2)
