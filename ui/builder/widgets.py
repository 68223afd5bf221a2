"""The Model Builder's editing widgets: start (template, upload), input, one card per layer, add a layer.

Argument widgets follow the argument's ArgKind as in the Layer Lab (labels and help from
`ui.arg_widgets`); sizes are typed as text (`5`, `5,3`, `same`, `none`) and parsed by the engine,
so a bad entry is explained in the engine's words. Each widget's change is a callback that edits
the spec (`ui.builder.state.edit`), so the shapes beside each card always match the widgets.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from inspector.builder.build import BuildResult, LayerStep, StepStatus, fit_new_layer
from inspector.builder.templates import TEMPLATES
from inspector.core.dtypes import DType
from inspector.core.errors import InspectorError
from inspector.core.i18n import localized
from inspector.core.shapes import format_shape_tree, parse_size
from inspector.doctor.diagnose import Diagnosis
from inspector.layers.args import ArgKind, ArgSpec, ArgValue
from inspector.layers.network_spec import (
    LayerEntry,
    NetworkSpec,
    with_args,
    with_input,
    with_layer_moved,
    without_layer,
)
from inspector.layers.specs import LAYERS
from ui.arg_widgets import help_of, label_of
from ui.builder.state import apply, current, edit, load_template, load_upload, refuse, widget_key
from ui.state import fixed_tr, lang, plain, tr, tr_text

TEXT_KINDS = (ArgKind.SIZE, ArgKind.PADDING, ArgKind.OPTIONAL_SIZE, ArgKind.SHAPE, ArgKind.OPTIONAL_INT)
INPUT_DTYPES = (DType.FLOAT32.value, DType.INT64.value)
ARG_COLUMNS = 3


def render_start() -> None:
    """Show the template picker and the spec upload."""
    with st.expander(tr("builder.start"), expanded=not current().layers):
        pick, load = st.columns([3, 1], vertical_alignment="bottom")
        shown_in = lang()  # bound now: format_func may run outside the session (see ui.state.fixed_tr)
        pick.selectbox(
            tr("builder.template"),
            list(TEMPLATES),
            key="builder.template",
            format_func=lambda name: localized(TEMPLATES[name].title, shown_in),
            help=tr("builder.template_help"),
        )
        load.button(tr("builder.load"), key="builder.load", on_click=load_template, args=("builder.template",))
        st.caption(tr_text(TEMPLATES[st.session_state["builder.template"]].description))
        key = widget_key("upload")
        st.file_uploader(
            tr("builder.upload"),
            type=["json"],
            key=key,
            on_change=load_upload,
            args=(key,),
            help=tr("builder.upload_help"),
        )


def _input_changed(key: str) -> None:
    try:
        shape = parse_size(st.session_state[key])
    except InspectorError as error:
        refuse(error, "builder.bad_edit")
        return
    edit(with_input, shape, structural=False)


def render_input(spec: NetworkSpec) -> None:
    """Show the network input's shape and dtype."""
    shape_key, dtype_key = widget_key("input"), widget_key("input_dtype")
    st.session_state.setdefault(shape_key, ",".join(str(d) for d in spec.input_shape))
    st.session_state.setdefault(dtype_key, spec.input_dtype if spec.input_dtype in INPUT_DTYPES else INPUT_DTYPES[0])
    shape, dtype = st.columns([3, 1])
    shape.text_input(
        tr("builder.input_shape"),
        key=shape_key,
        on_change=_input_changed,
        args=(shape_key,),
        help=tr("builder.input_shape_help"),
    )
    dtype.selectbox(
        tr("builder.input_dtype"),
        INPUT_DTYPES,
        key=dtype_key,
        help=tr("builder.input_dtype_help"),
        on_change=lambda: edit(with_input, current().input_shape, st.session_state[dtype_key], structural=False),
    )


def _widget_value(arg: ArgSpec, value: ArgValue) -> object:
    if arg.kind in TEXT_KINDS:
        if value is None:
            return "none"
        return ",".join(str(v) for v in value) if isinstance(value, tuple) else str(value)
    converter = {ArgKind.INT: int, ArgKind.FLOAT: float, ArgKind.BOOL: bool}.get(arg.kind, str)
    return converter(value)


def _arg_changed(index: int, name: str, key: str) -> None:
    edit(with_args, index, {name: st.session_state[key]}, structural=False)


