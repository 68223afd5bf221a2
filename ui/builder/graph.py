"""The Model Builder's graph: the composed network traced on meta, drawn by the shared graph view (`ui.graph`)."""

from __future__ import annotations

import streamlit as st

from inspector.builder.build import build_network
from inspector.layers.network_spec import NetworkSpec
from inspector.model.graph_dot import to_dot
from inspector.model.graph_trace import trace_graph


@st.cache_data(max_entries=16, show_spinner=False)
def network_graph_dot(spec_json: str, lang: str) -> str:
    """Return the DOT text of the network `spec_json` describes, traced on meta (nothing allocated)."""
    spec = NetworkSpec.from_json(spec_json)
    model = build_network(spec, "meta")
    graph = trace_graph(model, spec.input_shape, device="meta", input_dtype=spec.input_dtype, name="network")
    return to_dot(graph.view(None), lang)
