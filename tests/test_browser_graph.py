"""End to end: the graph view drawn by Graphviz in a real headless Chromium, for a CNN and a 7B decoder.

The expander is opened by a click, as a visitor does; the browser lays out the DOT text the server sent
and the test waits for an SVG whose nodes name the modules torch itself lists. The picture of the graph
alone is saved to the `screenshot_dir` fixture's folder (`python -m tests.screenshots` points it at
docs/screenshots/ for the README).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from server import CHROMIUM, chromium_page

from inspector.model.hf import build_hf_model, load_source
from models import ZOO

pytestmark = [pytest.mark.browser, pytest.mark.slow]
RENDER_MS = 180_000  # a 7B decoder traced on meta on a busy 2-core machine

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (.ci/run installs Debian's chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


@pytest.fixture(scope="module")
def page(streamlit_server: object) -> Iterator[object]:
    with chromium_page() as tab:
        yield tab


def _open_graph(page: object, url: str) -> object:
    """Load `url`, open the Graph expander and return the drawn SVG once it has nodes."""
    page.goto(url, wait_until="domcontentloaded")
    summary = page.locator('[data-testid="stExpander"] summary', has_text="Graph")
    summary.wait_for(timeout=RENDER_MS)
    summary.click()
    svg = page.locator('[data-testid="stGraphVizChart"] svg')
    sync_api.expect(svg.locator("g.node").first).to_be_visible(timeout=RENDER_MS)
    return svg


def _picture(svg: object, name: str, folder: Path) -> None:
    """Save the drawn graph alone; the viewport grows to hold it (the app scrolls inside its own pane)."""
    folder.mkdir(parents=True, exist_ok=True)
    height = svg.bounding_box()["height"]
    svg.page.set_viewport_size({"width": 1440, "height": int(min(height + 600, 8000))})
    svg.page.mouse.move(0, 0)
    svg.scroll_into_view_if_needed()
    svg.page.wait_for_timeout(1000)  # let the layout settle before the picture
    svg.screenshot(path=str(folder / f"{name}.png"))
    svg.page.set_viewport_size({"width": 1440, "height": 1000})


def test_resnet50_graph_draws_torchs_modules(streamlit_server: object, page: object, screenshot_dir: Path) -> None:
    svg = _open_graph(page, f"{streamlit_server.url}/model_inspector?model=resnet50&depth=1&device=meta")
    text = svg.text_content()
    for name, _ in ZOO["resnet50"].build().named_children():  # conv1, bn1, relu, maxpool, layer1…4, avgpool, fc
        assert name in text
    assert svg.locator("g.edge").count() >= svg.locator("g.node").count() - 1  # one chain at least: connected
    _picture(svg, "graph_resnet50", screenshot_dir)


def test_llama_7b_graph_on_meta(streamlit_server: object, page: object, screenshot_dir: Path) -> None:
    url = f"{streamlit_server.url}/model_inspector?source=hf&hf=llama-2-7b&seq_len=8&depth=2"
    svg = _open_graph(page, url)
    text = svg.text_content()
    model = build_hf_model(load_source("llama-2-7b"), "meta")  # torch's own module tree, built on meta
    assert "lm_head" in dict(model.named_children()) and "lm_head" in text
    assert "embed_tokens" in dict(model.model.named_children()) and "embed_tokens" in text
    assert "×" in text  # 32 identical decoder layers drawn once, the rest folded
    _picture(svg, "graph_llama_2_7b", screenshot_dir)