def arg_widget(index: int, entry: LayerEntry, arg: ArgSpec) -> None:
    """Show the widget for one argument of layer `index`; a change edits the spec."""
    key = widget_key(index, arg.name)
    st.session_state.setdefault(key, _widget_value(arg, entry.args[arg.name]))
    # Any: streamlit's overloads differ per widget; each takes these keywords.
    common: dict[str, Any] = dict(key=key, help=help_of(arg), on_change=_arg_changed, args=(index, arg.name, key))
    label = label_of(arg)
    if arg.kind is ArgKind.INT:
        low_int, high_int = (None if limit is None else int(limit) for limit in (arg.minimum, arg.maximum))
        st.number_input(label, min_value=low_int, max_value=high_int, step=1, **common)
    elif arg.kind is ArgKind.FLOAT:
        st.number_input(label, min_value=arg.minimum, max_value=arg.maximum, format="%g", **common)
    elif arg.kind is ArgKind.BOOL:
        st.checkbox(label, **common)
    elif arg.kind is ArgKind.CHOICE:
        st.selectbox(label, arg.choices, **common)
    else:
        st.text_input(label, **common)


def _step_line(step: LayerStep | None) -> str:
    if step is None or step.status is StepStatus.NOT_REACHED:
        return tr("builder.not_reached")
    shape_in = format_shape_tree(list(step.input_shape or ()))
    if step.status is StepStatus.FAILED:
        return tr("builder.failed_line", input=shape_in)
    return tr(
        "builder.step_line",
        input=shape_in,
        output=format_shape_tree(list(step.output_shape or ())),
        params=f"{step.params:,}",
        running=f"{step.running_params:,}",
    )


def render_diagnosis(diagnosis: Diagnosis) -> None:
    """Show the doctor's reason, torch's words, and one button per fix."""
    st.error(tr("builder.reason", reason=plain(tr_text(diagnosis.reason))), icon=":material/stethoscope:")
    if diagnosis.torch_message:
        st.caption(tr("builder.torch_said", message=plain(tr_text(diagnosis.torch_message))))
    if not diagnosis.fixes:
        st.caption(tr("builder.no_fix"))
    for number, fix in enumerate(diagnosis.fixes, 1):
        st.button(
            tr("builder.fix_button", number=number, description=plain(tr_text(fix.description))),
            key=widget_key("fix", number),
            on_click=apply,
            args=(fix,),
            disabled=not fix.applicable,
            help=plain(fix.code) if fix.code else None,
        )


def render_layer(index: int, entry: LayerEntry, step: LayerStep | None, result: BuildResult | None) -> None:
    """Show one layer: its shapes and running count, move/remove buttons, its arguments, its diagnosis."""
    last = len(current().layers) - 1
    with st.container(border=True):
        head, up, down, remove = st.columns([8, 1, 1, 1], vertical_alignment="center", gap="small")
        name = step.name if step else entry.type.lower()
        head.markdown(tr("builder.layer_head", index=index, type=entry.type, name=name) + "  \n" + _step_line(step))
        up.button(
            "↑",
            key=widget_key(index, "up"),
            on_click=edit,
            args=(with_layer_moved, index, -1),
            disabled=index == 0,
            help=tr("builder.up"),
        )
        down.button(
            "↓",
            key=widget_key(index, "down"),
            on_click=edit,
            args=(with_layer_moved, index, 1),
            disabled=index == last,
            help=tr("builder.down"),
        )
        remove.button(
            "",
            icon=":material/close:",
            key=widget_key(index, "remove"),
            on_click=edit,
            args=(without_layer, index),
            help=tr("builder.remove"),
        )
        if step is not None and step.status is StepStatus.FAILED and result is not None and result.diagnosis:
            render_diagnosis(result.diagnosis)
        if step is not None and step.notes:
            st.caption(" · ".join(plain(tr_text(note)) for note in step.notes))
        if entry.spec.args:
            with st.expander(tr("builder.arguments")):
                columns = st.columns(ARG_COLUMNS)
                for number, arg in enumerate(entry.spec.args):
                    with columns[number % ARG_COLUMNS]:
                        arg_widget(index, entry, arg)


def _add(type_key: str, position_key: str) -> None:
    position = int(st.session_state[position_key])
    edit(fit_new_layer, position, st.session_state[type_key])


def render_add(spec: NetworkSpec) -> None:
    """Show the form that inserts a new layer, its size arguments fitted to what arrives there."""
    with st.container(border=True):
        kind, where, add = st.columns([3, 2, 1], vertical_alignment="bottom")
        tr_now = fixed_tr()  # format_func runs again outside the session in AppTest

        def layer_label(name: str) -> str:
            return f"{name} ({tr_now('families.' + LAYERS[name].family.value)})"

        kind.selectbox(
            tr("builder.add_type"),
            list(LAYERS),
            key="builder.add.type",
            help=tr("builder.add_type_help"),
            format_func=layer_label,
        )
        position_key = widget_key("add", "position")
        where.number_input(
            tr("builder.add_position"),
            min_value=0,
            max_value=len(spec.layers),
            value=len(spec.layers),
            step=1,
            key=position_key,
        )
        add.button(tr("builder.add"), key="builder.add.button", on_click=_add, args=("builder.add.type", position_key))
