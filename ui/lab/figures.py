"""The Layer Lab's figures, cached by the numbers they draw.

A rerun that leaves a picture's numbers as they were (out_channels or bias changed, say) gets the same
figure back instead of building it again; the figure is shared read-only (st.plotly_chart copies it).
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import streamlit as st

from inspector.lab.charts import output_grid_figure, sliding_window_figure
from inspector.lab.windows import AxisWindow


@st.cache_resource(max_entries=64, show_spinner=False)
def window_figure(
    input_sizes: Sequence[int],
    output_sizes: Sequence[int],
    axes: Sequence[AxisWindow],
    out_index: Sequence[int],
    lang: str,
) -> go.Figure:
    """Return `sliding_window_figure` for these numbers (cached: the same numbers, the same figure)."""
    return sliding_window_figure(input_sizes, output_sizes, axes, out_index, lang)


@st.cache_resource(max_entries=64, show_spinner=False)
def grid_figure(output_sizes: Sequence[int], out_index: Sequence[int], lang: str) -> go.Figure:
    """Return `output_grid_figure` for these numbers (cached: the same numbers, the same figure)."""
    return output_grid_figure(output_sizes, out_index, lang)
