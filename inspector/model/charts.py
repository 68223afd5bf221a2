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


# Above this many bars or points a name under each cannot be read, and Plotly drops some of them so
# the ones left no longer sit under their bars: the x axis then numbers the layers and hover names them.
MAX_NAMED = 40


def _x_axis(labels: list[str], lang: str) -> tuple[list[str] | list[int], dict[str, object]]:
    """Return the x values and axis settings: the names when few, else layer numbers 1…n."""
    if len(labels) <= MAX_NAMED:
        return labels, dict(tickangle=-45, type="category", automargin=True)
    count = len(labels)
    axis: dict[str, object] = dict(
        type="linear", title=t("chart.model.index_axis", lang, count=count), range=[0.5, count + 0.5]
    )
    return list(range(1, count + 1)), axis


# A log axis labels its minor ticks (2, 5, 20, 50…) when the range is narrow, which piles labels up:
# one label per power of ten, in SI (1k, 1M).
LOG_AXIS = dict(type="log", dtick=1, tickformat="~s", minor=dict(showgrid=False))


def _bar_figure(groups: list[LayerGroup], values: list[int], model: str, title: str, axis: str, lang: str) -> go.Figure:
    labels = [_group_label(group, model, lang) for group in groups]
    hover = [
        f"{label} ({group.type})<br>{axis}: {value:,}"
        for label, group, value in zip(labels, groups, values, strict=True)
    ]
    x, xaxis = _x_axis(labels, lang)
    fig = go.Figure(go.Bar(x=x, y=values, hovertext=hover, hoverinfo="text", marker_color="#3b82f6"))
    fig.update_layout(title=title, yaxis_title=axis, height=380, margin=dict(l=10, r=10, t=40, b=10), xaxis=xaxis)
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
    x, xaxis = _x_axis(labels, lang)
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=[step.elements for step in steps],
            mode="lines+markers",
            hovertext=hover,
            hoverinfo="text",
            line=dict(color="#10b981"),
        )
    )
    fig.update_layout(
        title=t("chart.model.flow_title", lang),
        yaxis=dict(title=t("chart.model.flow_axis", lang), **LOG_AXIS),
        height=380,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis=xaxis,
    )
    return fig
