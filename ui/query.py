"""The page's settings in the URL's query: read once to start the widgets, written back every run.

A value from a hand-edited link goes through the same parsing as the CLI (`parse_arg`,
`parse_size`, `zoo_options`); one that fails is replaced by its default and named in a notice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import streamlit as st

from inspector.core.bounds import MAX_DIGITS, longest_number
from inspector.core.errors import InspectorError
from inspector.core.i18n import DEFAULT_LANG, available_languages, language_for_locale
from ui.state import DEFAULT_DEVICE, DEFAULT_DTYPE, device, dtype, lang, plain, setting, tr, tr_text

# A page reads names, numbers and shapes from the link, none near this long. The Model Builder's
# `spec` token is longer by design, and bounded where it is decoded (inspector.layers.network_spec).
MAX_URL_VALUE_CHARS = 200
_BOUNDED_ELSEWHERE = frozenset({"spec"})


def url_value(name: str) -> str | None:
    """Return the URL's value for `name` (the last one when repeated), or None."""
    value = st.query_params.get(name)
    return None if value is None else str(value)


def init_choice(key: str, url_name: str, options: Sequence[str], default: str, problems: list[str]) -> None:
    """Start widget `key` from the URL's `url_name` when it is one of `options`, else from `default`."""
    if key in st.session_state:
        return
    raw = url_value(url_name)
    if raw is not None and raw not in options:
        problems.append(tr("query.bad_choice", setting=setting(url_name, raw), choices=plain(", ".join(options))))
        raw = None
    st.session_state[key] = default if raw is None else raw


def init_whole_number(key: str, url_name: str, default: int, low: int, high: int, problems: list[str]) -> None:
    """Start widget `key` from the URL's `url_name` when it is a whole number in [low, high], else from `default`."""
    if key in st.session_state:
        return
    raw = url_value(url_name)
    value = default
    if raw is not None:
        text = raw.strip()
        if text.isdigit() and low <= int(text) <= high:  # drop_oversized has already bounded its digits
            value = int(text)
        else:
            reason = tr("query.whole_number_reason", low=f"{low:,}", high=f"{high:,}")
            problems.append(tr("query.bad_value", setting=setting(url_name, raw), reason=reason))
    st.session_state[key] = value


def init_parsed(key: str, url_name: str, default: object, parse: Callable[[str], object], problems: list[str]) -> None:
    """Start widget `key` from the URL's `url_name` read by `parse` (the engine's own reader), else from
    `default`; a value `parse` refuses is named in a notice with the engine's reason."""
    if key in st.session_state:
        return
    raw = url_value(url_name)
    value = default
    if raw is not None:
        try:
            value = parse(raw)
        except InspectorError as error:
            problems.append(tr("query.bad_value", setting=setting(url_name, raw), reason=plain(tr_text(error))))
    st.session_state[key] = value


def changed_settings(values: Mapping[str, object], defaults: Mapping[str, object]) -> dict[str, str]:
    """Return the settings that differ from their defaults, as URL values: a link carries only what was changed."""
    return {name: str(value) for name, value in values.items() if value != defaults.get(name)}


def browser_language() -> str:
    """Return the catalogue language closest to the browser's (navigator.language, else Accept-Language)."""
    try:
        locale = st.context.locale or st.context.headers.get("Accept-Language")
    except Exception:  # no browser behind this session (AppTest, bare mode)
        locale = None
    return language_for_locale(locale)


def drop_oversized(problems: list[str]) -> None:
    """Remove from the link each value no page could use, naming it (shortened) and the allowed range.

    A value longer than MAX_URL_VALUE_CHARS, or with a number past MAX_DIGITS digits (Python's int()
    refuses 4,300), is hostile or broken whichever page reads it; checking here, once, at the entry,
    means no page parses it.
    """
    for name in list(st.query_params):
        raw = url_value(name)
        if raw is None or name in _BOUNDED_ELSEWHERE:
            continue
        digits = longest_number(raw)
        if digits > MAX_DIGITS:
            problems.append(tr("bounds.url.digits", setting=setting(name, raw), digits=digits, limit=MAX_DIGITS))
        elif len(raw) > MAX_URL_VALUE_CHARS:
            length, limit = len(raw), MAX_URL_VALUE_CHARS
            problems.append(tr("bounds.url.too_long", setting=setting(name, raw), length=length, limit=limit))
        else:
            continue
        del st.query_params[name]


def init_lang(problems: list[str]) -> None:
    """Start the session's language from `?lang=`, else from the browser's language, else English.

    Runs first on every page, so it first drops the link's oversized values (`drop_oversized`).
    """
    drop_oversized(problems)
    default = DEFAULT_LANG if "lang" in st.session_state or url_value("lang") is not None else browser_language()
    init_choice("lang", "lang", available_languages(), default, problems)


def keep_shared_settings() -> None:
    """Keep the sidebar's settings (language, device, dtype) in the URL, also on pages without settings of their own."""
    shared = shared_settings()
    for name in ("lang", "device", "dtype"):
        if name in shared and url_value(name) != shared[name]:
            st.query_params[name] = shared[name]
        elif name not in shared and name in st.query_params:
            del st.query_params[name]


def shared_settings() -> dict[str, str]:
    """Return the sidebar's settings that differ from their defaults, as URL values."""
    chosen = {"device": (device(), DEFAULT_DEVICE), "dtype": (dtype(), DEFAULT_DTYPE), "lang": (lang(), DEFAULT_LANG)}
    return {name: value for name, (value, default) in chosen.items() if value != default}


def write_url(page_settings: dict[str, str]) -> None:
    """Make the URL's query the page's settings plus the shared ones, so a copied link reopens them."""
    wanted = {**shared_settings(), **page_settings}
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)
