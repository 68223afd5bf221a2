"""The Model Builder's state: one NetworkSpec per session, changed only through `inspector.layers.network_spec`.

Every edit is a callback that replaces the spec before the page reruns, so the shapes shown beside
each layer are always those of the spec on screen. A refused edit (an upload that does not parse,
a value out of range) leaves the spec as it was and says why on the next run. Widget keys carry a
revision that moves on every structural change (add, remove, move, fix, load), so widgets restart
from the new spec instead of keeping a removed layer's values.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from inspector.builder.build import BuildResult, propagate
from inspector.builder.templates import template_spec
from inspector.core.errors import InspectorError
from inspector.doctor.fixes import Fix, apply_fix
from inspector.layers.network_spec import NetworkSpec, from_url_token
from ui.query import url_value
from ui.state import plain, tr, tr_error

SPEC = "builder.spec"
REVISION = "builder.rev"
MESSAGE = "builder.message"
URL_PARAM = "spec"
DEFAULT_TEMPLATE = "mlp"


def init_spec(problems: list[str]) -> None:
    """Start the session's spec from the URL's `?spec=` token, else from the default template."""
    if SPEC in st.session_state:
        return
    spec = template_spec(DEFAULT_TEMPLATE)
    raw = url_value(URL_PARAM)
    if raw is not None:
        try:
            spec = from_url_token(raw)
        except InspectorError as error:
            problems.append(tr("builder.bad_url", reason=plain(tr_error(error))))
    st.session_state[SPEC] = spec
    st.session_state[REVISION] = 0


def current() -> NetworkSpec:
    """Return the spec on screen."""
    return st.session_state[SPEC]


def revision() -> int:
    """Return the revision that widget keys carry."""
    return int(st.session_state.get(REVISION, 0))


def widget_key(*parts: object) -> str:
    """Return a widget key tied to the current revision: builder.3.2.kernel_size."""
    return ".".join(["builder", str(revision()), *(str(part) for part in parts)])


def replace_spec(spec: NetworkSpec, structural: bool = True) -> None:
    """Make `spec` the one on screen; a structural change restarts the widgets from it."""
    st.session_state[SPEC] = spec
    if structural:
        old = f"builder.{revision()}."
        for key in [key for key in st.session_state if str(key).startswith(old)]:
            del st.session_state[key]
        st.session_state[REVISION] = revision() + 1


def refuse(error: InspectorError, what: str) -> None:
    """Keep the spec and leave a message for the next run saying what was refused and why."""
    st.session_state[MESSAGE] = tr(what, reason=plain(tr_error(error)))


def pop_message() -> str | None:
    """Return (once) the message a refused edit left."""
    return st.session_state.pop(MESSAGE, None)


def edit(change: Callable[..., NetworkSpec], *args: object, structural: bool = True) -> None:
    """Callback: replace the spec by `change(spec, *args)`, or keep it and say why not."""
    try:
        replace_spec(change(current(), *args), structural)
    except InspectorError as error:
        refuse(error, "builder.bad_edit")


def apply(fix: Fix) -> None:
    """Callback: apply one of the doctor's fixes."""
    edit(apply_fix, fix)


def load_template(key: str) -> None:
    """Callback: start over from the template chosen in widget `key`."""
    replace_spec(template_spec(st.session_state[key]))


def load_upload(key: str) -> None:
    """Callback: load the uploaded spec; a bad file is refused and the current build kept."""
    upload = st.session_state.get(key)
    if upload is None:
        return
    try:
        replace_spec(NetworkSpec.from_json(upload.getvalue()))
    except InspectorError as error:
        refuse(error, "builder.bad_upload")


@st.cache_data(max_entries=64, show_spinner=False)
def build_result(spec_json: str, device: str, dtype: str) -> BuildResult:
    """Return the propagation of the spec (cached by its JSON, device and dtype)."""
    return propagate(NetworkSpec.from_json(spec_json), device, dtype)
