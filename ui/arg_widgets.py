"""One widget per layer argument, chosen by its ArgKind, started from the URL and written back to it.

Widget keys are per layer (`lab.Conv2d.kernel_size.0`), so each layer keeps its own settings for
the session. Sizes get one number box per spatial axis; text kinds (SHAPE, OPTIONAL_INT) are passed
to the engine as typed, so its parser explains a bad entry on the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import streamlit as st

from inspector.core.errors import InspectorError, InvalidArgumentError
from inspector.layers.args import ArgKind, ArgSpec, ArgValue, parse_arg
from inspector.layers.specs import LayerSpec
from ui.query import url_value
from ui.state import fixed_tr, plain, setting, tr, tr_or, tr_text

SIZE_KINDS = (ArgKind.SIZE, ArgKind.PADDING, ArgKind.OPTIONAL_SIZE)
PAD_MODES = ("numbers", "same", "valid")
PERSIST: Final = "session"  # a layer's settings survive visiting another layer or page


def arg_key(layer: str, name: str) -> str:
    """Return the session key of a layer argument's widget (sizes add `.0`, `.1`, … per axis)."""
    return f"lab.{layer}.{name}"


def axis_names(spec: LayerSpec, args: dict[str, ArgValue]) -> tuple[str, ...]:
    """Return the spatial axes' letters from the layer's input labels: ('H', 'W') for Conv2d."""
    if not spec.spatial_ndim:
        return ("",)
    return tuple(label.removesuffix("_in") for label in spec.input_dims(args)[-spec.spatial_ndim :])


def label_of(arg: ArgSpec) -> str:
    """Return the argument's label in the session's language (its torch name in English)."""
    return tr_or(f"args.{arg.name}.label", arg.name)  # a name is an identifier: no Markdown to escape


def help_of(arg: ArgSpec) -> str:
    """Return the argument's tooltip: what it does and the formula it enters."""
    return tr_or(f"args.{arg.name}.help", plain(arg.help))


