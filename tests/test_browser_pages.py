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
    ("model_inspector?model=gpt2&depth=9", "stDataFrame"),  # long layer names, FLOPs in the hundreds of billions
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

# st.dataframe draws its cells on a canvas (glide-data-grid), out of reach of CUT_NUMBERS. Ask the grid
# itself: its React props hold each column's width in pixels, the text it draws in each cell
# (`displayData`, formatted as shown; none for a checkbox or a list) and its font and padding; a cell is
# whole when the text, measured in that font, plus the padding on both sides fits the column. Per grid:
# the cells checked and those cut, or null when the props are not found (a Streamlit upgrade moved them).
CUT_CELLS = """
async () => {
  await document.fonts.ready;
  const measure = document.createElement('canvas').getContext('2d');
  return [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stDataFrame"]')].map(table => {
    const canvas = table.querySelector('canvas');
    const key = canvas && Object.keys(canvas).find(k => k.startsWith('__reactFiber'));
    let fiber = key && canvas[key];
    while (fiber && !(fiber.memoizedProps && fiber.memoizedProps.getCellContent && fiber.memoizedProps.columns)) {
      fiber = fiber.return;
    }
    if (!fiber) return null;
    const grid = fiber.memoizedProps, theme = grid.theme, pad = 2 * theme.cellHorizontalPadding;
    const cut = [];
    let checked = 0;
    grid.columns.forEach((column, col) => {
      measure.font = `${theme.headerFontStyle} ${theme.fontFamily}`;
      const texts = [[column.title, measure.measureText(column.title).width]];
      measure.font = `${theme.baseFontStyle} ${theme.fontFamily}`;
      for (let row = 0; row < grid.rows; row++) {
        const text = grid.getCellContent([col, row]).displayData;
        if (typeof text === 'string') texts.push([text, measure.measureText(text).width]);  // not a checkbox, list
      }
      for (const [text, width] of texts) {
        checked += 1;
        const need = Math.ceil(width + pad);
        if (need > column.width) cut.push(`${column.title}: ${text} (${need} > ${column.width} px)`);
      }
    });
    return {checked, cut};
  });
}
"""


def cut_table_cells(tab: object) -> list[str]:
    """Return the cells of every st.dataframe on the page whose text is wider than its column."""
    tables = tab.locator('[data-testid="stMain"] [data-testid="stDataFrame"]')
    table = tab.locator('[data-testid="stDataFrame"]')
    closed = tab.locator('[data-testid="stExpander"] details:not([open])', has=table)
    for _ in range(closed.count()):  # a table in a closed expander is read as a user who opens it sees it
        closed.first.locator("summary").click()
    for index in range(tables.count()):  # each table's canvas drawn before it is read
        sync_api.expect(tables.nth(index).locator("canvas").first).to_be_visible(timeout=RENDER_MS)
    grids = tab.evaluate(CUT_CELLS)
    assert len(grids) == tables.count(), "a table without its grid"
    assert None not in grids, "glide-data-grid's props were not found: update CUT_CELLS for this Streamlit"
    assert all(grid["checked"] > 0 for grid in grids)
    return [cell for grid in grids for cell in grid["cut"]]


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
        assert cut_table_cells(tab) == []  # nor in a table's cells
        main = tab.locator('[data-testid="stMain"]').inner_text()
        if lang == "zh":
            assert "**" not in main  # Markdown bold that did not render (a CJK full stop right after **)
        assert tab.evaluate(PICTURED, EMOJI) == []  # icons are material symbols, never emoji
    finally:
        tab.close()
