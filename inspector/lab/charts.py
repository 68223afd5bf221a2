"""Plotly figures of Layer Lab: the window an output cell reads, and the Linear matmul as blocks.

Builders take numbers (layer arguments, shapes, a ModelReport) and return `go.Figure`s; the cells
they highlight and the per-layer sums come from `chart_data`.
Every text on a figure comes from the message catalogue in `lang`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from enum import IntEnum

import plotly.graph_objects as go

from inspector.core.i18n import t
from inspector.core.shapes import format_shape_tree
from inspector.lab.windows import AxisWindow, axis_cell_window
from inspector.layers.receptive_field import InputWindow

MAX_DRAWN_CELLS = 40  # per axis: a bigger grid is drawn as a viewport around the window
# Below the padded input: the x axis's ticks and title (about 55 px), then the legend, five rows at most
# (one entry a row in a narrow column): the legend never reaches the axis, whatever the grid's aspect.
LEGEND_PX = 160


class Cell(IntEnum):
    """What a cell of the padded-input grid is; the value is the heatmap's z."""

    PADDING = 0
    INPUT = 1
    READ_PADDING = 2
    READ_INPUT = 3
    OUTSIDE = 4  # past the padded input: a ceil_mode window's end, which torch leaves out


CELL_COLOURS = {
    Cell.PADDING: "#e5e7eb",
    Cell.INPUT: "#dbeafe",
    Cell.READ_PADDING: "#fde68a",
    Cell.READ_INPUT: "#f97316",
    Cell.OUTSIDE: "#ffffff",
}


def _viewport(extent: int, focus: Sequence[int]) -> range:
    """Return the drawn positions of an axis: all of them, or MAX_DRAWN_CELLS around `focus`."""
    if extent <= MAX_DRAWN_CELLS:
        return range(extent)
    start = max(0, min(min(focus) - 2, extent - MAX_DRAWN_CELLS, max(focus) + 3 - MAX_DRAWN_CELLS))
    return range(start, start + MAX_DRAWN_CELLS)


def _axis_kind(position: int, axis: AxisWindow, size: int) -> Cell:
    if position >= axis.pad_before + size + axis.pad_after:
        return Cell.OUTSIDE
    return Cell.INPUT if axis.pad_before <= position < axis.pad_before + size else Cell.PADDING


def _cell(kinds: Sequence[Cell], read: bool) -> Cell:
    if Cell.OUTSIDE in kinds:
        return Cell.OUTSIDE
    if Cell.PADDING in kinds:
        return Cell.READ_PADDING if read else Cell.PADDING
    return Cell.READ_INPUT if read else Cell.INPUT


def _discrete_scale(colours: Sequence[str]) -> list[list[float | str]]:
    steps = len(colours)
    return [[bound, colour] for i, colour in enumerate(colours) for bound in (i / steps, (i + 1) / steps)]


def _as_2d(
    input_sizes: Sequence[int], axes: Sequence[AxisWindow], index: Sequence[int]
) -> tuple[list[int], list[AxisWindow], list[int]]:
    """Return sizes, axes and index with a 1-D layer given a single row, so one drawing serves both."""
    if len(input_sizes) == 2:
        return list(input_sizes), list(axes), list(index)
    return [1, *input_sizes], [AxisWindow(1, 1, 1, 0, 0), *axes], [0, *index]


def _windows_2d(input_sizes: Sequence[int], axes: Sequence[AxisWindow], index: Sequence[int]) -> list[InputWindow]:
    sizes, full_axes, full_index = _as_2d(input_sizes, axes, index)
    return [axis_cell_window(a, n, i) for a, n, i in zip(full_axes, sizes, full_index, strict=True)]


Grid = tuple[list[int], list[int], list[list[int]], list[list[str]], list[InputWindow]]


def _grid_2d(input_sizes: Sequence[int], axes: Sequence[AxisWindow], out_index: Sequence[int], lang: str) -> Grid:
    """Return (x positions, y positions, z cells, hover texts, windows) of the padded input, 2-D or 1-D."""
    sizes, full_axes, _ = _as_2d(input_sizes, axes, out_index)
    windows = _windows_2d(input_sizes, axes, out_index)
    ranges = []
    for axis, size, window in zip(full_axes, sizes, windows, strict=True):
        extent = max(axis.pad_before + size + axis.pad_after, window.padded_indices[-1] + 1)
        ranges.append(_viewport(extent, window.padded_indices))
    z: list[list[int]] = []
    hover: list[list[str]] = []
    for row in ranges[0]:
        z_row: list[int] = []
        hover_row: list[str] = []
        for col in ranges[1]:
            kinds = [_axis_kind(p, a, n) for p, a, n in zip((row, col), full_axes, sizes, strict=True)]
            cell = _cell(kinds, row in windows[0].padded_indices and col in windows[1].padded_indices)
            z_row.append(int(cell))
            position = [row - full_axes[0].pad_before, col - full_axes[1].pad_before][-len(input_sizes) :]
            hover_row.append(t(f"chart.window.cell.{cell.name.lower()}", lang, position=format_shape_tree(position)))
        z.append(z_row)
        hover.append(hover_row)
    # drawn at input coordinates: the first real cell is 0 and padding sits at −1, −2, … and past the end
    xs = [col - full_axes[1].pad_before for col in ranges[1]]
    ys = [row - full_axes[0].pad_before for row in ranges[0]]
    return xs, ys, z, hover, windows


