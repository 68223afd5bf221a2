"""The Layer Lab's pictures: the window an output cell reads (Conv/Pool 1d/2d), the Linear matmul."""

from __future__ import annotations

from functools import partial

import streamlit as st

from inspector.lab.charts import matmul_figure, output_cell_from_point
from inspector.lab.inspection import LayerInspection
from inspector.lab.windows import axis_windows
from inspector.layers.args import arg_int
from inspector.layers.specs import LayerSpec
from ui.errors import attempt
from ui.lab.figures import grid_figure, window_figure
from ui.query import url_value
from ui.state import lang, setting, tr

CHART_KEY = "lab.window_chart"
PLOTLY_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}


def _cell_key(axis: int) -> str:
    return f"lab.cell.{axis}"


def _cell_from_url(count: int, problems: list[str]) -> list[int]:
    """Return the URL's `cell` (0-based, one index per spatial axis), or the first cell."""
    raw = url_value("cell")
    if raw is None:
        return [0] * count
    try:
        cell = [int(part) for part in raw.split(",")]
    except ValueError:
        cell = []
    if len(cell) != count or min(cell) < 0:
        reason = tr("query.cell_reason", count=count)
        problems.append(tr("query.bad_value", setting=setting("cell", raw), reason=reason))
        return [0] * count
    return cell


def _init_cells(sizes: list[int], problems: list[str]) -> None:
    """Start the chosen output cell from the URL, and keep it inside the output as the layer changes."""
    if _cell_key(0) not in st.session_state:
        cell = _cell_from_url(len(sizes), problems)
        inside = [min(index, size - 1) for index, size in zip(cell, sizes, strict=True)]
        if inside != cell:  # a link's cell past the output's edge: say which cell is shown instead
            output = " × ".join(str(size) for size in sizes)
            reason = tr("query.cell_outside", output=output, cell=",".join(str(index) for index in inside))
            problems.append(tr("query.bad_value", setting=setting("cell", url_value("cell")), reason=reason))
        for axis, index in enumerate(inside):
            st.session_state[_cell_key(axis)] = index
    for axis, size in enumerate(sizes):
        st.session_state[_cell_key(axis)] = max(0, min(int(st.session_state.get(_cell_key(axis), 0)), size - 1))


def _on_select(ndim: int, sizes: list[int]) -> None:
    """Move the chosen output cell to the one clicked in the figure's output grid."""
    points = st.session_state.get(CHART_KEY, {}).get("selection", {}).get("points", [])
    for point in reversed(points):
        cell = output_cell_from_point(point, ndim)
        if cell is not None and all(0 <= c < n for c, n in zip(cell, sizes, strict=True)):
            for axis, index in enumerate(cell):
                st.session_state[_cell_key(axis)] = index
            return


def render_window(
    result: LayerInspection, spec: LayerSpec, axes: tuple[str, ...], problems: list[str]
) -> list[int] | None:
    """Show the sliding window over the padded input; return the output cell chosen (None: no picture)."""
    ndim = spec.spatial_ndim
    if ndim not in (1, 2) or not result.receptive_field:
        return None
    if not isinstance(result.input_shape, list) or not isinstance(result.output_shape, list):  # one tensor each
        return None
    in_sizes, out_sizes = list(result.input_shape[-ndim:]), list(result.output_shape[-ndim:])
    _init_cells(out_sizes, problems)
    st.subheader(tr("lab.window_heading"), help=tr("lab.window_help"))
    for column, axis, size, index in zip(st.columns(ndim), axes, out_sizes, range(ndim), strict=True):
        if size > 1:
            column.slider(tr("lab.cell_axis", axis=f"{axis}_out"), 0, size - 1, key=_cell_key(index))
        else:
            column.caption(tr("lab.cell_single", axis=f"{axis}_out"))
    cell = [st.session_state[_cell_key(i)] for i in range(ndim)]
    figure = attempt(window_figure, in_sizes, out_sizes, axis_windows(result.args, ndim), cell, lang())
    if figure is not None:
        # two figures in columns: beside each other on a wide screen, stacked (each full width) on a phone
        padded, output = st.columns(2, gap="medium")
        static = {**PLOTLY_CONFIG, "displayModeBar": False}  # the toolbar hid the grids' titles
        padded.plotly_chart(figure, key="lab.window_input", config=static)
        output.plotly_chart(
            grid_figure(out_sizes, cell, lang()),
            key=CHART_KEY,
            on_select=partial(_on_select, ndim, out_sizes),
            selection_mode="points",
            config=static,
        )
        st.caption(tr("lab.window_caption"))
    return cell


def render_matmul(result: LayerInspection) -> None:
    """Show y = x·Wᵀ + b as blocks shaped like the tensors, for Linear."""
    if not result.matmul or not isinstance(result.input_shape, list):
        return
    shape = result.input_shape
    lead = ["N", *(str(d) for d in shape[1:-1])] if len(shape) > 1 else []
    st.subheader(tr("lab.matmul_heading"))
    figure = matmul_figure(
        lead,
        arg_int(result.args, "in_features"),
        arg_int(result.args, "out_features"),
        bool(result.args["bias"]),
        batch=shape[0] if len(shape) > 1 else 1,
        lang=lang(),
    )
    st.plotly_chart(figure, config=PLOTLY_CONFIG, key="lab.matmul_chart")
    st.caption(tr("lab.matmul_caption", out=result.args["out_features"], inp=result.args["in_features"]))
