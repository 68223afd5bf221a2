"""The cells a window of a conv/pool layer reads, one spatial axis at a time (from `receptive_field.input_window`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from inspector.layers.args import ArgValue, arg_optional_size, arg_padding, arg_size
from inspector.layers.receptive_field import InputWindow, input_window


@dataclass(frozen=True)
class AxisWindow:
    """One spatial axis of a conv/pool layer: kernel, stride, dilation and the padding on each side."""

    kernel: int
    stride: int
    dilation: int
    pad_before: int
    pad_after: int


def _per_axis(value: int | tuple[int, ...] | list[int], ndim: int) -> tuple[int, ...]:
    return tuple(int(v) for v in value) if isinstance(value, (tuple, list)) else (int(value),) * ndim


def axis_windows(args: Mapping[str, ArgValue], ndim: int) -> tuple[AxisWindow, ...]:
    """Return each spatial axis's window for a conv/pool layer's checked arguments.

    A pool's stride None means the kernel size. padding='same' pads d·(k − 1) in total, the smaller
    half before, as torch's `_ConvNd.__init__` does; 'valid' pads nothing.
    """
    kernels = _per_axis(arg_size(args, "kernel_size"), ndim)
    stride = arg_optional_size(args, "stride") if "stride" in args else None
    strides = kernels if stride is None else _per_axis(stride, ndim)
    dilations = _per_axis(arg_size(args, "dilation") if "dilation" in args else 1, ndim)
    padding = arg_padding(args) if "padding" in args else 0
    windows = []
    for axis in range(ndim):
        k, d = kernels[axis], dilations[axis]
        if isinstance(padding, str):  # 'same' or 'valid'
            total = d * (k - 1) if padding == "same" else 0
            before, after = total // 2, total - total // 2
        else:
            before = after = _per_axis(padding, ndim)[axis]
        windows.append(AxisWindow(k, strides[axis], d, before, after))
    return tuple(windows)


def axis_cell_window(axis: AxisWindow, input_size: int, out_index: int) -> InputWindow:
    """Return the padded and input positions that output position `out_index` reads along one axis."""
    return input_window(out_index, axis.kernel, axis.stride, axis.pad_before, axis.dilation, input_size)


def read_input_cells(input_sizes: Sequence[int], axes: Sequence[AxisWindow], out_index: Sequence[int]) -> set[tuple]:
    """Return the input cells (input coordinates, no padding) that one output cell reads."""
    windows = [axis_cell_window(a, n, i) for a, n, i in zip(axes, input_sizes, out_index, strict=True)]
    cells: set[tuple] = {()}
    for window in windows:
        cells = {(*cell, index) for cell in cells for index in window.input_indices}
    return cells
