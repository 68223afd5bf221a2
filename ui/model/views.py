"""The Model Inspector's results: headline numbers, the per-layer table, charts, downloads, torchinfo."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import partial

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator
from streamlit.elements.lib.column_types import ColumnConfig

from inspector.core.formatting import OutputFormat, flops_footnote, layer_row, render_report
from inspector.core.report import ModelReport
from inspector.core.shapes import format_shape_tree
from inspector.core.units import binary_bytes, group_thousands, si
from inspector.model.charts import flops_figure, params_figure, shape_flow_figure
from ui import cache
from ui.errors import attempt
from ui.lab.views import stat
from ui.model.widgets import depth_slider
from ui.query import write_url
from ui.state import lang, tr

DOWNLOADS = {
    OutputFormat.CSV: ("csv", "text/csv"),
    OutputFormat.JSON: ("json", "application/json"),
    OutputFormat.MARKDOWN: ("md", "text/markdown"),
}


def render_metrics(report: ModelReport) -> None:
    """Show the totals: parameters (all, trainable, frozen), memory, FLOPs and MACs, then the shapes."""
    first, second = st.columns(3), st.columns(3)
    first[0].metric(tr("model.metric.total"), group_thousands(report.total_params), help=tr("model.metric.total_help"))
    first[1].metric(tr("model.metric.trainable"), group_thousands(report.trainable_params))
    first[2].metric(
        tr("model.metric.frozen"), group_thousands(report.non_trainable_params), help=tr("model.metric.frozen_help")
    )
    second[0].metric(
        tr("model.metric.memory"),
        binary_bytes(report.param_bytes),
        help=tr("model.metric.memory_help", dtype=report.dtype, buffers=binary_bytes(report.buffer_bytes)),
    )
    second[1].metric(
        tr("model.metric.flops"),
        si(report.flops, "FLOPs"),
        help=tr("model.metric.flops_help", flops=group_thousands(report.flops)),
    )
    second[2].metric(
        tr("model.metric.macs"),
        si(report.macs, "MACs"),
        help=tr("model.metric.macs_help", macs=group_thousands(report.macs)),
    )
    shapes = st.columns(2)
    with shapes[0]:
        stat("zoo-input", tr("model.metric.input"), format_shape_tree(report.input_size))
    with shapes[1]:
        stat(
            "zoo-output",
            tr("model.metric.output"),
            format_shape_tree(report.output_shape),
            tr("model.metric.output_help", device=report.device, dtype=report.dtype),
        )


# Pixels per character of the table's font and a cell's padding: a column is as wide as its longest text.
# tests/test_browser_pages.py measures every cell in the browser's own font against the width given here.
CHAR_PX, PAD_PX, NAME_MAX_PX = 8, 28, 240


def _units(text: str) -> int:
    """Return `text`'s width in characters: a CJK character or an em space counts as two."""
    return sum(2 if ch == "\u2003" or unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _width(texts: list[str], minimum: int = 70, maximum: int = 720) -> int:
    """Return a column width in pixels that shows the longest of `texts` whole (within the bounds)."""
    longest = max((_units(text) for text in texts), default=0)
    return max(minimum, min(maximum, CHAR_PX * longest + PAD_PX))


def _name_tail(name: str, depth: int) -> str:
    """Return the indented layer name, its start replaced by "…" when too long: `…attn.c_proj` stays told apart."""
    room = (NAME_MAX_PX - PAD_PX) // CHAR_PX - 2 * depth  # an em-space indent is about two characters wide
    if len(name) > room:
        name = "…" + name[-(room - 1) :]
    return "\u2003" * depth + name


def layer_table(report: ModelReport, depth: int) -> pd.DataFrame:
    """Return one row per layer down to `depth`: text columns, raw params, FLOPs as text ("not counted")."""
    rows = []
    for layer in report.layers_to_depth(depth):
        name, kind, shape_in, shape_out, weights, _, flops = layer_row(layer, report.model, lang())
        rows.append(
            {
                tr("model.col.layer"): _name_tail(name.strip(), layer.depth),
                tr("model.col.type"): kind,
                tr("model.col.params"): layer.params_total,
                tr("model.col.weights"): weights,  # fourth: in view beside the pinned name at 1400 px
                tr("model.col.flops"): flops,
                tr("model.col.output"): shape_out,
                tr("model.col.input"): shape_in,
                tr("model.col.depth"): layer.depth,
            }
        )
    return pd.DataFrame(rows)


def _column_config(table: pd.DataFrame) -> dict[str, ColumnConfig]:
    """Return column settings sized to the table's texts, so no number or shape is cut."""

    def width(key: str, **bounds: int) -> int:
        column = tr(f"model.col.{key}")
        texts = [f"{value:,}" if key == "params" else str(value) for value in table[column]]
        return _width([*texts, column], **bounds)

    return {
        tr("model.col.layer"): st.column_config.TextColumn(
            width=width("layer", maximum=NAME_MAX_PX), pinned=True, help=tr("model.col.layer_help")
        ),
        tr("model.col.type"): st.column_config.TextColumn(width=width("type", maximum=320)),
        tr("model.col.output"): st.column_config.TextColumn(width=width("output")),
        tr("model.col.params"): st.column_config.NumberColumn(format="localized", width=width("params")),
        tr("model.col.flops"): st.column_config.TextColumn(
            width=width("flops"), help=tr("model.col.flops_help"), alignment="right"
        ),
        tr("model.col.weights"): st.column_config.TextColumn(width=width("weights")),
        tr("model.col.input"): st.column_config.TextColumn(width=width("input")),
        tr("model.col.depth"): st.column_config.NumberColumn(width="small"),
    }


def render_table(report: ModelReport, depth: int) -> None:
    """Show the per-layer table, layers deeper than `depth` folded into their parents."""
    st.subheader(tr("model.table_heading"), help=tr("model.table_help"))
    table = layer_table(report, depth)
    rows_shown = min(len(table), 14)  # a short model's table ends with its last row, a long one scrolls
    st.dataframe(table, hide_index=True, column_config=_column_config(table), height=36 * (rows_shown + 1) + 3)
    footnote = flops_footnote(report.layers_to_depth(depth), lang())
    if footnote:
        st.caption(footnote)


def render_charts(report: ModelReport, depth: int) -> None:
    """Show parameters per layer, FLOPs per layer and the shape flow, one tab each; only the open tab's is built.

    Choosing a tab reruns (the depth view's fragment, on the Model Inspector), so the two hidden figures
    are neither built nor sent.
    """
    labels = [tr("model.tab.params"), tr("model.tab.flops"), tr("model.tab.flow")]
    tabs = st.tabs(labels, key="zoo.chart_tab", on_change="rerun")
    builders = (params_figure, flops_figure, shape_flow_figure)
    for tab, builder, name in zip(tabs, builders, ("params", "flops", "flow"), strict=True):
        if tab.open is not False:  # None: no state kept (never here), so every tab is drawn
            with tab:
                st.plotly_chart(builder(report, depth, lang()), key=f"zoo.chart.{name}", config={"displaylogo": False})
    st.caption(tr("model.charts_caption"))


def render_downloads(report: ModelReport, depth: int) -> None:
    """Offer the report down to `depth` as CSV, JSON and Markdown files, each written only when clicked."""
    row = st.container(horizontal=True)
    for output_format, (extension, mime) in DOWNLOADS.items():
        row.download_button(
            tr("model.download", format=extension.upper()),
            partial(render_report, report, output_format, depth),
            file_name=tr("model.download_name", model=report.model, ext=extension),
            mime=mime,
            key=f"zoo.download.{extension}",
            on_click="ignore",
        )


def render_torchinfo(
    name: str, options: cache.Options, input_size: tuple[int, ...], device: str, dtype: str, report: ModelReport
) -> None:
    """Show torchinfo's classic summary in an expander, run only when asked and once per model.

    An expander's body runs even while closed, so a toggle inside it starts torchinfo; its summary goes
    down to the model's deepest layer, so moving the depth slider reuses it instead of running again.
    """
    with st.expander(tr("model.torchinfo_heading")):
        if not st.toggle(tr("model.torchinfo_toggle"), key=f"zoo.torchinfo.{name}", help=tr("model.torchinfo_help")):
            return
        deepest = max(layer.depth for layer in report.layers)
        with st.spinner(tr("model.torchinfo_spinner")):
            text = attempt(cache.torchinfo_text, name, options, input_size, device, dtype, max(deepest, 1))
        if text is not None:
            st.code(text, language=None)
            st.caption(tr("model.torchinfo_caption", total=group_thousands(report.total_params)))


@st.fragment
def render_depth_view(
    report: ModelReport,
    settings: DeltaGenerator,
    problems: list[str],
    url: dict[str, str] | None,
    after: Callable[[int], None],
) -> None:
    """Show the depth slider (in `settings`) and all that depends on the depth; moving it reruns only this.

    The table, the open chart, the downloads, then `after(depth)` (torchinfo, the graph). The slider's
    notice (a bad `depth` in the link) goes to `problems`, which the page shows after a full run; a fragment
    rerun gets that run's arguments again, and writes `url` (None: the depth is not in the link) with the
    new depth.
    """
    with settings:
        depth = depth_slider(report, problems)
    render_table(report, depth)
    render_charts(report, depth)
    render_downloads(report, depth)
    after(depth)
    if url is not None:
        url["depth"] = str(depth)
        write_url(url)
