"""The Layer Lab's input-shape widgets: one number per dimension, labelled as torch names it.

The input follows the layer's arguments: when a change of argument changes the default input (say
in_channels 1 → 3 changes C_in), each dimension the user left at the old default moves with it,
and a dimension the user typed stays. Which dimensions follow is read off `default_input`, so this
module knows nothing about particular layers.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from inspector.core.errors import InspectorError
from inspector.core.shapes import MAX_DIM_SIZE, parse_size
from inspector.layers.args import ArgValue, normalize_args
from inspector.layers.specs import LayerSpec
from ui.arg_widgets import PERSIST
from ui.query import url_value
from ui.state import plain, setting, tr, tr_or, tr_text

BATCH = "N"


def _key(layer: str, suffix: object) -> str:
    return f"lab.{layer}.input.{suffix}"


def dim_label(label: str) -> str:
    """Return a dimension's label with what it means: 'N' → 'N (batch)'."""
    return tr_or(f"dims.{label}", plain(label))


def _from_url(spec: LayerSpec, default: tuple[int, ...], problems: list[str]) -> tuple[tuple[int, ...], bool]:
    """Return the URL's input shape and whether it leaves out the batch dimension, else the default."""
    raw = url_value("input") if url_value("layer") == spec.name else None
    if raw is None:
        return default, False
    try:
        shape = parse_size(raw)
    except InspectorError as error:
        problems.append(tr("query.bad_value", setting=setting("input", raw), reason=plain(tr_text(error))))
        return default, False
    if len(shape) == len(default):
        return shape, False
    if len(shape) == len(default) - 1:
        return (default[0], *shape), True
    problems.append(tr("query.bad_rank", setting=setting("input", raw), count=len(default)))
    return default, False


def _follow(spec: LayerSpec, default: tuple[int, ...], problems: list[str]) -> None:
    """Start the widgets, or move the dimensions still at the old default to the new default."""
    last = st.session_state.get(_key(spec.name, "default"))
    if last is None or _key(spec.name, 0) not in st.session_state:
        shape, unbatched = _from_url(spec, default, problems)
        st.session_state[_key(spec.name, "unbatched")] = unbatched
        for index, size in enumerate(shape):
            st.session_state[_key(spec.name, index)] = size
    elif tuple(last) != default:
        for index, size in enumerate(default):
            key = _key(spec.name, index)
            if len(last) != len(default) or st.session_state.get(key) == last[index]:
                st.session_state[key] = size
    st.session_state[_key(spec.name, "default")] = default


def input_shape_widgets(spec: LayerSpec, args: Mapping[str, ArgValue], problems: list[str]) -> tuple[int, ...] | None:
    """Show the input-shape widgets and return the shape, or None while the arguments are invalid."""
    try:
        checked = normalize_args(spec.args, args, spec.name)
    except InspectorError:
        return None  # the engine's message about the argument is shown with the results
    default, labels = tuple(spec.default_input(checked)), spec.input_dims(checked)
    _follow(spec, default, problems)
    st.markdown(f"**{tr('lab.input_heading')}**")
    unbatched = False
    if BATCH in labels and len(labels) > 1:
        unbatched = st.checkbox(
            tr("lab.unbatched"), key=_key(spec.name, "unbatched"), help=tr("lab.unbatched_help"), persist_state=PERSIST
        )
    shown = [(i, label) for i, label in enumerate(labels) if not (unbatched and label == BATCH)]
    columns = st.columns(2)  # two per row: four side by side leave no room for "C_in (channels)"
    shape = []
    for position, (index, label) in enumerate(shown):
        shape.append(
            columns[position % 2].number_input(
                dim_label(label),
                min_value=1,
                max_value=MAX_DIM_SIZE,
                step=1,
                key=_key(spec.name, index),
                persist_state=PERSIST,
                help=tr("lab.dim_help", label=plain(label)),
            )
        )
    return tuple(int(size) for size in shape)


def input_url_form(spec: LayerSpec, args: Mapping[str, ArgValue], shape: tuple[int, ...]) -> str | None:
    """Return the input shape as written in the URL, or None when it is the layer's default."""
    try:
        default = tuple(spec.default_input(normalize_args(spec.args, args, spec.name)))
    except InspectorError:
        default = None
    return None if shape == default else ",".join(str(size) for size in shape)
