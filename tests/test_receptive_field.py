"""Receptive fields against a measurement: which input cells the gradient of one output cell reaches."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from inspector.core.errors import InvalidArgumentError
from inspector.layers.receptive_field import WindowSpec, input_window, receptive_field


def build_layer(spec: WindowSpec, ndim: int, pool: bool) -> nn.Module:
    """Return a conv with every weight 1, or an average pool: both pass gradient to every tap."""
    if pool:
        return (nn.AvgPool1d, nn.AvgPool2d)[ndim - 1](spec.kernel_size, spec.stride, spec.padding)
    conv = (nn.Conv1d, nn.Conv2d)[ndim - 1](
        1, 1, spec.kernel_size, spec.stride, spec.padding, spec.dilation, bias=False
    )
    nn.init.ones_(conv.weight)
    return conv


def measured_window(stack: nn.Module, input_shape: tuple[int, ...], out_index: tuple[int, ...]):
    """Returns, per dimension, the first and last input cell whose gradient for one output is nonzero."""
    x = torch.zeros(1, 1, *input_shape, dtype=torch.float64, requires_grad=True)
    output = stack.double()(x)
    output[(0, 0, *out_index)].backward()
    reached = x.grad[0, 0].nonzero()
    return [(int(column.min()), int(column.max())) for column in reached.T], tuple(output.shape[2:])


@st.composite
def window_stacks(draw):
    """One to four conv or average-pool layers along one dimension, as (spec, is_pool) pairs."""
    stack = []
    for i in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            k = draw(st.integers(1, 4))
            spec = WindowSpec(f"pool{i}", k, draw(st.integers(1, 3)), draw(st.integers(0, k // 2)))
            stack.append((spec, True))
        else:
            k, s, p, d = (draw(st.integers(lo, hi)) for lo, hi in [(1, 5), (1, 3), (0, 3), (1, 3)])
            stack.append((WindowSpec(f"conv{i}", k, s, p, d), False))
    return stack


@settings(max_examples=150, deadline=None)
@given(stack=window_stacks())
def test_receptive_field_matches_gradient_extent(stack):
    last = receptive_field([spec for spec, _ in stack])[-1]
    # long enough that the middle output cell's window lies well inside the input
    length = 4 * last.receptive_field + 4 * last.jump + 16
    model = nn.Sequential(*(build_layer(spec, 1, pool) for spec, pool in stack))
    (output_length,) = model(torch.zeros(1, 1, length)).shape[2:]
    middle = output_length // 2
    [(first, final)], _ = measured_window(model, (length,), (middle,))
    assert final - first + 1 == last.receptive_field
    assert (first + final) / 2 == last.start + middle * last.jump


def test_2d_stack_per_dimension():
    # kernels (3, 5), strides (2, 1), dilation (1, 2), then a 2×2 average pool, then a 3×3 conv
    height = [WindowSpec("conv1", 3, 2, 1, 1), WindowSpec("pool", 2, 2, 0), WindowSpec("conv2", 3, 1, 1)]
    width = [WindowSpec("conv1", 5, 1, 2, 2), WindowSpec("pool", 2, 2, 0), WindowSpec("conv2", 3, 1, 1)]
    conv1 = nn.Conv2d(1, 1, (3, 5), stride=(2, 1), padding=(1, 2), dilation=(1, 2), bias=False)
    conv2 = nn.Conv2d(1, 1, 3, padding=1, bias=False)
    for conv in (conv1, conv2):
        nn.init.ones_(conv.weight)
    model = nn.Sequential(conv1, nn.AvgPool2d(2), conv2)
    rows_h, rows_w = receptive_field(height)[-1], receptive_field(width)[-1]
    windows, _ = measured_window(model, (64, 64), (8, 8))
    for (first, final), row in zip(windows, (rows_h, rows_w), strict=True):
        assert final - first + 1 == row.receptive_field
        assert (first + final) / 2 == row.start + 8 * row.jump


def test_two_3x3_convs_then_pool_worked():
    rows = receptive_field(
        [WindowSpec("conv1", 3, padding=1), WindowSpec("conv2", 3, padding=1), WindowSpec("pool", 2, 2)]
    )
    # conv1: r = 1 + (3 − 1)·1 = 3; conv2: r = 3 + (3 − 1)·1 = 5; pool: r = 5 + (2 − 1)·1 = 6, j = 1·2 = 2
    assert [(row.receptive_field, row.jump) for row in rows] == [(3, 1), (5, 1), (6, 2)]
    # pool start = 0 + ((2 − 1)/2 − 0)·1 = 0.5: the first window covers cells 0 and 1
    assert rows[-1].start == 0.5
    assert rows[-1].formula == "r = 5 + (2 − 1)·1 = 6; j = 1·2 = 2; start = 0 + ((2 − 1)/2 − 0)·1 = 0.5"


def test_dilation_shows_effective_kernel():
    (row,) = receptive_field([WindowSpec("atrous", 3, dilation=2)])
    # k_eff = 2·(3 − 1) + 1 = 5, r = 1 + (5 − 1)·1 = 5
    assert row.receptive_field == 5 and row.formula.startswith("k_eff = 2·(3 − 1) + 1 = 5; ")


def test_padding_moves_start_negative():
    (row,) = receptive_field([WindowSpec("conv", 3, padding=2)])
    # start = 0 + ((3 − 1)/2 − 2)·1 = −1: the first window is centred on a padding cell
    assert row.start == -1 and row.formula.endswith("= −1")


@settings(max_examples=150, deadline=None)
@given(
    input_size=st.integers(1, 12),
    kernel=st.integers(1, 4),
    stride=st.integers(1, 3),
    padding=st.integers(0, 2),
    dilation=st.integers(1, 3),
)
def test_input_window_matches_conv_gradient(input_size, kernel, stride, padding, dilation):
    conv = nn.Conv1d(1, 1, kernel, stride, 0, dilation, bias=False).double()
    nn.init.ones_(conv.weight)
    padded = torch.zeros(1, 1, input_size + 2 * padding, dtype=torch.float64, requires_grad=True)
    try:
        output = conv(padded)
    except RuntimeError:  # the kernel does not fit: no output cells to ask about
        return
    for out_index in range(output.shape[-1]):
        padded.grad = None
        output[0, 0, out_index].backward(retain_graph=True)
        reached = padded.grad[0, 0].nonzero().flatten().tolist()
        window = input_window(out_index, kernel, stride, padding, dilation, input_size)
        assert list(window.padded_indices) == reached
        assert list(window.input_indices) == [i - padding for i in reached if padding <= i < padding + input_size]


def test_input_window_example():
    window = input_window(0, 3, padding=1, input_size=8)
    # the first window covers padded cells 0, 1, 2: the left padding cell and input cells 0, 1
    assert (window.padded_indices, window.input_indices) == ((0, 1, 2), (0, 1))


def test_input_window_refuses_cells_past_the_end():
    with pytest.raises(InvalidArgumentError, match="out_index ≤ 4"):
        # ⌊(8 + 2·1 − 1)/2⌋ = 4: cell 5 would start at 5·2 = 10, past the 10 padded cells
        input_window(5, 3, stride=2, padding=1, input_size=8)


@pytest.mark.parametrize("bad", [0, -1, True, 1.5])
def test_bad_layers_name_the_layer(bad):
    with pytest.raises(InvalidArgumentError, match=r"^conv2: "):
        receptive_field([WindowSpec("conv1", 3), WindowSpec("conv2", bad)])
