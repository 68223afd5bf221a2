"""End to end on the other pages: the builder's one-click fix, and a screenshot of every page."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from server import CHROMIUM, CHROMIUM_ARGS, screenshot

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
def page(streamlit_server: object) -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": 1440, "height": 1000})
            tab.base_url = streamlit_server.url
            yield tab
        finally:
            browser.close()


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
