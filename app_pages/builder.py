"""Model Builder: compose a network layer by layer, see the shapes flow, and fix the layer that does not fit."""

import streamlit as st

from ui.builder import views
from ui.builder.graph import network_graph_dot
from ui.builder.state import build_result, current, init_spec, pop_message
from ui.builder.widgets import render_add, render_input, render_layer, render_start
from ui.errors import attempt, show_problems
from ui.graph import render_graph
from ui.query import write_url
from ui.state import device, dtype, lang, tr

problems: list[str] = []
init_spec(problems)
st.title(tr("builder.title"))
st.caption(tr("builder.intro"))
notice = st.container()
if (message := pop_message()) is not None:
    st.warning(message, icon=":material/undo:")

spec = current()
render_start()
render_input(spec)
with st.spinner(tr("builder.spinner", device=device())):
    result = attempt(build_result, spec.to_json(), device(), dtype())
if result is not None:
    views.render_verdict(result)
    views.render_chart(result)
    if result.fits and spec.layers:  # a network that runs end to end has a graph to draw
        render_graph("builder.graph", network_graph_dot, spec.to_json(), lang(), file_stem="network")

layers, code = st.columns([3, 2], gap="large")
with layers:
    st.subheader(tr("builder.layers_heading", count=len(spec.layers)))
    if not spec.layers:
        st.info(tr("builder.empty"))
    steps = result.steps if result is not None else ()
    for index, entry in enumerate(spec.layers):
        render_layer(index, entry, steps[index] if index < len(steps) else None, result)
    render_add(spec)

with code:
    st.subheader(tr("builder.code_heading"))
    views.render_code(spec, result)
    views.render_spec_download(spec)

with notice:
    show_problems(problems)
write_url(views.url_settings(spec))