def _box(fig: go.Figure, rows: Sequence[int], cols: Sequence[int], dash: str, colour: str) -> None:
    fig.add_shape(
        type="rect",
        x0=min(cols) - 0.5,
        x1=max(cols) + 0.5,
        y0=min(rows) - 0.5,
        y1=max(rows) + 0.5,
        line=dict(color=colour, width=3, dash=dash),
    )


def _neighbour(index: Sequence[int], output_sizes: Sequence[int]) -> list[int] | None:
    """Return the next output cell along the last axis (or the previous one at the end), if any."""
    last = index[-1] + 1 if index[-1] + 1 < output_sizes[-1] else index[-1] - 1
    return None if last < 0 else [*index[:-1], last]


def _gap(cells: int) -> int:
    """Return the pixels between drawn cells: thin lines once a row holds many small cells."""
    return 2 if cells <= 20 else 1


def _square_axes(fig: go.Figure) -> None:
    """Keep a grid's cells square however wide the figure is drawn: y follows x, the plot shrinks to fit."""
    fig.update_yaxes(
        autorange="reversed", scaleanchor="x", constrain="domain", constraintoward="top", showgrid=False, zeroline=False
    )
    fig.update_xaxes(showgrid=False, constrain="domain", zeroline=False)


def sliding_window_figure(
    input_sizes: Sequence[int],
    output_sizes: Sequence[int],
    axes: Sequence[AxisWindow],
    out_index: Sequence[int],
    lang: str = "en",
) -> go.Figure:
    """Return the padded input with the cells one output cell reads (its output grid: `output_grid_figure`).

    Solid box: the window of the chosen output cell; dashed box: its neighbour's, `stride` cells on.
    The input and the output are two figures so that a narrow screen stacks them, each full width.
    """
    xs, ys, z, hover, windows = _grid_2d(input_sizes, axes, out_index, lang)
    fig = go.Figure()
    colours = [CELL_COLOURS[cell] for cell in Cell]
    fig.add_trace(
        go.Heatmap(
            x=xs,
            y=ys,
            z=z,
            zmin=-0.5,
            zmax=len(Cell) - 0.5,
            colorscale=_discrete_scale(colours),
            showscale=False,
            xgap=_gap(max(len(xs), len(ys))),
            ygap=_gap(max(len(xs), len(ys))),
            text=hover,
            hoverinfo="text",
            name="",
        )
    )
    for cell in Cell:
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name=t(f"chart.window.legend.{cell.name.lower()}", lang),
                marker=dict(symbol="square", size=12, color=CELL_COLOURS[cell], line=dict(color="#9ca3af", width=1)),
            )
        )
    shift = [a.pad_before for a in _as_2d(input_sizes, axes, out_index)[1]]
    _box(
        fig,
        [r - shift[0] for r in windows[0].padded_indices],
        [c - shift[1] for c in windows[1].padded_indices],
        "solid",
        "#b91c1c",
    )
    neighbour = _neighbour(out_index, output_sizes)
    if neighbour is not None:
        other = _windows_2d(input_sizes, axes, neighbour)
        _box(
            fig,
            [r - shift[0] for r in other[0].padded_indices],
            [c - shift[1] for c in other[1].padded_indices],
            "dash",
            "#2563eb",
        )
    _square_axes(fig)
    two_d = len(input_sizes) == 2
    fig.update_yaxes(
        title=t("chart.window.rows", lang) if two_d else None, showticklabels=two_d, ticks=None if two_d else ""
    )
    fig.update_xaxes(title=t("chart.window.cols" if two_d else "chart.window.positions", lang))
    fig.update_layout(
        title=dict(text=t("chart.window.input_title", lang), x=0.5, xanchor="center"),
        height=LEGEND_PX + (340 if two_d else 90),
        margin=dict(l=10, r=10, t=40, b=LEGEND_PX),
        plot_bgcolor="white",
        legend=dict(orientation="h", yref="container", yanchor="bottom", y=0),  # wraps to rows when narrow
        dragmode=False,
    )
    return fig


