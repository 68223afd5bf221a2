"""The Model Inspector's settings: a zoo model's options, the input size, and the depth shown.

Option values from a link go through `zoo_options`, the input size through `parse_size`, exactly
as the CLI's flags do; each widget key is per model, so every model keeps its own settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import streamlit as st

from inspector.core.errors import InspectorError
from inspector.core.report import ModelReport
from inspector.core.shapes import format_shape_tree, parse_size
from inspector.model.zoo import zoo_options
from models import ModelOption, ZooEntry
from ui.cache import Options, default_input_size
from ui.query import url_value
from ui.state import plain, setting, tr, tr_or, tr_text

PERSIST: Final = "session"
DEFAULT_DEPTH = 2


def option_key(model: str, name: str) -> str:
    """Return the session key of a model option's widget."""
    return f"zoo.{model}.{name}"


def _text(kind: str, option: ModelOption) -> str:
    fallback = option.name if kind == "label" else plain(option.help)  # a name is an identifier: nothing to escape
    return tr_or(f"options.{option.name}.{kind}", fallback)


def init_options(entry: ZooEntry, problems: list[str]) -> None:
    """Start each option's widget that has no state yet, from the URL when it names this model."""
    from_url = url_value("model") == entry.name
    for option in entry.options:
        key = option_key(entry.name, option.name)
        if key in st.session_state:
            continue
        value, raw = option.default, url_value(option.name) if from_url else None
        if raw is not None:
            try:
                value = zoo_options(entry, {option.name: raw})[option.name]
            except InspectorError as error:
                problems.append(tr("query.bad_value", setting=setting(option.name, raw), reason=plain(tr_text(error))))
        st.session_state[key] = value


def option_widget(entry: ZooEntry, option: ModelOption, preset: Mapping[str, int] | None = None) -> object:
    """Show the widget for one option, by its type, and return its value.

    An option whose 0 means "the preset's value" (a name in `preset`) shows an empty box reading
    "preset: 768" instead of a bare 0, and returns 0 while empty, as the model's builder expects.
    """
    key = option_key(entry.name, option.name)
    # Any: streamlit's overloads differ per widget; each takes these three keywords.
    common: dict[str, Any] = dict(key=key, help=_text("help", option), persist_state=PERSIST)
    label = _text("label", option)
    if option.choices:
        return st.selectbox(label, option.choices, **common)
    if isinstance(option.default, bool):
        return st.checkbox(label, **common)
    if preset and option.name in preset:
        if st.session_state.get(key) == 0:
            st.session_state[key] = None  # the preset's value: an empty box with the value as placeholder
        value = preset[option.name]
        common["help"] = tr("model.preset_help", help=common["help"], value=f"{value:,}")
        placeholder = tr("model.preset_placeholder", value=f"{value:,}")
        chosen = st.number_input(
            label, min_value=1, max_value=option.maximum, step=1, placeholder=placeholder, **common
        )
        return 0 if chosen is None else chosen
    if isinstance(option.default, int):
        return st.number_input(label, min_value=option.minimum, max_value=option.maximum, step=1, **common)
    low, high = (None if limit is None else float(limit) for limit in (option.minimum, option.maximum))
    return st.number_input(label, min_value=low, max_value=high, step=0.05, format="%g", **common)


def input_widget(entry: ZooEntry, options: Options, problems: list[str]) -> str:
    """Show the input-size box (empty: the model's default for its options) and return its text."""
    key = option_key(entry.name, "input")
    if key not in st.session_state:
        raw = url_value("input") if url_value("model") == entry.name else None
        try:
            st.session_state[key] = "" if raw is None else ",".join(map(str, parse_size(raw)))
        except InspectorError as error:
            problems.append(tr("query.bad_value", setting=setting("input", raw), reason=plain(tr_text(error))))
            st.session_state[key] = ""
    default = format_shape_tree(list(default_input_size(entry.name, options)))
    return st.text_input(
        tr("model.input"),
        key=key,
        placeholder=default,
        persist_state=PERSIST,
        help=tr("model.input_help", default=default),
    )


def requested_input(name: str, options: Options, text: str) -> tuple[int, ...]:
    """Return the input size typed (checked by `parse_size`), or the model's default when empty."""
    return parse_size(text) if text.strip() else default_input_size(name, options)


def depth_slider(report: ModelReport, problems: list[str]) -> int:
    """Show the depth slider (layers deeper than it are folded into their parents) and return it."""
    deepest = max(layer.depth for layer in report.layers)
    if "zoo.depth" not in st.session_state:
        raw, depth = url_value("depth"), DEFAULT_DEPTH
        if raw is not None:
            if raw.strip().isdigit():
                depth = int(raw)
            else:
                problems.append(tr("query.bad_value", setting=setting("depth", raw), reason=tr("query.depth_reason")))
        st.session_state["zoo.depth"] = depth
    st.session_state["zoo.depth"] = max(0, min(int(st.session_state["zoo.depth"]), deepest))
    if deepest == 0:
        return 0
    return st.slider(tr("model.depth"), 0, deepest, key="zoo.depth", help=tr("model.depth_help"))


def options_url(entry: ZooEntry, options: Mapping[str, object]) -> dict[str, str]:
    """Return the options that differ from their defaults, as URL values."""
    return {
        name: str(value).lower() if isinstance(value, bool) else str(value)
        for name, value in options.items()
        if value != next(o.default for o in entry.options if o.name == name)
    }
