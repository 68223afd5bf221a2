"""Rendering a checkpoint report: totals, the verdict of a match, the module tree, every tensor."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from inspector.checkpoint.cli import tree_rows
from inspector.checkpoint.match import CheckpointMatch
from inspector.checkpoint.reader import CheckpointReport
from inspector.core.units import binary_bytes, group_thousands
from ui.state import lang, tr, tr_text


def render_summary(report: CheckpointReport, match: CheckpointMatch | None) -> None:
    """Show the totals and, with a match, whether the file fits and the mismatched shapes."""
    tensors, elements, size = st.columns(3)
    tensors.metric(tr("checkpoint.tensors"), group_thousands(len(report.tensors)))
    elements.metric(tr("checkpoint.elements"), group_thousands(report.total_numel))
    size.metric(tr("checkpoint.bytes"), binary_bytes(report.total_bytes))
    if match is None:
        return
    (st.success if match.fits else st.error)(tr_text(match.verdict))
    rows = [
        {tr("checkpoint.col_name"): m.name, tr("checkpoint.col_file"): str(tuple(m.file_shape)),
         tr("checkpoint.col_model"): str(tuple(m.model_shape))}
        for m in match.mismatched
    ]  # fmt: skip
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True)


def render_tree(report: CheckpointReport, depth: int) -> None:
    """Show elements and bytes per module, down to `depth`."""
    st.subheader(tr("checkpoint.tree"))
    columns = [tr("checkpoint.col_module"), tr("checkpoint.elements"), tr("checkpoint.bytes")]
    st.dataframe(pd.DataFrame(tree_rows(report.tree, depth, lang=lang()), columns=columns), hide_index=True)


def render_tensors(report: CheckpointReport) -> None:
    """Show every tensor: name, shape, dtype, elements."""
    st.subheader(tr("checkpoint.all_tensors"))
    rows = [
        {tr("checkpoint.col_name"): t.name, tr("checkpoint.col_shape"): str(tuple(t.shape)), "dtype": t.dtype,
         tr("checkpoint.elements"): t.numel}
        for t in report.tensors
    ]  # fmt: skip
    st.dataframe(pd.DataFrame(rows), hide_index=True)
