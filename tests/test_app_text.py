"""Text from users is text: what a link or a text box sends is shown literally, never as Markdown.

Streamlit renders st.markdown, st.warning, st.error and st.caption as Markdown. A link's value or a
typed input that comes back in a notice must not become a link, an image or emphasis. AppTest gives
the Markdown source of each element; markdown-it-py (CommonMark, the grammar Streamlit's renderer
follows) turns it into HTML, and the tests read the HTML for links, images and the literal text.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from inspector.core.bounds import MAX_DIGITS
from ui.query import MAX_URL_VALUE_CHARS
from ui.state import code, plain

markdown_it = pytest.importorskip("markdown_it")

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 120
IMAGE = "![x](http://h/t.png)"
LINK = "[Click](http://x)"
BARE = "http://x"
RENDERER = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"])


def render(source: str) -> str:
    return RENDERER.render(source)


def visible_text(rendered: str) -> str:
    """Return the text a reader sees in rendered HTML: tags dropped, entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", rendered)).split())


def assert_literal(source: str, *texts: str) -> None:
    """No link, image or autolink formed in `source`, and each of `texts` reads literally."""
    rendered = render(source)
    assert "<a " not in rendered and "<img" not in rendered, rendered
    # GFM's autolink literal (Streamlit turns it on) needs "http://" or "www." as they are in the
    # source, outside code; markdown-it's CommonMark preset has no autolink literal to show it.
    outside_code = re.sub(r"(`+).*?\1", "", source)
    assert "http://" not in outside_code and "www." not in outside_code, source
    for text in texts:
        assert " ".join(text.split()) in visible_text(rendered), (text, rendered)


hostile_text = st.text(
    alphabet=st.sampled_from(list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ abxyz019\n\tä中")), max_size=40
)


@settings(max_examples=400, deadline=None, database=None)
@given(text=hostile_text)
def test_plain_and_code_render_as_the_text_itself(text):
    for shown in (plain(text), code(text)):
        rendered = render(shown)
        assert "<a " not in rendered and "<img" not in rendered and "<em>" not in rendered
        assert "<strong>" not in rendered and "<h" not in rendered and "<li>" not in rendered
        assert visible_text(rendered) == " ".join(text.split()), (text, shown, rendered)


def open_app(query: dict[str, str], page: str | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.query_params.update(query)
    app.run()
    if page:
        app.query_params.clear()
        app.query_params.update(query)
        app.switch_page(page).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_link_values_are_echoed_as_literal_text():
    app = open_app({"device": IMAGE, "dtype": LINK, "lang": BARE})
    notices = [warning.value for warning in app.warning]
    assert notices
    source = "\n\n".join(notices)
    assert_literal(source, f"device={IMAGE}", f"dtype={LINK}", f"lang={BARE}")
    assert app.selectbox(key="device").value == "cpu"  # the defaults replaced them; the page works


def test_a_5000_digit_value_is_echoed_once_shortened_with_the_range():
    app = open_app({"layer": "Conv2d", "input": "1," + "9" * 5000, "kernel_size": "k" * 5000})
    source = "\n\n".join(warning.value for warning in app.warning)
    assert f"up to {MAX_DIGITS} digits" in source and f"up to {MAX_URL_VALUE_CHARS:,} characters" in source
    assert source.count("9" * 20) == 1 and source.count("k" * 20) == 1  # each echoed once
    assert "…" in source and len(source) < 1500  # 5,000 characters each in the link
    assert "input" not in app.query_params or len(app.query_params["input"]) < 100
    assert not app.error  # the page shows the defaults instead


def test_text_typed_into_a_box_is_shown_literally_in_the_error():
    app = open_app({"model": "mlp"}, page="app_pages/model.py")
    # one piece at a time: an echoed value is shortened past 40 characters, and each must show whole
    for typed in (IMAGE, LINK, BARE, "**bold**", "<b>tag</b>", ":red[red]", "$x$"):
        app.text_input(key="zoo.mlp.input").set_value(typed).run()
        assert not app.exception and app.error, typed
        assert_literal(app.error[0].value, typed)


def test_a_long_typed_value_is_shortened_in_the_error():
    app = open_app({"model": "mlp"}, page="app_pages/model.py")
    app.text_input(key="zoo.mlp.input").set_value("1,2,x" + "y" * 3000).run()
    assert not app.exception and app.error
    assert app.error[0].value.count("y") < 100 and "…" in app.error[0].value  # 3,000 typed, shortened
