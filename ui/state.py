"""The session's shared settings (language, device, dtype) and translated text for the pages."""

from __future__ import annotations

import re
from collections.abc import Callable

import streamlit as st

from inspector.core.errors import InspectorError
from inspector.core.i18n import DEFAULT_LANG, error_text, has_message, localized, t

DEFAULT_DEVICE = "cpu"
DEFAULT_DTYPE = "float32"
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>$~|#])")


def lang() -> str:
    """Return the session's language code."""
    return str(st.session_state.get("lang", DEFAULT_LANG))


def tr(key: str, **params: object) -> str:
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
    """Return `text` with Markdown's special characters escaped, for labels and messages from torch."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))
