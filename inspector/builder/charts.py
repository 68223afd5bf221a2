"""Plotly figures for the Model Builder: the shape flow through the stack, the failing layer marked.

`flow_points` turns a BuildResult into numbers (pure, tested); `builder_flow_figure` draws them:
the elements per activation on a log axis, and the running parameter count beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from inspector.builder.build import BuildResult, StepStatus
from inspector.core.i18n import t
from inspector.core.shapes import format_shape_tree

STATUS_COLOURS = {StepStatus.OK: "#10b981", StepStatus.FAILED: "#ef4444", StepStatus.NOT_REACHED: "#9ca3af"}
INPUT_COLOUR = "#3b82f6"
PARAMS_COLOUR = "#6366f1"


@dataclass(frozen=True)
class FlowPoint:
    """One point of the flow: the input, or a layer with the shape it gives (the one it got, where it failed)."""

    label: str
    layer_type: str
    shape: tuple[int, ...] | None
    elements: int | None
    running_params: int | None
    status: StepStatus | None  # None for the network input


def flow_points(result: BuildResult) -> list[FlowPoint]:
    """Return the input, then one point per layer: output shape where it ran, input shape where it failed."""
    shape = result.spec.input_shape
    points = [FlowPoint("input", "", shape, math.prod(shape), 0, None)]
    for step in result.steps:
        shown = step.output_shape if step.status is StepStatus.OK else step.input_shape
        reached = step.status is not StepStatus.NOT_REACHED
        points.append(
            FlowPoint(
                f"{step.index} {step.name}",
                step.type,
                shown,
                math.prod(shown) if shown is not None else None,
                step.running_params if reached else None,
                step.status,
            )
        )
    return points


def _hover(point: FlowPoint, lang: str) -> str:
    if point.status is None:
        return f"{t('builder.chart.input', lang)}<br>{format_shape_tree(list(point.shape or ()))}"
    status = t(f"builder.status.{point.status.value}", lang)
    lines = [f"{point.label} ({point.layer_type}) — {status}"]
    if point.shape is not None:
        lines.append(format_shape_tree(list(point.shape)) + f" = {point.elements:,}")
    if point.running_params is not None:
        lines.append(t("builder.chart.running_hover", lang, params=f"{point.running_params:,}"))
    return "<br>".join(lines)


def builder_flow_figure(result: BuildResult, lang: str = "en") -> go.Figure:
    """Return the shape flow: elements per activation on a log axis, the running parameter count on the right."""
    points = flow_points(result)
    labels = [t("builder.chart.input", lang) if p.status is None else p.label for p in points]
    colours = [INPUT_COLOUR if p.status is None else STATUS_COLOURS[p.status] for p in points]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=[p.elements for p in points],
            mode="lines+markers",
            name=t("builder.chart.elements", lang),
            marker=dict(
                color=colours,
                size=[16 if p.status is StepStatus.FAILED else 9 for p in points],
                symbol=["x" if p.status is StepStatus.FAILED else "circle" for p in points],
            ),
            line=dict(color=STATUS_COLOURS[StepStatus.OK]),
            hovertext=[_hover(p, lang) for p in points],
            hoverinfo="text",
        ),
        secondary_y=False,
    )
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=[p.running_params for p in points],
            mode="lines",
            name=t("builder.chart.params", lang),
            line=dict(color=PARAMS_COLOUR, dash="dot", shape="hv"),
            hoverinfo="skip",
        ),
        secondary_y=True,
    )
    failed = next((label for label, p in zip(labels, points, strict=True) if p.status is StepStatus.FAILED), None)
    if failed is not None:
        fig.add_annotation(
            x=failed,
            y=0,
            yref="paper",
            text=t("builder.chart.fails_here", lang),
            showarrow=False,
            font=dict(color=STATUS_COLOURS[StepStatus.FAILED]),
            yanchor="bottom",
        )
    fig.update_yaxes(title_text=t("builder.chart.elements", lang), type="log", dtick=1, secondary_y=False)
    fig.update_yaxes(
        title_text=t("builder.chart.params", lang),
        rangemode="tozero",
        tickmode="auto",
        nticks=6,
        showgrid=False,
        secondary_y=True,
    )
    fig.update_layout(
        title=t("builder.chart.title", lang),
        height=400,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis=dict(tickangle=-45, type="category"),
        legend=dict(orientation="h", y=1.12),
    )
    return fig
