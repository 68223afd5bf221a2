"""The page a link asked for: Streamlit opens the default page for an unknown path; this says so."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlparse

import streamlit as st

from inspector.core.bounds import shorten
from ui.state import code, tr


def requested_path() -> str | None:
    """Return the path the browser asked for, without the server's base path and slashes (None: unknown)."""
    url = st.context.url
    if not url:
        return None
    path = urlparse(url).path.strip("/")
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    if base and (path == base or path.startswith(base + "/")):
        path = path[len(base) :].strip("/")
    return path


def _slug(page: st.Page) -> str:
    # The default page answers at "/" (url_path ""), but its own path opens it too.
    return str(getattr(page, "_url_path", "") or page.url_path)


def show_unknown_page(pages: Sequence[st.Page], shown: st.Page) -> None:
    """Show a notice when the URL names no page: which path, which page opened instead, and the pages."""
    path = requested_path()
    if not path or path in {_slug(page) for page in pages}:
        return
    listed = ", ".join(f"{code('/' + _slug(page))} ({page.title})" for page in pages)
    notice = tr("nav.unknown_page", path=code("/" + shorten(path, 80)), page=shown.title, pages=listed)
    st.warning(notice, icon=":material/link_off:")
