"""The Model Inspector for a Hugging Face config or your own code: settings, one cached call, the zoo's views."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from inspector.model.sources import SourceKind
from ui.errors import attempt
from ui.graph import render_graph
from ui.model import views
from ui.model.sources import (
    big_notice,
    code_graph,
    code_report,
    code_settings,
    hf_graph_dot,
    hf_report,
    hf_settings,
    hf_url,
)
from ui.state import device, dtype, lang, plain, tr


def render_source(
    kind: SourceKind, settings: DeltaGenerator, results: DeltaGenerator, problems: list[str]
) -> dict[str, str]:
    """Show the settings and report of a Hugging Face config or pasted code; return the page's URL values."""
    if kind is SourceKind.HF:
        with settings:
            choice = hf_settings(problems)
        url = hf_url(choice)
        if choice is None:
            return url
        with results:
            if (notice := big_notice(choice, device())) is not None:
                st.info(notice, icon=":material/memory:")
            with st.spinner(tr("model_source.spinner", model=plain(choice.name), device=device())):
                report = attempt(hf_report, choice, device(), dtype())
            if report is not None:
                views.render_metrics(report)
                views.render_depth_view(
                    report,
                    settings,
                    problems,
                    url,
                    lambda depth: render_graph(
                        "model.graph", hf_graph_dot, choice, depth, lang(), file_stem=choice.name
                    ),
                )
        return url
    with settings:
        code = code_settings()
    if code is None:
        return {"source": kind.value}
    with results:
        with st.spinner(tr("model_source.spinner", model=plain(code.class_name), device=device())):
            report = attempt(code_report, code, device(), dtype())
        if report is not None:
            st.caption(tr("model_source.code_caption"))
            views.render_metrics(report)
            views.render_depth_view(
                report,
                settings,
                problems,
                None,
                lambda depth: render_graph("model.graph", code_graph, code, depth, lang(), file_stem=code.class_name),
            )
    return {"source": kind.value}
