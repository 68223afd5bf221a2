"""Model Inspector: every layer of a zoo model, Hugging Face architecture or your code, with charts and graph."""

from typing import Any

import streamlit as st

from inspector.model.sources import SourceKind
from models import ZOO
from ui import cache
from ui.errors import attempt, show_problems
from ui.graph import render_graph
from ui.model import views
from ui.model.source_views import render_source
from ui.model.sources import source_choice, zoo_graph_dot
from ui.model.widgets import init_options, input_widget, option_widget, options_url, requested_input
from ui.query import init_choice, write_url
from ui.state import device, dtype, fixed_tr, lang, tr

problems: list[str] = []
init_choice("zoo.model", "model", list(ZOO), "alexnet", problems)
st.title(tr("model.title"))
st.caption(tr("model.intro"))
notice = st.container()

settings, results = st.columns([1, 3], gap="large")
with settings:
    source = source_choice(problems)
if source is not SourceKind.ZOO:  # a Hugging Face config or your own code: the same report, its own settings
    with notice:
        show_problems(problems)
    write_url(render_source(source, settings, results, problems))
    st.stop()
with settings:
    tr_now = fixed_tr()  # format_func runs again outside the session in AppTest
    model = st.selectbox(
        tr("model.model"),
        list(ZOO),
        key="zoo.model",
        help=tr("model.model_help"),
        format_func=lambda name, tr=tr_now: tr(f"zoo.{name}.title"),
    )
    entry = ZOO[model]
    st.caption(tr(f"zoo.{model}.description"))
    init_options(entry, problems)
    options: dict[str, Any] = {}  # Any: each widget returns its own type
    for option in entry.options:  # in order: the preset is chosen before the sizes whose 0 stands for its values
        options[option.name] = option_widget(entry, option, entry.preset_values(options))
    option_items = tuple(options.items())
    input_text = input_widget(entry, option_items, problems)

url = {"model": model, **options_url(entry, options)}
if input_text.strip():
    url["input"] = input_text.strip()

with results:
    input_size = attempt(requested_input, model, option_items, input_text)
    report = None
    if input_size is not None:
        with st.spinner(tr("model.spinner", model=tr(f"zoo.{model}.title"), device=device())):
            report = attempt(cache.model_report, model, option_items, input_size, device(), dtype())
    if report is not None:
        views.render_metrics(report)

        def after(depth: int) -> None:
            views.render_torchinfo(model, option_items, input_size, device(), dtype(), report)
            render_graph("model.graph", zoo_graph_dot, model, option_items, input_size, depth, lang(), file_stem=model)

        views.render_depth_view(report, settings, problems, url, after)

with notice:
    show_problems(problems)
write_url(url)
