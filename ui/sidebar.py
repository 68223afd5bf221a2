"""The sidebar every page shares: the language, and the device and dtype that layers and models are built with."""

from __future__ import annotations

import streamlit as st

from inspector.core.devices import available_devices, cuda_visible_devices
from inspector.core.dtypes import FLOATING
from inspector.core.i18n import available_languages, t
from ui.query import init_choice
from ui.state import DEFAULT_DEVICE, DEFAULT_DTYPE, code, tr


def render_sidebar(problems: list[str]) -> None:
    """Show the device and dtype pickers (starting from the URL) and what CUDA_VISIBLE_DEVICES says."""
    devices = {info.name: info.label for info in available_devices()}
    dtypes = [str(choice) for choice in FLOATING]
    init_choice("device", "device", list(devices), DEFAULT_DEVICE, problems)
    init_choice("dtype", "dtype", dtypes, DEFAULT_DTYPE, problems)
    with st.sidebar:
        languages = available_languages()
        st.selectbox(
            tr("sidebar.language"),
            languages,
            format_func=lambda code: t("lang.name", code),
            key="lang",
            help=tr("sidebar.language_help"),
        )
        st.subheader(tr("sidebar.heading"))
        st.selectbox(
            tr("sidebar.device"),
            list(devices),
            format_func=lambda device: devices[device],
            key="device",
            help=tr("sidebar.device_help"),
        )
        visible = cuda_visible_devices()
        shown = tr("sidebar.cuda_unset") if visible is None else code(visible or "∅")
        st.caption(tr("sidebar.cuda_visible", value=shown))
        st.selectbox(tr("sidebar.dtype"), dtypes, key="dtype", help=tr("sidebar.dtype_help"))
        st.caption(tr("sidebar.about"))
