"""End to end: a real `streamlit run app.py` server driven by a real headless Chromium.

The page loads, a setting changed through the browser changes the shape torch reports, and a
screenshot of each page is saved to the `screenshot_dir` fixture's folder (a tmp dir;
`python -m tests.screenshots` points it at docs/screenshots/ for the README). Skips when Debian's
Chromium or the playwright package is missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from server import CHROMIUM, chromium_page, screenshot
from torch import nn

from models import ZOO

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
RENDER_MS = 60_000

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (.ci/run installs Debian's chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


@pytest.fixture(scope="module")
def app_url(streamlit_server: object) -> str:
    return streamlit_server.url  # started once per module by conftest.py's fixture (tests/server.py)


@pytest.fixture(scope="module")
def page(app_url: str) -> Iterator[object]:
    with chromium_page() as tab:
        yield tab


def _metric(page: object, label: str) -> object:
    return page.locator('[data-testid="stMetric"]', has_text=label).locator('[data-testid="stMetricValue"]')


def _stat(page: object, key: str) -> object:
    """Return the large value of a keyed `ui.lab.views.stat` block."""
    return page.locator(f".st-key-{key} h3")


def test_layer_lab_kernel_change_shows_torch_output(app_url: str, page: object, screenshot_dir: Path) -> None:
    # the notes' Conv2d(1, 1, kernel_size=3, padding=1) on an 8×8 image
    page.goto(f"{app_url}/?layer=Conv2d&padding=1&cell=2,3", wait_until="domcontentloaded")
    output = _stat(page, "lab-output")
    start = tuple(nn.Conv2d(1, 1, kernel_size=3, padding=1)(torch.zeros(1, 1, 8, 8)).shape)
    sync_api.expect(output).to_have_text(str(start), timeout=RENDER_MS)
    kernel_h = page.locator('input[aria-label="kernel_size (H)"]')
    kernel_h.fill("5")
    kernel_h.press("Enter")
    expected = tuple(nn.Conv2d(1, 1, kernel_size=(5, 3), padding=1)(torch.zeros(1, 1, 8, 8)).shape)
    sync_api.expect(output).to_have_text(str(expected), timeout=RENDER_MS)
    sync_api.expect(page).to_have_url(re.compile("kernel_size=5%2C3"), timeout=RENDER_MS)  # in the shareable link

    # clicking an output cell in the picture chooses it: the sliders and the link follow
    output_grid = page.locator(".js-plotly-plot .scatterlayer .trace").last.locator(".point")
    sync_api.expect(output_grid).to_have_count(expected[-2] * expected[-1], timeout=RENDER_MS)
    row, col = expected[-2] - 2, expected[-1] - 2
    cell = output_grid.nth(row * expected[-1] + col)
    cell.scroll_into_view_if_needed()
    page.wait_for_timeout(500)  # plotly listens on its drag layer: click the point's place, not the element
    box = cell.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    sync_api.expect(page).to_have_url(re.compile(f"cell={row}%2C{col}"), timeout=RENDER_MS)
    screenshot(page, "layer_lab", screenshot_dir)


def test_model_inspector_shows_alexnet(app_url: str, page: object, screenshot_dir: Path) -> None:
    page.goto(f"{app_url}/model_inspector?model=alexnet", wait_until="domcontentloaded")
    total = sum(p.numel() for p in ZOO["alexnet"].build().parameters())
    sync_api.expect(_metric(page, "Total parameters")).to_have_text(f"{total:,}", timeout=RENDER_MS)
    sync_api.expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=RENDER_MS)
    screenshot(page, "model_inspector", screenshot_dir)


def test_layer_lab_in_chinese(app_url: str, page: object, screenshot_dir: Path) -> None:
    # ?lang=zh: the course's words next to the numbers; a CJK font must be installed (.ci/run: fonts-noto-cjk)
    page.goto(f"{app_url}/?lang=zh&layer=Conv2d&padding=1", wait_until="domcontentloaded")
    output = _stat(page, "lab-output")
    expected = tuple(nn.Conv2d(1, 1, kernel_size=3, padding=1)(torch.zeros(1, 1, 8, 8)).shape)
    sync_api.expect(output).to_have_text(str(expected), timeout=RENDER_MS)
    sync_api.expect(page.get_by_text("层实验室").first).to_be_visible(timeout=RENDER_MS)
    sync_api.expect(page.locator('input[aria-label="kernel_size（卷积核大小） (H)"]')).to_be_visible(timeout=RENDER_MS)
    screenshot(page, "layer_lab_zh", screenshot_dir)


# The sliding-window picture on a phone and a desktop: the padded input and the output grid are two
# figures in columns, stacked at 390 px and side by side at 1400 px; cells stay square, titles stay inside.
PICTURE_GEOMETRY = """
() => [...document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')].map(plot => {
  const box = element => { const b = element.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
  const points = [...plot.querySelectorAll('.scatterlayer .trace .point')].map(p => {
    const [left, top, right, bottom] = box(p);
    return [(left + right) / 2, (top + bottom) / 2];
  });
  return {figure: box(plot), title: box(plot.querySelector('.gtitle')), points};
})
"""


@pytest.mark.parametrize("width", [1400, 390])
def test_the_sliding_window_picture_reads_at_every_width(app_url: str, page: object, width: int) -> None:
    # Conv2d k=3, padding=1 on 8×8: output 8 − 3 + 2·1 + 1 = 8 cells per axis
    page.set_viewport_size({"width": width, "height": 1000})
    try:
        page.goto(f"{app_url}/?layer=Conv2d&padding=1", wait_until="domcontentloaded")
        grid = page.locator(".js-plotly-plot .scatterlayer .trace").last.locator(".point")
        sync_api.expect(grid).to_have_count(8 * 8, timeout=RENDER_MS)
        page.wait_for_timeout(500)  # plotly's layout pass after the element appears
        padded, output = page.evaluate(PICTURE_GEOMETRY)
        for figure in (padded, output):  # each title whole, inside its own figure
            left, top, right, bottom = figure["title"]
            assert figure["figure"][0] <= left and right <= figure["figure"][2]
            assert figure["figure"][1] <= top and bottom <= figure["figure"][3]
        if width < 640:  # Streamlit stacks columns: the output grid below the input, as wide
            assert output["figure"][1] >= padded["figure"][3] - 1
        else:
            assert output["figure"][0] >= padded["figure"][2] - 1
        points = output["points"]  # row by row: (0, 0), (0, 1), …, (1, 0), …
        step_x, step_y = points[1][0] - points[0][0], points[8][1] - points[0][1]
        assert abs(step_x - step_y) <= 1  # square cells, however narrow the column
        assert step_x >= 24  # not squashed: a cell big enough to see and to tap
        # a tap on a cell still chooses it
        cell = grid.nth(5 * 8 + 6)
        cell.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        box = cell.bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        sync_api.expect(page).to_have_url(re.compile("cell=5%2C6"), timeout=RENDER_MS)
    finally:
        page.set_viewport_size({"width": 1440, "height": 1000})
