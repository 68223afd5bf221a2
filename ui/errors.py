"""Showing what went wrong on the page, in words, so that one bad setting never breaks the page."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from inspector.core.bounds import shorten_runs
from inspector.core.errors import InspectorError
from inspector.core.i18n import error_text
from ui.state import lang, page_hint, plain, tr

T = TypeVar("T")


def show_error(error: InspectorError) -> None:
    """Show an InspectorError (translated where its key has messages): what was wrong and how to fix it."""
    message, hint = error_text(error, lang())
    hint = page_hint(error) or hint
    text = tr("error.what", message=plain(shorten_runs(message)))
    if hint:
        text += "\n\n" + tr("error.fix", hint=plain(shorten_runs(hint)))
    st.error(text, icon=":material/error:")


def attempt(action: Callable[..., T], *args: object, **kwargs: object) -> T | None:
    """Return `action(*args, **kwargs)`, or None after showing the error it raised."""
    try:
        return action(*args, **kwargs)
    except InspectorError as error:
        show_error(error)
    except Exception as error:  # torch can raise anything; the page must stay usable all the same
        message = plain(shorten_runs(error))
        st.error(tr("error.unexpected", kind=type(error).__name__, message=message), icon=":material/error:")
    return None


def show_problems(problems: list[str]) -> None:
    """Show the settings from the link that could not be used, and that defaults replaced them."""
    if problems:
        listed = "\n".join(f"- {problem}" for problem in problems)
        st.warning(tr("query.fallback", problems=listed), icon=":material/link:")
