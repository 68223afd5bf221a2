"""The Layer Lab's results: what torch measured, next to the worked formulas that predict it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from inspector.core.shapes import format_shape_tree
from inspector.core.units import group_thousands, si
from inspector.lab.inspection import LayerInspection
from inspector.lab.keep_size import keep_size
from inspector.layers.specs import get_layer_spec
from ui.arg_widgets import arg_key
from ui.state import plain, tr, tr_text


def _tensors_table(result: LayerInspection) -> pd.DataFrame:
    named = [(t.name, t) for t in result.parameters]
    named += [(tr("lab.buffer_name", name=t.name), t) for t in result.buffers]
    return pd.DataFrame(
        [
            {
                tr("lab.col.name"): name,
                tr("lab.col.shape"): format_shape_tree(t.shape),
                tr("lab.col.numel"): t.numel,
                tr("lab.col.trainable"): t.requires_grad,
            }
            for name, t in named
        ]
    )


def stat(key: str, label: str, value: str, help_text: str | None = None, note: str | None = None) -> None:
    """Show a labelled number or shape in large type; unlike st.metric it wraps instead of cutting a long shape."""
    with st.container(key=key, gap="small"):
        st.caption(label, help=help_text)
        st.markdown(f"### {plain(value)}")
        if note:
            st.caption(note)


def render_headline(result: LayerInspection) -> None:
    """Show the constructor, the math, and the measured shapes and counts."""
    st.code(result.constructor, language="python", wrap_lines=True)
    st.caption(tr("lab.math", math=plain(tr_text(result.math))))
    columns = st.columns([3, 3, 2, 2])
    with columns[0]:
        stat(
            "lab-input",
            tr("lab.metric.input"),
            format_shape_tree(result.input_shape),
            note=plain("(" + ", ".join(result.input_dims) + ")"),
        )
    with columns[1]:
        stat(
            "lab-output",
            tr("lab.metric.output"),
            format_shape_tree(result.output_shape),
            tr("lab.metric.output_help", device=result.device, dtype=result.dtype),
        )
    with columns[2]:
        stat("lab-params", tr("lab.metric.params"), group_thousands(result.param_count), tr("lab.metric.params_help"))
    with columns[3]:
        stat(
            "lab-flops",
            tr("lab.metric.flops"),
            si(result.flops),
            tr("lab.metric.flops_help", flops=group_thousands(result.flops), macs=group_thousands(result.macs)),
        )


def render_output_size(result: LayerInspection) -> None:
    """Show each output dimension's worked formula beside torch's measured output shape."""
    st.subheader(tr("lab.output_heading"))
    for label, worked in result.output_formulas:
        st.markdown(
            f"**{plain(label)}** = `{tr_text(worked.formula)}`",
            help=tr("lab.formula_help", symbolic=tr_text(worked.symbolic)),
        )
    if result.matmul:
        st.markdown(tr("lab.matmul", matmul=tr_text(result.matmul)))
    shape = format_shape_tree(result.output_shape)
    if result.formulas_match is True:
        st.success(tr("lab.match", shape=shape), icon=":material/check_circle:")
    elif result.formulas_match is False:
        st.error(tr("lab.mismatch", shape=shape))
    elif not result.output_formulas and not result.matmul:
        _render_measured_only(result, shape)


def _render_measured_only(result: LayerInspection, shape: str) -> None:
    """Say what torch's output is for a layer without a size formula: kept, changed, or a tuple, labelled."""
    if result.output_parts:
        listed = "\n".join(f"- `{name}`: {format_shape_tree(part)}" for name, part in result.output_parts)
        st.markdown(tr("lab.tuple_outputs", count=len(result.output_parts)) + "\n" + listed)
    elif result.keeps_shape:
        st.caption(tr("lab.no_formula", shape=shape))
    else:
        st.caption(tr("lab.changes_shape", input=format_shape_tree(result.input_shape), shape=shape))


def render_parameters(result: LayerInspection) -> None:
    """Show every parameter and buffer of the real layer and the worked parameter count."""
    st.subheader(tr("lab.params_heading"))
    if result.parameters or result.buffers:
        st.dataframe(
            _tensors_table(result),
            hide_index=True,
            column_config={tr("lab.col.numel"): st.column_config.NumberColumn(format="localized")},
        )
        dtypes = sorted({t.dtype for t in [*result.parameters, *result.buffers]})
        note = " " + tr("lab.buffers_note") if result.buffers else ""
        st.caption(tr("lab.tensor_dtypes", dtypes=", ".join(dtypes)) + note)
    count = group_thousands(result.param_count)
    if result.param_formula:
        st.markdown(
            tr("lab.param_formula", count=count, formula=tr_text(result.param_formula.formula)),
            help=tr("lab.formula_help", symbolic=tr_text(result.param_formula.symbolic)),
        )
    else:
        st.markdown(tr("lab.param_count", count=count))


def _apply_padding(layer: str, padding: list[int]) -> None:
    """Set the padding widgets to the suggestion (a button callback, so before they are drawn)."""
    st.session_state[f"{arg_key(layer, 'padding')}.mode"] = "numbers"
    for index, value in enumerate(padding):
        st.session_state[f"{arg_key(layer, 'padding')}.{index}"] = value


def render_keep_size(result: LayerInspection, axes: tuple[str, ...]) -> None:
    """Show, axis by axis, the padding that keeps the size (or why none does), with a button that applies it."""
    spec = get_layer_spec(result.layer_type)
    if not isinstance(result.input_shape, list):  # one input tensor: a convolution's
        return
    rows = keep_size(spec.layer_class, result.args, result.input_shape, result.input_dims[-spec.spatial_ndim :])
    if not rows:
        return
    st.subheader(tr("lab.keep_heading"), help=tr("lab.keep_help"))
    for row in rows:
        mark = ":green[:material/check_circle:]" if row.possible else ":red[:material/block:]"
        lines = [plain(tr_text(step.text)) + (f" `{step.formula}`" if step.formula else "") for step in row.steps]
        with st.container(key=f"lab-keep-{row.axis}"):
            st.markdown(f"{mark} " + "  \n".join(lines))
    paddings = [row.padding for row in rows]
    if all(p is not None for p in paddings) and list(paddings) != _current_padding(result, len(axes)):
        label = "lab.apply_padding" if all(row.possible for row in rows) else "lab.apply_nearest_padding"
        st.button(
            tr(label, padding=format_shape_tree(paddings)),
            on_click=_apply_padding,
            args=(result.layer_type, paddings),
            key="lab.apply_padding",
        )


def _current_padding(result: LayerInspection, ndim: int) -> list[int] | None:
    padding = result.args.get("padding")
    if isinstance(padding, int):
        return [padding] * ndim
    return list(padding) if isinstance(padding, tuple) else None


def render_receptive_field(result: LayerInspection, axes: tuple[str, ...]) -> None:
    """Show how many input cells one output cell sees along each axis, worked."""
    if not result.receptive_field:
        return
    st.subheader(tr("lab.rf_heading"), help=tr("lab.rf_help"))
    for axis, rows in zip(axes, result.receptive_field, strict=False):
        last = rows[-1]
        st.markdown(tr("lab.rf_line", axis=axis, field=last["receptive_field"], jump=last["jump"]))
        st.caption(f"`{tr_text(last['formula'])}`")


def render_notes(result: LayerInspection) -> None:
    """Show the engine's notes about this layer (unbatched input, train-only behaviour, …)."""
    for note in result.notes:
        st.info(plain(tr_text(note)), icon=":material/info:")
