"""Plotly figures for the initialisation explorer: a weight histogram under its theoretical density,
and activation std / gradient norm against depth (log scale), a scheme next to PyTorch's default.

Every text on a figure comes from the message catalogue in `lang`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import plotly.graph_objects as go

from inspector.core.i18n import t
from inspector.init.report import InitReport, LayerInit
from inspector.init.theory import Distribution, density_curve

CHOSEN_COLOUR, DEFAULT_COLOUR, THEORY_COLOUR = "#2563eb", "#9ca3af", "#dc2626"


class DepthMetric(StrEnum):
    """What a depth chart plots for each initialised layer."""

    ACTIVATION_STD = "activation_std"
    GRADIENT_NORM = "gradient_norm"


@dataclass(frozen=True)
class DepthSeries:
    """One line of a depth chart: layer k (1-based) at x = k; y None where a log axis has no place for it.

    `missing` names the layers whose value was 0 (underflow) or inf/nan (overflow).
    """

    depth: tuple[int, ...]
    names: tuple[str, ...]
    values: tuple[float | None, ...]
    missing: tuple[str, ...]


def depth_series(report: InitReport, metric: DepthMetric | str) -> DepthSeries:
    """Return `metric` for each layer the scheme initialised, in depth order."""
    layers = report.initialised_layers()
    raw = [getattr(layer, DepthMetric(metric).value) for layer in layers]
    values = tuple(v if v is not None and math.isfinite(v) and v > 0 else None for v in raw)
    missing = tuple(layer.name for layer, v in zip(layers, values, strict=True) if v is None)
    return DepthSeries(tuple(range(1, len(layers) + 1)), tuple(layer.name for layer in layers), values, missing)


def depth_figure(chosen: InitReport, default: InitReport, metric: DepthMetric | str, lang: str = "en") -> go.Figure:
    """Return `metric` against depth on a log y-axis: the chosen scheme, and PyTorch's default dashed."""
    metric = DepthMetric(metric)
    figure = go.Figure()
    for report, colour, dash, label in (
        (default, DEFAULT_COLOUR, "dash", t("init.chart.default", lang)),
        (chosen, CHOSEN_COLOUR, "solid", chosen.spec.scheme.value),
    ):
        series = depth_series(report, metric)
        figure.add_trace(
            go.Scatter(
                x=series.depth,
                y=series.values,
                customdata=series.names,
                name=label,
                mode="lines+markers",
                line={"color": colour, "dash": dash},
                hovertemplate="%{customdata}: %{y:.3g}<extra>" + label + "</extra>",
            )
        )
    missing = depth_series(chosen, metric).missing
    subtitle = t("init.chart.missing", lang, count=len(missing)) if missing else ""
    figure.update_layout(
        title=t(f"init.chart.{metric.value}", lang) + subtitle,
        height=360,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        legend={"orientation": "h", "y": -0.2},
    )
    figure.update_xaxes(title=t("init.chart.depth", lang), dtick=1 if len(chosen.initialised_layers()) <= 20 else None)
    figure.update_yaxes(type="log", title=t(f"init.chart.{metric.value}_axis", lang), exponentformat="power")
    return figure


def histogram_figure(layer: LayerInit, lang: str = "en") -> go.Figure:
    """Return `layer`'s weight histogram (as density) with the scheme's theoretical density or value drawn on it."""
    figure = go.Figure()
    histogram, theory = layer.histogram, layer.theory
    if histogram is not None:
        centres = [(a + b) / 2 for a, b in zip(histogram.edges, histogram.edges[1:], strict=False)]
        widths = [b - a for a, b in zip(histogram.edges, histogram.edges[1:], strict=False)]
        figure.add_trace(
            go.Bar(
                x=centres,
                y=histogram.density,
                width=widths,
                name=t("init.chart.measured", lang),
                marker={"color": CHOSEN_COLOUR, "opacity": 0.6},
                customdata=histogram.counts,
                hovertemplate="%{x:.3g}: %{customdata}<extra></extra>",
            )
        )
    if theory is not None and theory.distribution is Distribution.CONSTANT:
        figure.add_vline(
            x=theory.mean,
            line={"color": THEORY_COLOUR, "width": 3},
            annotation_text=t("init.chart.constant", lang, value=f"{theory.mean:.4g}"),
        )
    elif theory is not None:
        xs, ys = density_curve(theory)
        name = t("init.chart.theory_approx" if theory.approximate else "init.chart.theory", lang)
        figure.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=name, line={"color": THEORY_COLOUR, "width": 2}))
        for edge in (theory.low, theory.high):
            if edge is not None:
                figure.add_vline(x=edge, line={"color": THEORY_COLOUR, "dash": "dot"})
    figure.update_layout(
        title=t("init.chart.histogram", lang, layer=layer.name, shape=str(layer.weight_shape)),
        height=360,
        bargap=0,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        legend={"orientation": "h", "y": -0.2},
    )
    figure.update_xaxes(title=t("init.chart.weight", lang))
    figure.update_yaxes(title=t("init.chart.density", lang))
    return figure
