"""The Layer Lab's results: what torch measured, next to the worked formulas that predict it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from inspector.core.shapes import format_shape_tree
from inspector.core.units import group_thousands, si
from inspector.lab.inspection import LayerInspection
from ui.arg_widgets import arg_key
from ui.state import plain, tr, tr_or, tr_text


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
    st.caption(tr("lab.math", math=plain(tr_or(f"layer_math.{result.layer_type}", result.math))))
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
        st.caption(tr("lab.no_formula", shape=shape))


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
    """Show the padding that keeps each spatial size, with a button that applies it."""
    if not result.padding_suggestions:
        return
    st.subheader(tr("lab.keep_heading"), help=tr("lab.keep_help"))
    for solution in result.padding_suggestions:
        icon = "✓" if solution["possible"] else "✗"
        st.markdown(f"{icon} `{tr_text(solution['reason'])}`")
    paddings = [s["padding"] for s in result.padding_suggestions]
    if all(p is not None for p in paddings) and list(paddings) != _current_padding(result, len(axes)):
        st.button(
            tr("lab.apply_padding", padding=format_shape_tree(paddings)),
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
