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
