"""The ratio chart: inspect_model's median time over torchinfo's, per model and device.

The HTML loads plotly.js from its CDN (the file stays small enough to keep in the repository).
The PNG comes from plotly's own export (kaleido, which drives an installed Chrome/Chromium);
where that fails, headless Chromium screenshots a self-contained copy of the HTML instead.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import plotly.graph_objects as go

from benchmarks.app_timing import CHROMIUM, CHROMIUM_ARGS

WIDTH, HEIGHT = 1200, 600
DEVICE_COLORS = {"cpu": "#1f77b4", "meta": "#7f7f7f", "cuda": "#2ca02c"}


def ratio_figure(ratios: list[tuple[str, str, float]]) -> go.Figure:
    """Return a bar per (model, device, ratio); the dashed line at 1 is "as fast as torchinfo"."""
    figure = go.Figure()
    for device in dict.fromkeys(device for _, device, _ in ratios):
        points = [(label, ratio) for label, dev, ratio in ratios if dev == device]
        figure.add_bar(
            x=[f"{label} · {device}" for label, _ in points],
            y=[ratio for _, ratio in points],
            name=device,
            marker_color=DEVICE_COLORS.get(device.split(":")[0], "#d62728"),
            text=[f"{ratio:.2f}" for _, ratio in points],
            textposition="outside",
        )
    figure.add_hline(y=1.0, line_dash="dash", annotation_text="as fast as torchinfo", annotation_position="top right")
    figure.update_layout(
        title="inspect_model median time ÷ torchinfo.summary median time (below 1: inspect_model is faster)",
        yaxis_title="time ratio, ours / torchinfo",
        xaxis_tickangle=-45,
        width=WIDTH,
        height=HEIGHT,
        template="plotly_white",
        legend_title="device",
    )
    return figure


def _png_by_kaleido(figure: go.Figure, path: Path) -> None:
    if "BROWSER_PATH" not in os.environ and Path(CHROMIUM).exists():
        os.environ["BROWSER_PATH"] = CHROMIUM  # kaleido ≥ 1 drives a system Chrome; tell it where ours is
    figure.write_image(path, width=WIDTH, height=HEIGHT, scale=1)


def _png_by_screenshot(figure: go.Figure, path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        page_file = Path(folder) / "chart.html"
        figure.write_html(page_file, include_plotlyjs=True, full_html=True)  # inline: no network needed
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                page = browser.new_page(viewport={"width": WIDTH + 40, "height": HEIGHT + 40})
                page.goto(page_file.as_uri())
                page.locator(".main-svg").first.wait_for(timeout=30_000)
                page.locator(".plotly-graph-div").first.screenshot(path=str(path))
            finally:
                browser.close()


def write_chart(ratios: list[tuple[str, str, float]], html_path: Path, png_path: Path | None) -> str:
    """Write the chart as HTML, and as PNG unless `png_path` is None; return how the PNG was made."""
    figure = ratio_figure(ratios)
    figure.write_html(html_path, include_plotlyjs="cdn", full_html=True)
    if png_path is None:
        return "PNG not requested"
    errors = []
    for method, export in (("kaleido", _png_by_kaleido), ("chromium screenshot", _png_by_screenshot)):
        try:
            export(figure, png_path)
            return method
        except Exception as error:  # kaleido missing or its browser failing: try the next way
            errors.append(f"{method}: {type(error).__name__}: {str(error).strip()[:200]}")
    return "PNG export failed (" + "; ".join(errors) + ")"
