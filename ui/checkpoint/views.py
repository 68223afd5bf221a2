"""Rendering a checkpoint report: totals, the verdict of a match, the module tree, every tensor.

Tensor names come from the file, so they are never given to Markdown: tables show them as cell text,
and a message that quotes them goes through `ui.state.plain`, which leaves no link, image or formatting.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from inspector.checkpoint.cli import tree_rows
from inspector.checkpoint.match import CheckpointMatch
from inspector.checkpoint.reader import CheckpointReport
from inspector.core.bounds import shorten
from inspector.core.shapes import format_shape_tree
from inspector.core.units import binary_bytes, group_thousands
from ui.state import lang, plain, tr, tr_text

CELL_CHARS = 120  # a hostile name may be thousands of characters: a cell shows the start


def render_summary(report: CheckpointReport, match: CheckpointMatch | None) -> None:
    """Show the totals and, with a match, whether the file fits and the mismatched shapes."""
    tensors, elements, size = st.columns(3)
    tensors.metric(tr("checkpoint.tensors"), group_thousands(len(report.tensors)))
    elements.metric(tr("checkpoint.elements"), group_thousands(report.total_numel))
    size.metric(tr("checkpoint.bytes"), binary_bytes(report.total_bytes))
    if match is None:
        return
    (st.success if match.fits else st.error)(plain(tr_text(match.verdict)))
    rows = [
        {tr("checkpoint.col_name"): shorten(m.name, CELL_CHARS),
         tr("checkpoint.col_file"): shorten(format_shape_tree(m.file_shape), CELL_CHARS),
         tr("checkpoint.col_model"): shorten(format_shape_tree(m.model_shape), CELL_CHARS)}
        for m in match.mismatched
    ]  # fmt: skip
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True)


def render_tree(report: CheckpointReport, depth: int) -> None:
    """Show elements and bytes per module, down to `depth`."""
    st.subheader(tr("checkpoint.tree"))
    columns = [tr("checkpoint.col_module"), tr("checkpoint.elements"), tr("checkpoint.bytes")]
    rows = [(shorten(name, CELL_CHARS), *rest) for name, *rest in tree_rows(report.tree, depth, lang=lang())]
    st.dataframe(pd.DataFrame(rows, columns=columns), hide_index=True)


def render_tensors(report: CheckpointReport) -> None:
    """Show every tensor: name, shape, dtype, elements (with thousands separators)."""
    st.subheader(tr("checkpoint.all_tensors"))
    rows = [
        {tr("checkpoint.col_name"): shorten(t.name, CELL_CHARS),
         tr("checkpoint.col_shape"): shorten(format_shape_tree(t.shape), CELL_CHARS),
         "dtype": t.dtype, tr("checkpoint.elements"): group_thousands(t.numel)}
        for t in report.tensors
    ]  # fmt: skip
    st.dataframe(pd.DataFrame(rows), hide_index=True)
