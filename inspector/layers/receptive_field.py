"""How much of the input each output cell sees, through a stack of convolutions and pools.

Along one dimension, with input cells at positions 0, 1, 2, … and k_eff = d·(k − 1) + 1 each layer's
window extent (Dang-Ha 2017; Araujo et al., Distill 2019):

    r_out = r_in + (k_eff − 1)·j_in          receptive field, in input cells
    j_out = j_in·s                           jump: input cells between neighbouring outputs
    start_out = start_in + ((k_eff − 1)/2 − p)·j_in

starting from r = 1, j = 1, start = 0. `start` is the centre of the first output cell's window in
input positions; it is negative when that window reaches into padding. Pools follow the same
rules; ceil_mode only adds cells at the end, so it changes none of the three.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from inspector.core.errors import InvalidArgumentError
from inspector.layers.checks import check_int

MAX_WINDOW = 4096


@dataclass(frozen=True)
class WindowSpec:
    """One convolution or pooling layer along one dimension, as the window arithmetic sees it."""

    name: str
    kernel_size: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1


@dataclass(frozen=True)
class ReceptiveFieldRow:
    """The receptive field, jump and start after one layer, with the worked `formula` for all three."""

    name: str
    kernel: int
    stride: int
    padding: int
    dilation: int
    receptive_field: int
    jump: int
    start: float  # a half-integer when an even kernel centres the window between two cells
    formula: str


@dataclass(frozen=True)
class InputWindow:
    """The cells one output cell reads: in the padded input, and in the input itself.

    Padded positions count from the first left padding cell; input positions are those minus the
    padding, keeping only real cells, so padding cells and cells past the end are left out.
    """

    padded_indices: tuple[int, ...]
    input_indices: tuple[int, ...]


def receptive_field(layers: Sequence[WindowSpec]) -> list[ReceptiveFieldRow]:
    """Return one row per layer: receptive field, jump and start, each worked from the row before."""
    receptive, jump, start = 1, 1, 0.0
    rows = []
    for layer in layers:
        k, s, p, d = _check_layer(layer)
        extent = d * (k - 1) + 1
        new_receptive = receptive + (extent - 1) * jump
        new_start = start + ((extent - 1) / 2 - p) * jump
        formula = (
            f"r = {receptive} + ({extent} − 1)·{jump} = {new_receptive}; "
            f"j = {jump}·{s} = {jump * s}; "
            f"start = {_position(start)} + (({extent} − 1)/2 − {p})·{jump} = {_position(new_start)}"
        )
        if d > 1:
            formula = f"k_eff = {d}·({k} − 1) + 1 = {extent}; {formula}"
        receptive, jump, start = new_receptive, jump * s, new_start
        rows.append(ReceptiveFieldRow(layer.name, k, s, p, d, receptive, jump, start, formula))
    return rows


def input_window(
    out_index: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    dilation: int = 1,
    input_size: int | None = None,
) -> InputWindow:
    """Return the padded-input and input cells that output cell `out_index` reads, in order.

    The window starts at out_index·s in the padded input and takes every d-th cell, k of them.
    With `input_size`, cells past the end are dropped and out_index is checked: its window must
    start inside the padded input (a padded conv's last window may read padding only).
    """
    index = check_int("out_index", out_index, 0)
    # The window is listed cell by cell, for a picture: a kernel past the widest widget is refused.
    k = check_int("kernel_size", kernel_size, 1, MAX_WINDOW)
    s = check_int("stride", stride, 1)
    p = check_int("padding", padding, 0)
    d = check_int("dilation", dilation, 1)
    end = None if input_size is None else check_int("input_size", input_size, 1)
    if end is not None and index * s >= end + 2 * p:
        raise InvalidArgumentError(
            "errors_b.window_past_input",
            index=index,
            s=s,
            start=index * s,
            end=end,
            p=p,
            padded=end + 2 * p,
            largest=(end + 2 * p - 1) // s,
        )
    padded = tuple(index * s + i * d for i in range(k))
    real = tuple(x - p for x in padded if x >= p and (end is None or x - p < end))
    return InputWindow(padded, real)


def _check_layer(layer: WindowSpec) -> tuple[int, int, int, int]:
    """Return the layer's (k, s, p, d) checked, naming the layer in any error."""
    if not isinstance(layer, WindowSpec):
        raise InvalidArgumentError("errors_b.not_window_spec", value=repr(layer))
    try:
        return (
            check_int("kernel_size", layer.kernel_size, 1),
            check_int("stride", layer.stride, 1),
            check_int("padding", layer.padding, 0),
            check_int("dilation", layer.dilation, 1),
        )
    except InvalidArgumentError as error:
        raise InvalidArgumentError("errors_b.in_layer", layer=layer.name, error=error) from None


def _position(value: float) -> str:
    """Return a position as `2`, `0.5` or `−1.5` (no trailing `.0`, a true minus sign)."""
    text = str(int(value)) if value == int(value) else str(value)
    return text.replace("-", "−")
