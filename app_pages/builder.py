"""Model Builder: compose a network layer by layer, see the shapes flow, and fix the layer that does not fit."""

import streamlit as st

from ui.builder import views
from ui.builder.state import build_result, current, init_spec, pop_message
from ui.builder.widgets import render_add, render_input, render_layer, render_start
from ui.errors import attempt, show_problems
from ui.query import write_url
from ui.state import device, dtype, tr

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
