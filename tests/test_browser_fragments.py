"""Fragments in a real browser: a change that reruns only part of a page still updates that part and the link.

The Model Inspector's depth slider reruns only the depth view (ui/model/views.render_depth_view): the
table, the open chart tab and the link's `depth` follow it, and the sidebar still reruns the whole page.
Skips when Debian's Chromium or the playwright package is missing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from server import CHROMIUM, chromium_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RENDER_MS = 60_000
FIRST_MS = 180_000  # the server's first page imports torch; a loaded 2-core machine takes its time
# Whether a table cell reads exactly `text` (names are indented with em spaces, which trim() drops).
HAS_CELL = """([text, wanted]) => [...document.querySelectorAll('[data-testid="stDataFrame"] [role="gridcell"]')]
  .some(cell => cell.textContent.trim() === text) === wanted"""

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (.ci/run installs Debian's chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


@pytest.fixture(scope="module")
def page(streamlit_server: object) -> Iterator[object]:
    with chromium_page() as tab:
        yield tab


def test_depth_slider_updates_table_chart_and_link(streamlit_server: object, page: object) -> None:
    page.goto(f"{streamlit_server.url}/model_inspector?model=lenet5", wait_until="domcontentloaded")  # type: ignore[attr-defined]
    page.wait_for_function(HAS_CELL, arg=["features.0", True], timeout=FIRST_MS)  # depth 2 (the default): a child
    thumb = page.locator('[data-testid="stSlider"] input[type="range"]').first
    thumb.focus()
    thumb.press("ArrowLeft")
    page.wait_for_function(HAS_CELL, arg=["features.0", False], timeout=RENDER_MS)  # depth 1: folded into its parent
    sync_api.expect(page).to_have_url(re.compile(r"depth=1"), timeout=RENDER_MS)
    charts = page.locator(".js-plotly-plot")
    sync_api.expect(charts).to_have_count(1, timeout=RENDER_MS)  # only the open tab's figure is sent
    page.get_by_role("tab", name="FLOPs per layer").click()
    sync_api.expect(charts).to_have_count(1, timeout=RENDER_MS)
    thumb.focus()
    thumb.press("ArrowRight")
    page.wait_for_function(HAS_CELL, arg=["features.0", True], timeout=RENDER_MS)
    sync_api.expect(page).to_have_url(re.compile(r"depth=2"), timeout=RENDER_MS)
