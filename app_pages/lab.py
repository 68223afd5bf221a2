"""Layer Lab: build one real torch layer, see its shapes and parameters beside the formulas."""

import streamlit as st

from inspector.layers.specs import LAYERS
from ui import cache
from ui.arg_widgets import arg_widget, axis_names, init_args, url_form
from ui.errors import attempt, show_problems
from ui.lab import picture, views
from ui.lab.inputs import input_shape_widgets, input_url_form
from ui.query import init_choice, write_url
from ui.state import device, dtype, fixed_tr, tr

problems: list[str] = []
init_choice("lab.layer", "layer", list(LAYERS), "Conv2d", problems)
st.title(tr("lab.title"))
st.caption(tr("lab.intro"))
notice = st.container()


@st.fragment
def lab(found_first: list[str]) -> None:
    """The settings and the results: a changed widget reruns only this, not the app's sidebar and navigation.

    A fragment rerun gets the arguments of the page's last full run again: its notices are taken once.
    """
    problems = found_first.copy()
    found_first.clear()
    settings, results = st.columns([2, 5], gap="large")
    with settings:
        tr_now = fixed_tr()  # format_func runs again outside the session in AppTest
        layer = st.selectbox(
            tr("lab.layer"),
            list(LAYERS),
            key="lab.layer",
            help=tr("lab.layer_help"),
            format_func=lambda name, tr=tr_now: tr(
                "lab.layer_option", name=name, family=tr(f"families.{LAYERS[name].family.value}")
            ),
        )
        spec = LAYERS[layer]
        axes = axis_names(spec, {a.name: a.default for a in spec.args})
        init_args(spec, axes, problems)
        args = {arg.name: arg_widget(spec, arg, axes) for arg in spec.args}
        shape = input_shape_widgets(spec, args, problems)

    url = {"layer": layer} | {name: text for name, value in args.items() if (text := url_form(spec.arg(name), value))}
    if shape is not None and (text := input_url_form(spec, args, shape)):
        url["input"] = text

    with results:
        with st.spinner(tr("lab.spinner")):
            result = attempt(cache.layer_inspection, layer, tuple(args.items()), shape, device(), dtype())
        if result is not None:
            views.render_headline(result)
            left, right = st.columns(2, gap="large")
            with left:
                views.render_output_size(result)
            with right:
                views.render_parameters(result)
            left, right = st.columns(2, gap="large")
            with left:
                views.render_keep_size(result, axes)
            with right:
                views.render_receptive_field(result, axes)
            cell = picture.render_window(result, spec, axes, problems)
            if cell and any(cell):
                url["cell"] = ",".join(str(index) for index in cell)
            picture.render_matmul(result)
            views.render_notes(result)

    with notice:
        show_problems(problems)
    write_url(url)


lab(problems)
