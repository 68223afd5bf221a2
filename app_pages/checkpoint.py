"""Checkpoint Inspector: a .safetensors/.pt file's tensors as a module tree, and whether it fits a model."""

from collections.abc import Callable
from functools import partial

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from inspector.checkpoint.match import example_checkpoint, inspect_checkpoint_bytes
from inspector.checkpoint.reader import CheckpointReport
from inspector.model.hf import PREFIX, shelf
from models import ZOO
from ui.checkpoint.views import render_summary, render_tensors, render_tree
from ui.errors import attempt
from ui.state import fixed_tr, plain, tr

EXAMPLES = ("mlp", "lenet5", "resnet18")
REFERENCES = [f"{PREFIX}{name}" for name in shelf()]  # Hugging Face reference configs, built on meta to match
st.title(tr("checkpoint.title"))
st.caption(tr("checkpoint.intro"))


def model_title(name: str, tr: Callable[..., str]) -> str:
    if name.startswith(PREFIX):
        return shelf()[name.removeprefix(PREFIX)].title  # a model's own name, the same in every language
    return tr("checkpoint.none") if not name else tr(f"zoo.{name}.title")


titles = partial(model_title, tr=fixed_tr())  # format_func: see ui.state.fixed_tr


left, right = st.columns([1, 3], gap="large")
with left:
    kinds = ["safetensors", "pt", "pth", "bin", "ckpt"]
    upload = st.file_uploader(tr("checkpoint.upload"), kinds, key="ckpt.upload", help=tr("checkpoint.upload_help"))
    example = st.selectbox(
        tr("checkpoint.example"), ["", *EXAMPLES], key="ckpt.example", format_func=titles,
        help=tr("checkpoint.example_help"),
    )  # fmt: skip
    against = st.selectbox(tr("checkpoint.against"), ["", *ZOO, *REFERENCES], key="ckpt.against", format_func=titles)


def depth_slider() -> int:
    return st.slider(tr("checkpoint.depth"), 1, 6, 2, key="ckpt.depth")


@st.fragment
def tree(checkpoint: CheckpointReport, settings: DeltaGenerator) -> None:
    """The depth slider (in `settings`) and the module tree: moving it reruns only this, not the file's reading."""
    with settings:
        depth = depth_slider()
    render_tree(checkpoint, depth)
    render_tensors(checkpoint)


with right:
    source = (upload.name, upload.getvalue()) if upload is not None else None
    if source is None and example:
        source = attempt(example_checkpoint, example)
    result = None
    if source is None:
        st.info(tr("checkpoint.empty"), icon=":material/upload_file:")
    else:
        with st.spinner(tr("checkpoint.spinner", name=plain(source[0]))):  # the name is the visitor's
            result = attempt(inspect_checkpoint_bytes, source[0], source[1], against or None)
    if result is not None:
        render_summary(*result)
        tree(result[0], left)
    else:
        with left:
            depth_slider()  # no tree to fold yet: the setting stays where it will be used
