"""What the app says when a link asks for too much, and text that renders as written (issue #15).

An unknown page path and an output cell past the output's edge each get a notice; Chinese bold
renders (CommonMark will not close `**` after a full-width colon followed by a letter); status
icons are Streamlit's Material icons, not emoji that show as empty boxes without an emoji font.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import torch
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 120  # a cold start on a busy 2-core machine
APP_CATALOGUES = [ROOT / "locales" / "en.toml", ROOT / "locales" / "zh.toml"]
# Emoji and pictographs (U+1F300–U+1FAFF), dingbats and symbols (U+2600–U+27BF), media controls (⏸ ⏩ …).
EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\u23e9-\u23fa\u2b50\u2b55]")


def open_app(query: dict[str, str], url: str | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.query_params.update(query)
    if url is not None:  # what the browser reports as its address (st.context.url)
        app.context = {"url": url}
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def texts(tree: dict[str, object], path: str = ""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from texts(value, f"{path}{key}.")
        elif isinstance(value, str):
            yield f"{path}{key}", value


@pytest.mark.parametrize(
    ("lang", "words"), [("en", "There is no page `/no_such_page`"), ("zh", "没有页面 `/no_such_page`")]
)
def test_an_unknown_page_path_gets_a_notice_listing_the_pages(lang, words):
    app = open_app({"lang": lang}, url="http://localhost:8501/no_such_page")
    notice = " ".join(warning.value for warning in app.warning)
    assert words in notice
    for path in ("/layer_lab", "/model_inspector", "/model_builder", "/training_planner", "/checkpoint_inspector"):
        assert f"`{path}`" in notice
    assert app.selectbox(key="lab.layer").value  # the default page still works below the notice


@pytest.mark.parametrize("path", ["", "model_inspector", "layer_lab"])
def test_a_known_page_path_gets_no_notice(path):
    app = open_app({}, url=f"http://localhost:8501/{path}")
    assert not any("no page" in warning.value for warning in app.warning)


def test_a_cell_outside_the_output_is_named_and_the_nearest_one_shown():
    # Conv2d k=3 on 8×8: 8 − 3 + 1 = 6 cells per axis, so cell 99,99 becomes 5,5 (the last one).
    query = {"layer": "Conv2d", "kernel_size": "3", "input": "1,1,8,8", "cell": "99,99"}
    app = open_app(query)
    assert tuple(nn.Conv2d(1, 1, 3)(torch.zeros(1, 1, 8, 8)).shape[2:]) == (6, 6)
    assert (app.slider(key="lab.cell.0").value, app.slider(key="lab.cell.1").value) == (5, 5)
    notice = " ".join(warning.value for warning in app.warning)
    assert "cell" in notice and "outside the output (6 × 6 cells)" in notice and "5,5" in notice
    zh = " ".join(warning.value for warning in open_app({**query, "lang": "zh"}).warning)
    assert "超出了输出范围（6 × 6 个单元）" in zh


@pytest.mark.parametrize("catalogue", APP_CATALOGUES, ids=lambda path: path.name)
def test_bold_in_the_catalogues_renders(catalogue):
    markdown = MarkdownIt("commonmark")  # the CommonMark rules Streamlit's Markdown follows
    unclosed = []
    for key, text in texts(tomllib.loads(catalogue.read_text())):
        filled = re.sub(r"\{[^{}]*\}", "值", text)  # a placeholder filled with a letter, as on the page
        if "**" in filled and "**" in markdown.renderInline(filled):
            unclosed.append((key, text))
    assert not unclosed


def test_a_chinese_error_box_shows_bold_not_asterisks():
    app = open_app({"lang": "zh", "layer": "Conv2d", "kernel_size": "9", "input": "1,1,4,4"})
    box = app.error[0].value
    assert box.startswith("**出了什么问题**：")
    assert "<strong>出了什么问题</strong>" in MarkdownIt("commonmark").renderInline(box)


@pytest.mark.parametrize(
    "path",
    [*APP_CATALOGUES, *sorted((ROOT / "ui").rglob("*.py")), *sorted((ROOT / "app_pages").glob("*.py"))],
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_no_emoji_for_icons_in_the_app(path):
    found = [(n, line.strip()) for n, line in enumerate(path.read_text().splitlines(), 1) if EMOJI.search(line)]
    assert not found, "use Streamlit's :material/…: icons"


def test_the_builders_status_lines_use_material_icons():
    catalogue = tomllib.loads((ROOT / "locales" / "en.toml").read_text())["builder"]
    assert catalogue["failed_line"].startswith(":red[:material/cancel:]")
    assert catalogue["not_reached"].startswith(":gray[:material/pause_circle:]")
