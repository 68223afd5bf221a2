"""Plotly figures for the training planner: the estimate's parts as one stacked bar (the measured
peak beside it), and total memory against batch size with the budget across it and the largest
batch marked.

Figures take the planner's dataclasses and only draw them; every text comes from the message
catalogue in `lang`.
"""

from __future__ import annotations

import plotly.graph_objects as go

from inspector.core.i18n import t
from inspector.core.units import binary_bytes
from inspector.planner.estimate import MemoryEstimate
from inspector.planner.largest_batch import BatchSearch

PART_COLOURS = {
    "parameters": "#2563eb",
    "buffers": "#93c5fd",
    "gradients": "#f59e0b",
    "master_weights": "#a855f7",
    "optimizer_state": "#dc2626",
    "activations": "#16a34a",
    "outputs": "#86efac",
    "inputs": "#6b7280",
}
MEASURED_COLOUR, BUDGET_COLOUR, LINE_COLOUR = "#111827", "#dc2626", "#2563eb"
CURVE_POINTS = 60  # enough for a smooth line; the law is affine, so the line is exact anyway


def _unit(largest: float) -> tuple[int, str]:
    """Return (bytes per unit, unit name) so that `largest` reads as a number above 1."""
    return (2**30, "GiB") if largest >= 2**30 else (2**20, "MiB")


def breakdown_figure(estimate: MemoryEstimate, measured_peak: int | None = None, lang: str = "en") -> go.Figure:
    """Return the estimate's parts stacked in one bar; the measured peak, when given, as a bar beside it."""
    per_unit, unit = _unit(max(estimate.total, measured_peak or 0))
    figure = go.Figure()
    column = t("planner.chart.estimate", lang)
    for name, value in estimate.parts().items():
        if value:
            label = t(f"planner.part.{name}", lang)
            figure.add_trace(
                go.Bar(
                    x=[column],
                    y=[value / per_unit],
                    name=label,
                    marker_color=PART_COLOURS[name],
                    hovertemplate=f"{label}: {binary_bytes(value)}<extra></extra>",
                )
            )
    if measured_peak is not None:
        label = t("planner.chart.measured", lang)
        figure.add_trace(
            go.Bar(
                x=[label],
                y=[measured_peak / per_unit],
                name=label,
                marker_color=MEASURED_COLOUR,
                hovertemplate=f"{label}: {binary_bytes(measured_peak)}<extra></extra>",
            )
        )
    figure.update_layout(
        barmode="stack",
        title=t("planner.chart.breakdown", lang, total=binary_bytes(estimate.total)),
        yaxis_title=unit,
        legend_traceorder="reversed",
        margin={"t": 50},
    )
    return figure


def curve_batches(search: BatchSearch, points: int = CURVE_POINTS) -> list[int]:
    """Return the batch sizes the curve is drawn at: 1 to twice the largest batch (at least 8)."""
    end = max(2 * search.largest_batch, 8) if not search.capped else search.largest_batch
    step = max(end // points, 1)
    return sorted({1, *range(step, end + 1, step), search.largest_batch, search.largest_batch + 1} - {0})


def batch_curve_figure(search: BatchSearch, lang: str = "en") -> go.Figure:
    """Return total memory against batch size, the budget as a line across, the largest batch marked."""
    batches = curve_batches(search)
    totals = [search.bytes_at(batch) for batch in batches]
    per_unit, unit = _unit(max(*totals, search.budget_bytes))
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=batches,
            y=[total / per_unit for total in totals],
            mode="lines",
            name=t("planner.chart.total", lang),
            line={"color": LINE_COLOUR},
        )
    )
    measured = [(batch, total) for batch, total in search.measured if batch <= batches[-1]]
    figure.add_trace(
        go.Scatter(
            x=[b for b, _ in measured],
            y=[total / per_unit for _, total in measured],
            mode="markers",
            name=t("planner.chart.measured_points", lang),
            marker={"color": LINE_COLOUR, "size": 7},
        )
    )
    figure.add_hline(
        y=search.budget_bytes / per_unit,
        line_dash="dash",
        line_color=BUDGET_COLOUR,
        annotation_text=t("planner.chart.budget", lang, budget=binary_bytes(search.budget_bytes)),
    )
    if search.largest_batch:
        largest = search.largest_batch
        figure.add_trace(
            go.Scatter(
                x=[largest],
                y=[search.bytes_at(largest) / per_unit],
                mode="markers",  # named in the legend: a label here sat on the budget's
                name=t("planner.chart.largest", lang, batch=largest),
                marker={"color": BUDGET_COLOUR, "size": 12, "symbol": "star"},
            )
        )
    figure.update_layout(
        title=t("planner.chart.curve", lang),
        xaxis_title=t("planner.chart.batch_axis", lang),
        yaxis_title=unit,
        margin={"t": 50},
        legend={"orientation": "h", "yanchor": "top", "y": -0.25, "x": 0},  # below the plot, clear of the lines
    )
    return figure