def output_grid_figure(output_sizes: Sequence[int], out_index: Sequence[int], lang: str = "en") -> go.Figure:
    """Return the output grid, the chosen cell highlighted; clicking a cell selects it.

    The cells are a heatmap, so they stay square at any width; over each sits a transparent scatter
    point, what plotly selects on a click (`output_cell_from_point` reads it back).
    """
    two_d = len(output_sizes) == 2
    rows = output_sizes[0] if two_d else 1
    chosen = (out_index[0], out_index[1]) if two_d else (0, out_index[0])
    row_range = list(_viewport(rows, [chosen[0]]))
    col_range = list(_viewport(output_sizes[-1], [chosen[1]]))
    cells = [(r, c) for r in row_range for c in col_range]
    hover = [
        t("chart.window.output_cell", lang, position=format_shape_tree(list(cell) if two_d else [cell[1]]))
        for cell in cells
    ]
    fig = go.Figure()
    fig.add_trace(
        go.Heatmap(
            x=col_range,
            y=row_range,
            z=[[int((r, c) == chosen) for c in col_range] for r in row_range],
            zmin=0,
            zmax=1,
            colorscale=_discrete_scale(["#ecfccb", CELL_COLOURS[Cell.READ_INPUT]]),
            showscale=False,
            xgap=_gap(max(len(row_range), len(col_range))),
            ygap=_gap(max(len(row_range), len(col_range))),
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[c for _, c in cells],
            y=[r for r, _ in cells],
            mode="markers",
            showlegend=False,
            marker=dict(symbol="square", size=8, color="rgba(0, 0, 0, 0)"),
            hovertext=hover,
            hoverinfo="text",
            unselected=dict(marker=dict(opacity=1)),
            selected=dict(marker=dict(opacity=1)),
        )
    )
    _square_axes(fig)
    # the grid's own edges: autorange would add room around the click points
    fig.update_xaxes(range=[col_range[0] - 0.5, col_range[-1] + 0.5])
    fig.update_yaxes(
        range=[row_range[-1] + 0.5, row_range[0] - 0.5],
        autorange=False,
        showticklabels=two_d,
        ticks=None if two_d else "",
    )
    fig.update_layout(
        title=dict(text=t("chart.window.output_title", lang), x=0.5, xanchor="center"),
        height=340 if two_d else 140,
        margin=dict(l=10, r=10, t=40, b=10),
        plot_bgcolor="white",
        clickmode="event+select",
        hovermode="closest",
        hoverdistance=-1,  # a click anywhere on a big cell picks it, not only near its centre
        dragmode=False,
    )
    return fig


def output_cell_from_point(point: Mapping[str, object], ndim: int) -> tuple[int, ...] | None:
    """Return the output cell a clicked point of `output_grid_figure` stands for."""
    x, y = point.get("x"), point.get("y")
    if not isinstance(x, int | float) or not isinstance(y, int | float):  # what a browser sent: numbers only
        return None
    row, col = round(y), round(x)
    return (row, col) if ndim == 2 else (col,)


# ── Linear: x · Wᵀ + b as shaped blocks ───────────────────────────────────────────────────────────


def _block_size(n: int) -> float:
    """Return a side length that grows like √n, so 784 vs 256 reads as bigger without dwarfing N."""
    return max(0.35, min(3.2, 0.11 * math.sqrt(n)))


def matmul_figure(
    lead_labels: Sequence[str], in_features: int, out_features: int, bias: bool, batch: int = 1, lang: str = "en"
) -> go.Figure:
    """Return y = x·Wᵀ + b drawn as blocks whose sides follow the dimensions, labelled with them."""
    lead = ", ".join(lead_labels)
    rows = _block_size(batch)
    blocks = [
        ("x", (lead, str(in_features)), rows, _block_size(in_features)),
        ("Wᵀ", (str(in_features), str(out_features)), _block_size(in_features), _block_size(out_features)),
    ]
    if bias:
        blocks.append(("b", ("", str(out_features)), _block_size(1), _block_size(out_features)))
    blocks.append(("y", (lead, str(out_features)), rows, _block_size(out_features)))
    operators = ["·", "+", "→"] if bias else ["·", "→"]
    fig, x = go.Figure(), 0.0
    colours = ["#93c5fd", "#fdba74", "#fde68a", "#86efac"] if bias else ["#93c5fd", "#fdba74", "#86efac"]
    for index, (name, (row_label, col_label), height, width) in enumerate(blocks):
        fig.add_shape(
            type="rect",
            x0=x,
            x1=x + width,
            y0=-height / 2,
            y1=height / 2,
            fillcolor=colours[index],
            line=dict(color="#374151"),
        )
        shape = f"({row_label}, {col_label})" if row_label else f"({col_label},)"
        fig.add_annotation(x=x + width / 2, y=height / 2 + 0.25, text=f"<b>{name}</b>", showarrow=False)
        fig.add_annotation(x=x + width / 2, y=-height / 2 - 0.25, text=shape, showarrow=False)
        x += width
        if index < len(operators):
            fig.add_annotation(x=x + 0.35, y=0, text=f"<b>{operators[index]}</b>", showarrow=False, font=dict(size=30))
            x += 0.7
    fig.update_xaxes(visible=False, range=[-0.3, x + 0.3])
    fig.update_yaxes(visible=False, range=[-2.2, 2.2], scaleanchor="x")
    fig.update_layout(
        height=300, margin=dict(l=10, r=10, t=30, b=10), plot_bgcolor="white", title=t("chart.matmul.title", lang)
    )
    return fig