def _numbers(arg: ArgSpec, value: object, count: int) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * count
    if isinstance(value, tuple) and len(value) in (1, count):
        return tuple(value) * (count // len(value))
    raise InvalidArgumentError(tr("query.axes", name=arg.name, count=count, value=value))


def _size_fallback(spec: LayerSpec, arg: ArgSpec) -> object:
    """Return the numbers shown (greyed) under 'same'/'valid' or an automatic stride."""
    if isinstance(arg.default, (int, tuple)):
        return arg.default
    kernel = next((a.default for a in spec.args if a.name == "kernel_size"), 1)
    return kernel if isinstance(kernel, (int, tuple)) else 1


def widget_state(spec: LayerSpec, arg: ArgSpec, value: ArgValue, axes: Sequence[str]) -> dict[str, object]:
    """Return the widget states that show `value` (already parsed) for argument `arg`."""
    key = arg_key(spec.name, arg.name)
    if arg.kind in SIZE_KINDS:
        states: dict[str, object] = {}
        if arg.kind is ArgKind.PADDING:
            states[f"{key}.mode"] = value if isinstance(value, str) else "numbers"
        if arg.kind is ArgKind.OPTIONAL_SIZE:
            states[f"{key}.auto"] = value is None
        numbers = value if isinstance(value, (int, tuple)) else _size_fallback(spec, arg)
        states.update({f"{key}.{i}": n for i, n in enumerate(_numbers(arg, numbers, len(axes)))})
        return states
    if arg.kind is ArgKind.SHAPE:
        assert isinstance(value, tuple), value  # parse_arg makes every shape a tuple
        return {key: ",".join(str(v) for v in value)}
    if arg.kind is ArgKind.OPTIONAL_INT:
        return {key: "" if value is None else str(value)}
    converter = {ArgKind.INT: int, ArgKind.FLOAT: float, ArgKind.BOOL: bool}.get(arg.kind, str)
    return {key: converter(value)}


def init_args(spec: LayerSpec, axes: Sequence[str], problems: list[str]) -> None:
    """Start each argument's widgets that have no state yet: from the URL if it names this layer."""
    from_url = url_value("layer") == spec.name
    for arg in spec.args:
        defaults = widget_state(spec, arg, arg.default, axes)
        if all(key in st.session_state for key in defaults):
            continue
        raw = url_value(arg.name) if from_url else None
        states = defaults
        if raw is not None:
            try:
                states = widget_state(spec, arg, parse_arg(arg, raw), axes)
            except InspectorError as error:
                problems.append(tr("query.bad_value", setting=setting(arg.name, raw), reason=plain(tr_text(error))))
        for key, state in states.items():
            st.session_state.setdefault(key, state)


def _size_widget(spec: LayerSpec, arg: ArgSpec, axes: Sequence[str]) -> ArgValue:
    key, label, help_text = arg_key(spec.name, arg.name), label_of(arg), help_of(arg)
    numbers_off = False
    if arg.kind is ArgKind.PADDING:
        tr_now = fixed_tr()  # format_func runs again outside the session in AppTest

        def mode_label(mode: str) -> str:
            return tr_now(f"lab.padding_modes.{mode}")

        mode = st.radio(
            tr("lab.padding_mode", name=label),
            PAD_MODES,
            horizontal=True,
            key=f"{key}.mode",
            format_func=mode_label,
            persist_state=PERSIST,
            help=help_text,
        )
        numbers_off = mode != "numbers"
    if arg.kind is ArgKind.OPTIONAL_SIZE:
        numbers_off = st.checkbox(tr("lab.stride_auto", name=label), key=f"{key}.auto", persist_state=PERSIST)
    values = []
    for index, (column, axis) in enumerate(zip(st.columns(len(axes)), axes, strict=True)):
        values.append(
            column.number_input(
                f"{label} ({axis})" if axis else label,
                min_value=int(arg.minimum or 0),
                max_value=None if arg.maximum is None else int(arg.maximum),
                step=1,
                key=f"{key}.{index}",
                disabled=numbers_off,
                help=help_text,
                persist_state=PERSIST,
            )
        )
    if numbers_off:
        return st.session_state[f"{key}.mode"] if arg.kind is ArgKind.PADDING else None
    return values[0] if len(set(values)) == 1 else tuple(values)


def arg_widget(spec: LayerSpec, arg: ArgSpec, axes: Sequence[str]) -> ArgValue:
    """Show the widget(s) for one argument and return its value as the engine takes it."""
    if arg.kind in SIZE_KINDS:
        return _size_widget(spec, arg, axes)
    key, label, help_text = arg_key(spec.name, arg.name), label_of(arg), help_of(arg)
    # Any: streamlit's overloads differ per widget; each takes these three keywords.
    common: dict[str, Any] = dict(key=key, help=help_text, persist_state=PERSIST)
    low, high = arg.minimum, arg.maximum
    if arg.kind is ArgKind.INT:
        low_int, high_int = (None if limit is None else int(limit) for limit in (low, high))
        return st.number_input(label, min_value=low_int, max_value=high_int, step=1, **common)
    if arg.kind is ArgKind.FLOAT:
        default = arg.default
        assert isinstance(default, float), default  # a float argument's default is a float
        step = default if 0 < default < 0.05 else 0.05  # eps steps by its own size
        return st.number_input(label, min_value=low, max_value=high, step=step, format="%g", **common)
    if arg.kind is ArgKind.BOOL:
        return st.checkbox(label, **common)
    if arg.kind is ArgKind.CHOICE:
        return st.selectbox(label, arg.choices, **common)
    return st.text_input(
        label, placeholder=tr("lab.none_placeholder") if arg.kind is ArgKind.OPTIONAL_INT else "", **common
    )


def url_form(arg: ArgSpec, value: ArgValue) -> str | None:
    """Return how `value` is written in the URL, or None when it is the default (kept out of the link)."""
    try:
        if parse_arg(arg, value) == arg.default:
            return None
    except InspectorError:
        pass  # an invalid entry stays in the link as typed, so the shared page shows the same error
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)
