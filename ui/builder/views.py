"""The Model Builder's results: the verdict, the shape-flow chart, the code, and the spec to download."""

from __future__ import annotations

import streamlit as st

from inspector.builder.build import BuildResult
from inspector.builder.charts import builder_flow_figure
from inspector.builder.code import CodeStyle, generate_code
from inspector.core.errors import InspectorError
from inspector.core.shapes import format_shape_tree
from inspector.core.units import group_thousands
from inspector.layers.network_spec import NetworkSpec, to_url_token
from ui.state import fixed_tr, lang, plain, tr


def render_verdict(result: BuildResult) -> None:
    """Show whether every layer fits, with the totals, or which layer does not."""
    if result.diagnosis is None:
        st.success(
            tr(
                "builder.fits",
                input=format_shape_tree(list(result.spec.input_shape)),
                output=format_shape_tree(list(result.output_shape)),
                params=group_thousands(result.total_params),
                flops=group_thousands(result.flops),
                device=result.device,
                dtype=result.dtype,
            ),
            icon=":material/check_circle:",
        )
    else:
        diagnosis = result.diagnosis
        st.error(
            tr(
                "builder.fails",
                index=diagnosis.layer_index,
                type=diagnosis.layer_type,
                input=format_shape_tree(list(diagnosis.input_shape)),
            ),
            icon=":material/stethoscope:",
        )


def render_chart(result: BuildResult) -> None:
    """Show the shape flow through the stack."""
    if result.steps:
        st.plotly_chart(builder_flow_figure(result, lang()), key="builder.chart", config={"displaylogo": False})


def render_code(spec: NetworkSpec, result: BuildResult | None) -> None:
    """Show the network as PyTorch code in the chosen style, with a download."""
    tr_now = fixed_tr()  # format_func runs again outside the session in AppTest

    def style_label(style: CodeStyle) -> str:
        return tr_now(f"builder.code_styles.{style}")

    style = st.radio(
        tr("builder.code_style"),
        list(CodeStyle),
        horizontal=True,
        key="builder.code_style",
        format_func=style_label,
    )
    assert style is not None  # a radio with options always has one chosen
    try:
        code = generate_code(spec, style, result)
    except InspectorError as error:  # nn.Sequential cannot hold a layer that takes or returns several tensors
        st.info(tr("builder.sequential_unavailable", reason=plain(error)))
        code = generate_code(spec, CodeStyle.MODULE, result)
    st.code(code, language="python", wrap_lines=True)  # a narrow column must not cut a long line
    st.download_button(
        tr("builder.download_code"), code, file_name="network.py", mime="text/x-python", key="builder.download_code"
    )


def render_spec_download(spec: NetworkSpec) -> None:
    """Offer the spec as JSON."""
    st.download_button(
        tr("builder.download_spec"),
        spec.to_json(),
        file_name="network.json",
        mime="application/json",
        key="builder.download_spec",
    )


def url_settings(spec: NetworkSpec) -> dict[str, str]:
    """Return the page's URL settings: the spec as a token (left out, with a note, when too long)."""
    try:
        return {"spec": to_url_token(spec)}
    except InspectorError as error:
        st.caption(tr("builder.url_too_long", reason=plain(error)))
        return {}
