"""The session's shared settings (language, device, dtype) and translated text for the pages."""

from __future__ import annotations

import re
from collections.abc import Callable

import streamlit as st

from inspector.core.bounds import shorten
from inspector.core.errors import InspectorError
from inspector.core.i18n import DEFAULT_LANG, error_text, has_message, localized, t

DEFAULT_DEVICE = "cpu"
DEFAULT_DTYPE = "float32"
# Every ASCII punctuation character: CommonMark lets any of them be backslash-escaped, and escaping all
# of them leaves nothing to form a link, image, emphasis, heading, list, table, HTML tag, autolink
# (`http:`, `www.`, `@`), Streamlit directive (`:red[…]`) or `$math$`.
_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")  # a blank line would start a new block (a list, a heading)
_BACKTICK_RUNS = re.compile(r"`+")


def lang() -> str:
    """Return the session's language code."""
    return str(st.session_state.get("lang", DEFAULT_LANG))


def tr(key: str, /, **params: object) -> str:  # `/`: a placeholder may be named key
    """Return message `key` in the session's language with `params` filled in."""
    return t(key, lang(), **params)


def tr_or(key: str, fallback: str) -> str:
    """Return message `key` when a catalogue has it, else `fallback` (text that comes with the engine's data)."""
    return t(key, lang()) if has_message(key, lang()) else fallback


def tr_text(value: object) -> str:
    """Return engine-written text in the session's language: a keyed `Message` translated, else as it is."""
    return localized(value, lang())


def tr_error(error: InspectorError) -> str:
    """Return an engine error as one line, "what — how to fix it", in the session's language where it has a key."""
    message, hint = error_text(error, lang())
    return f"{message} — {hint}" if hint else message


def page_hint(error: InspectorError) -> str | None:
    """Return the hint a web visitor needs where the engine's (for Python and the CLI) names a function, else None.

    One key per audience: `page_hint.<error key>` says what to do in the app, filled with the error's params.
    """
    key = f"page_hint.{error.key}" if error.key else ""
    return t(key, lang(), **error.params) if key and has_message(key, lang()) else None


def fixed_tr() -> Callable[..., str]:
    """Return `tr` fixed to the session's language now, for a widget's format_func.

    AppTest calls format_func again after the run, outside the session, where `lang()` reads English.
    """
    current = lang()
    return lambda key, **params: t(key, current, **params)


def fixed_tr_or() -> Callable[[str, str], str]:
    """Return `tr_or` fixed to the session's language now, for a widget's format_func (see fixed_tr)."""
    current = lang()
    return lambda key, fallback: t(key, current) if has_message(key, current) else fallback


def device() -> str:
    """Return the device chosen in the sidebar."""
    return str(st.session_state.get("device", DEFAULT_DEVICE))


def dtype() -> str:
    """Return the dtype chosen in the sidebar."""
    return str(st.session_state.get("dtype", DEFAULT_DTYPE))


def plain(text: object) -> str:
    """Return `text` to show literally inside Markdown: punctuation escaped, line breaks as spaces.

    For anything a visitor or torch wrote (a URL value, a spec, a layer name, an error message):
    Streamlit parses Markdown in st.markdown, st.info, st.warning, st.error, st.caption and labels.
    """
    # Stripped: spaces or a tab at the start would make an indented code block.
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", _LINE_BREAKS.sub(" ", str(text)).strip())


def code(text: object) -> str:
    """Return `text` as a Markdown code span, shown literally whatever it holds.

    Nothing inside a code span is parsed, so no escaping (which would show as backslashes): the fence
    is one backtick longer than any run of backticks in `text`, padded where `text` starts or ends
    with one, and line breaks become spaces, as CommonMark's code spans want.
    """
    text = _LINE_BREAKS.sub(" ", str(text))
    if not text:
        return ""  # an empty span would show its two backticks
    fence = "`" * (max((len(run) for run in _BACKTICK_RUNS.findall(text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def setting(name: str, value: object) -> str:
    """Return `name=value` from a link as a code span, the value shortened: how notices echo a URL value."""
    return code(f"{shorten(name)}={shorten(value)}")
