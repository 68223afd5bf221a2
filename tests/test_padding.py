"""The padding solver against the real Conv1d: the padding it gives must give the size it says."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from inspector.core.errors import InvalidArgumentError
from inspector.layers.padding import (
    padding_for_target,
    padding_for_target_shape,
    same_padding,
    same_padding_shape,
)

EXAMPLES = settings(max_examples=200, deadline=None)
kernels = st.integers(1, 7)
strides = st.integers(1, 3)
dilations = st.integers(1, 3)
sizes = st.integers(1, 16)


def real_output(input_size: int, kernel: int, stride: int, padding, dilation: int) -> int | None:
    """Return Conv1d's output length on an input of `input_size`, or None when torch refuses."""
    try:
        layer = nn.Conv1d(1, 1, kernel, stride=stride, padding=padding, dilation=dilation)
        return layer(torch.zeros(1, 1, input_size)).shape[-1]
    except (RuntimeError, ValueError):
        return None


def smallest_real_padding(input_size, target, kernel, stride, dilation) -> int | None:
    """Return the smallest padding torch's Conv1d turns into `target`, trying every useful one."""
    # beyond 2·p = T·s + d·(k − 1) the output is already larger than T
    for padding in range((target * stride + dilation * (kernel - 1)) // 2 + 2):
        if real_output(input_size, kernel, stride, padding, dilation) == target:
            return padding
    return None


@EXAMPLES
@given(input_size=sizes, target=st.integers(1, 20), kernel=kernels, stride=strides, dilation=dilations)
def test_padding_for_target_matches_torch(input_size, target, kernel, stride, dilation):
    solution = padding_for_target(input_size, target, kernel, stride, dilation)
    assert solution.padding == smallest_real_padding(input_size, target, kernel, stride, dilation)
    assert solution.possible == (solution.padding is not None)
    if solution.possible:
        assert solution.output_size == target
    if solution.asymmetric_padding is not None:
        left, right = solution.asymmetric_padding
        padded = F.pad(torch.zeros(1, 1, input_size), (left, right))
        assert nn.Conv1d(1, 1, kernel, stride=stride, dilation=dilation)(padded).shape[-1] == target


@EXAMPLES
@given(input_size=sizes, kernel=kernels, stride=strides, dilation=dilations)
def test_same_padding_matches_torch(input_size, kernel, stride, dilation):
    solution = same_padding(kernel, stride, dilation, input_size)
    if solution.possible:
        real = real_output(input_size, kernel, stride, solution.padding, dilation)
        assert real == solution.output_size == -(input_size // -stride)  # ⌈H_in/s⌉
    else:  # only stride 1 with an odd d·(k − 1) has no symmetric answer
        assert stride == 1 and dilation * (kernel - 1) % 2 == 1
        assert smallest_real_padding(input_size, input_size, kernel, 1, dilation) is None


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@EXAMPLES
@given(input_size=sizes, kernel=kernels, dilation=dilations)
def test_same_split_is_how_torch_pads_same(input_size, kernel, dilation):
    solution = same_padding(kernel, 1, dilation, input_size)
    layer = nn.Conv1d(1, 1, kernel, padding="same", dilation=dilation).double()
    x = torch.randn(1, 1, input_size, dtype=torch.float64)
    left, right = solution.asymmetric_padding or (solution.padding, solution.padding)
    by_hand = F.conv1d(F.pad(x, (left, right)), layer.weight, layer.bias, dilation=dilation)
    torch.testing.assert_close(layer(x), by_hand)


def test_odd_kernel_keeps_size_worked():
    solution = same_padding(5)
    # p = d·(k − 1)/2 = 1·(5 − 1)/2 = 2
    assert (solution.possible, solution.padding) == (True, 2)
    assert solution.reason == "p = d·(k − 1)/2 = 1·(5 − 1)/2 = 2"


def test_notes_example_padding_2_1_for_kernel_5_3():
    height, width = same_padding_shape((5, 3), input_size=(8, 8), ndim=2)
    # (5 − 1)/2 = 2 and (3 − 1)/2 = 1
    assert (height.padding, width.padding) == (2, 1)
    assert (height.output_size, width.output_size) == (8, 8)
    assert width.reason.startswith("W: ")


def test_even_kernel_needs_asymmetric_padding():
    solution = same_padding(4)
    assert not solution.possible and solution.padding is None
    # d·(k − 1) = 1·(4 − 1) = 3: ⌊3/2⌋ = 1 left, 2 right
    assert solution.asymmetric_padding == (1, 2)
    assert "d·(k − 1) = 1·(4 − 1) = 3 is odd" in solution.reason
    assert "torch pads 1 left, 2 right" in solution.reason


def test_stride_without_input_size_explains_why():
    solution = same_padding(3, stride=2)
    assert not solution.possible
    assert "input_size" in solution.reason and "H_in/2" in solution.reason


def test_stride_2_aims_for_ceil():
    solution = same_padding(3, stride=2, input_size=9)
    # ⌈9/2⌉ = 5; p = 1: ⌊(9 + 2·1 − 1·(3 − 1) − 1)/2⌋ + 1 = ⌊8/2⌋ + 1 = 5
    assert (solution.padding, solution.output_size) == (1, 5)


def test_target_below_unpadded_output_is_impossible():
    solution = padding_for_target(8, 3, 3)
    # with p = 0: ⌊(8 − 2 − 1)/1⌋ + 1 = 6 > 3
    assert not solution.possible and "= 6 > 3" in solution.reason
    assert solution.alternatives


def test_shape_versions_check_lengths():
    with pytest.raises(InvalidArgumentError, match="tuple of 2"):
        padding_for_target_shape((8, 8, 8), (8, 8), 3, ndim=2)
    assert [s.padding for s in padding_for_target_shape((8, 9), (8, 5), 3, (1, 2), ndim=2)] == [1, 1]


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "3"])
def test_bad_arguments_are_refused(bad):
    with pytest.raises(InvalidArgumentError):
        same_padding(bad)
    with pytest.raises(InvalidArgumentError):
        padding_for_target(8, bad, 3)
