"""The graph view shared by the Model Inspector and the Model Builder: an expander that traces only when open.

The expander reruns the page when it is opened or closed and tells whether it is open, so a closed one
costs nothing. Graphviz lays the DOT text out in the browser (`st.graphviz_chart`); the SVG download is
made by the server's `dot` only when it is clicked.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from inspector.model.graph_dot import svg_available, to_svg
from ui.errors import attempt
from ui.state import tr


@st.cache_data(max_entries=16, show_spinner=False)
def _svg(dot: str) -> bytes:
    return to_svg(dot)


def render_graph(key: str, make_dot: Callable[..., str], *args: object, file_stem: str) -> None:
    """Show an expander that, once open, draws `make_dot(*args)` and offers it as DOT and SVG files."""
    with st.expander(tr("graph_view.heading"), key=key, on_change="rerun", icon=":material/account_tree:") as box:
        if not box.open:
            return
        with st.spinner(tr("graph_view.spinner")):
            dot = attempt(make_dot, *args)
        if dot is None:
            return
        st.graphviz_chart(dot, width="stretch")
        st.caption(tr("graph_view.caption"))
        row = st.container(horizontal=True)
        name = "".join(char if char.isalnum() or char in "-_." else "_" for char in file_stem)[:80] or "model"
        row.download_button(
            tr("graph_view.dot"),
            dot,
            file_name=f"{name}.dot",
            mime="text/vnd.graphviz",
            key=f"{key}.dot",
            on_click="ignore",
        )
        if svg_available():
            row.download_button(
                tr("graph_view.svg"),
                lambda: _svg(dot),
                file_name=f"{name}.svg",
                mime="image/svg+xml",
                key=f"{key}.svg",
                on_click="ignore",
            )
        else:
            st.caption(tr("graph_view.no_svg"))
