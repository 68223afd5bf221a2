"""Plotly figures of the Model Inspector: parameters and FLOPs per layer, and the shape flow.

Builders take a ModelReport and return `go.Figure`s; the per-layer sums come from `chart_data`.
Every text on a figure comes from the message catalogue in `lang`.
"""

from __future__ import annotations

import plotly.graph_objects as go

from inspector.core.i18n import t
from inspector.core.report import ModelReport
from inspector.core.shapes import format_shape_tree
from inspector.model.chart_data import LayerGroup, layer_groups, shape_flow


def _group_label(group: LayerGroup, model: str, lang: str) -> str:
    name = group.name or model
    return t("chart.model.own" if group.own_only else "chart.model.bar", lang, name=name, type=group.type)


def _bar_figure(groups: list[LayerGroup], values: list[int], model: str, title: str, axis: str, lang: str) -> go.Figure:
    labels = [_group_label(group, model, lang) for group in groups]
    hover = [
        f"{label} ({group.type})<br>{axis}: {value:,}"
        for label, group, value in zip(labels, groups, values, strict=True)
    ]
    fig = go.Figure(go.Bar(x=labels, y=values, hovertext=hover, hoverinfo="text", marker_color="#3b82f6"))
    fig.update_layout(
        title=title,
        yaxis_title=axis,
        height=380,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis=dict(tickangle=-45, type="category"),
    )
    return fig


def params_figure(report: ModelReport, depth: int, lang: str = "en") -> go.Figure:
    """Return a bar per layer (grouped at `depth`) of its parameters; the bars add up to the total."""
    groups = layer_groups(report, depth)
    return _bar_figure(
        groups,
        [g.params for g in groups],
        report.model,
        t("chart.model.params_title", lang),
        t("chart.model.params_axis", lang),
        lang,
    )


def flops_figure(report: ModelReport, depth: int, lang: str = "en") -> go.Figure:
    """Return a bar per layer (grouped at `depth`) of its FLOPs; the bars add up to the total."""
    groups = layer_groups(report, depth)
    return _bar_figure(
        groups,
        [g.flops for g in groups],
        report.model,
        t("chart.model.flops_title", lang),
        t("chart.model.flops_axis", lang),
        lang,
    )


def shape_flow_figure(report: ModelReport, depth: int, lang: str = "en") -> go.Figure:
    """Return the activation size (elements) from the input through each layer to the output."""
    steps = shape_flow(report, depth)
    labels = [t("chart.model.input", lang) if step.name is None else (step.name or report.model) for step in steps]
    hover = [
        f"{label} ({step.type})<br>{format_shape_tree(step.shape)}<br>{step.elements:,}"
        for label, step in zip(labels, steps, strict=True)
    ]
    fig = go.Figure(
        go.Scatter(
            x=labels,
            y=[step.elements for step in steps],
            mode="lines+markers",
            hovertext=hover,
            hoverinfo="text",
            line=dict(color="#10b981"),
        )
    )
    fig.update_layout(
        title=t("chart.model.flow_title", lang),
        yaxis_title=t("chart.model.flow_axis", lang),
        yaxis_type="log",
        height=380,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis=dict(tickangle=-45, type="category"),
    )
    return fig
