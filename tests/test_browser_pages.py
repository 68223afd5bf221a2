"""End to end on the other pages: the builder's one-click fix, and a screenshot of every page."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from server import CHROMIUM, chromium_browser, screenshot

from inspector.builder.build import build_network, propagate
from inspector.builder.templates import template_spec
from inspector.doctor.fixes import apply_fix
from inspector.layers.network_spec import to_url_token

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RENDER_MS = 90_000

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (.ci/run installs Debian's chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


@pytest.fixture(scope="module")
def browser(streamlit_server: object) -> Iterator[object]:
    # One playwright for the whole module: a second sync_playwright while the first is open raises
    # "Sync API inside the asyncio loop".
    with chromium_browser() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def page(browser: object, streamlit_server: object) -> Iterator[object]:
    tab = browser.new_page(viewport={"width": 1440, "height": 1000})
    tab.base_url = streamlit_server.url
    yield tab
    tab.close()


def test_builder_applies_one_fix(page, screenshot_dir):
    spec = template_spec("alexnet_mistake")
    result = propagate(spec, "meta")
    assert not result.fits  # the template really does not fit
    fixed = apply_fix(spec, result.diagnosis.fixes[0])
    # torch's count for the fixed network, built as a real module
    total = sum(p.numel() for p in build_network(fixed, "meta").parameters())
    page.goto(
        f"{page.base_url}/model_builder?spec={quote(to_url_token(spec))}&device=meta", wait_until="domcontentloaded"
    )
    fix_button = page.get_by_role("button", name="Fix 1", exact=False)
    sync_api.expect(fix_button).to_be_visible(timeout=RENDER_MS)
    fix_button.click()
    sync_api.expect(page.get_by_text("Every layer fits", exact=False)).to_be_visible(timeout=RENDER_MS)
    sync_api.expect(page.get_by_text(f"{total:,} parameters", exact=False).first).to_be_visible(timeout=RENDER_MS)
    screenshot(page, "model_builder", screenshot_dir)


@pytest.mark.parametrize(
    ("path", "name", "ready"),
    [
        ("training_planner?model=lenet5", "training_planner", "Parameters"),
        ("init_explorer", "init_explorer", "std"),
        ("checkpoint_inspector", "checkpoint_inspector", "Checkpoint"),
    ],
)
def test_page_loads_and_screenshot(page, path, name, ready, screenshot_dir):
    page.goto(f"{page.base_url}/{path}", wait_until="domcontentloaded")
    sync_api.expect(page.get_by_text(ready, exact=False).first).to_be_visible(timeout=RENDER_MS)
    sync_api.expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    screenshot(page, name, screenshot_dir)


# ── Issue #15: at a desktop and a phone width, numbers are whole, Chinese has no stray **, no emoji icons ──

PAGES = [
    ("layer_lab?layer=Conv2d&stride=2", "lab-output"),
    ("layer_lab?layer=LSTM", "lab-output"),
    ("model_builder?device=meta", "stCode"),
    ("training_planner?model=lenet5", "stMetricValue"),
    ("init_explorer?depth=4&width=32", "stPlotlyChart"),
]
WIDTHS = [1400, 390]
# Emoji and pictographs (and the dingbats ✓ ✗ ✕ that stood in for icons); material icons are a font, not text.
EMOJI = "[\U0001f300-\U0001faff\u2600-\u27bf\u2b50\u2b55\u2705\u274c]"
# In the page itself (the sidebar slides away on a phone, leaving its own headings zero-wide).
NUMBERS = ", ".join(
    f'[data-testid="stMain"] {inner}'
    for inner in (
        '[data-testid="stMetricValue"]',
        '[data-testid="stMarkdownContainer"] h3',
        '[data-testid="stTable"] td',
    )
)
CUT_NUMBERS = """
(selector) => [...document.querySelectorAll(selector)]
    .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
    .map(e => e.innerText)
"""
PICTURED = """
(pattern) => {
  const re = new RegExp(pattern, 'u');
  const walker = document.createTreeWalker(document.querySelector('[data-testid="stMain"]'), NodeFilter.SHOW_TEXT);
  const found = [];
  while (walker.nextNode()) {
    const node = walker.currentNode, parent = node.parentElement;
    const icon = parent && parent.closest('[data-testid="stIconMaterial"], .material-symbols-rounded');
    if (!icon && re.test(node.textContent)) found.push(node.textContent.trim().slice(0, 60));
  }
  return found;
}
"""


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize(("path", "ready"), PAGES)
def test_pages_say_their_numbers_whole_at_every_width(browser, streamlit_server, path, ready, lang, width):
    tab = browser.new_page(viewport={"width": width, "height": 1000})
    try:
        tab.goto(f"{streamlit_server.url}/{path}&lang={lang}", wait_until="domcontentloaded")
        target = tab.locator(f'[data-testid="{ready}"], .st-key-{ready}').first
        sync_api.expect(target).to_be_visible(timeout=RENDER_MS)
        sync_api.expect(tab.locator('[data-testid="stStatusWidget"]')).to_have_count(0, timeout=RENDER_MS)
        sync_api.expect(tab.locator('[data-testid="stException"]')).to_have_count(0)
        assert tab.evaluate(CUT_NUMBERS, NUMBERS) == []  # no number or shape shown cut off
        main = tab.locator('[data-testid="stMain"]').inner_text()
        if lang == "zh":
            assert "**" not in main  # Markdown bold that did not render (a CJK full stop right after **)
        assert tab.evaluate(PICTURED, EMOJI) == []  # icons are material symbols, never emoji
    finally:
        tab.close()
