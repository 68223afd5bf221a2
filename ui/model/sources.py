"""The Model Inspector's other sources: a Hugging Face config (shelf, upload or paste) and your own code.

Each source shows its settings in the settings column, runs one engine call (cached) and returns the
report; the page then shows it with the zoo's views. Your code runs only in a worker process
(`core.sandbox.run_limited`) and only where the server was started with INSPECTOR_ALLOW_CODE=1.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from inspector.core.errors import InspectorError
from inspector.core.report import ModelReport
from inspector.core.sandbox import run_limited
from inspector.core.shapes import parse_sizes
from inspector.core.units import si
from inspector.model.graph_dot import to_dot
from inspector.model.hf import DEFAULT_SEQ_LEN, MAX_SEQ_LEN, Head, load_source, shelf, source_from_text
from inspector.model.sources import (
    META_ABOVE_PARAMS,
    ModelSource,
    SourceKind,
    hf_model_source,
    inspect_source,
    model_source,
    parameter_count,
    source_graph,
)
from inspector.model.user_code import ALLOW_CODE_ENV, check_code_allowed, code_allowed, code_graph_dot, inspect_code
from ui.cache import Options
from ui.errors import attempt
from ui.query import init_choice, url_value
from ui.state import fixed_tr, plain, setting, tr

CONFIG = "config"  # the Architecture choice that reads the visitor's own config.json
SOURCES = [kind.value for kind in SourceKind]
EXAMPLE_CODE = """from torch import nn


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Linear(16 * 16 * 16, 10)

    def forward(self, x):
        return self.head(self.features(x).flatten(1))
"""


@dataclass(frozen=True)
class HFChoice:
    """The Hugging Face settings: a shelf name or a config's text, the head, the input and where to run."""

    name: str
    config_text: str | None
    head: str | None
    seq_len: int
    batch: int
    on_meta: bool


def source_choice(problems: list[str]) -> SourceKind:
    """Show the source choice (zoo, Hugging Face, your code), started from the URL's `source`, and return it."""
    init_choice("model.source", "source", SOURCES, SourceKind.ZOO.value, problems)
    say = fixed_tr()
    chosen = st.segmented_control(
        tr("model_source.label"),
        SOURCES,
        key="model.source",
        help=tr("model_source.help"),
        format_func=lambda kind: say(f"model_source.kind.{kind}"),
        required=True,
    )
    return SourceKind(chosen or SourceKind.ZOO.value)


def hf_source(choice: HFChoice) -> ModelSource:
    """Return the chosen architecture as a model source (read from the shelf or the given config; not built)."""
    head = choice.head
    loaded = (
        load_source(choice.name, head)
        if choice.config_text is None
        else source_from_text(choice.config_text, "config.json", head)
    )
    return hf_model_source(loaded, choice.seq_len, choice.batch)


@st.cache_data(max_entries=16, show_spinner=False)
def hf_parameter_count(choice: HFChoice) -> int:
    """Return the parameter count of the chosen architecture, built on meta (cached)."""
    return parameter_count(hf_source(choice))


@st.cache_data(max_entries=16, show_spinner=False)
def hf_report(choice: HFChoice, device: str, dtype: str) -> ModelReport:
    """Return the report of the chosen architecture on `device` (meta when ticked), within the memory budget."""
    return inspect_source(hf_source(choice), "meta" if choice.on_meta else device, dtype)


@st.cache_data(max_entries=16, show_spinner=False)
def hf_graph_dot(choice: HFChoice, depth: int, lang: str) -> str:
    """Return the DOT text of the chosen architecture's graph at `depth` (traced on meta)."""
    return to_dot(source_graph(hf_source(choice), depth), lang)


@st.cache_data(max_entries=16, show_spinner=False)
def zoo_graph_dot(name: str, options: Options, input_size: tuple[int, ...], depth: int, lang: str) -> str:
    """Return the DOT text of a zoo model's graph at `depth` (traced on meta)."""
    return to_dot(source_graph(model_source(name, dict(options), input_size=input_size), depth), lang)


def _start(key: str, url_name: str, default: object, problems: list[str], convert: type = str) -> None:
    if key in st.session_state:
        return
    raw, value = url_value(url_name), default
    if raw is not None:
        try:
            value = convert(raw)
        except ValueError:
            problems.append(
                tr("query.bad_value", setting=setting(url_name, raw), reason=tr("model_source.whole_number"))
            )
    st.session_state[key] = value


def hf_settings(problems: list[str], inputs: bool = True) -> HFChoice | None:
    """Show the Hugging Face settings and return them (None while no config was given).

    Without `inputs` (the Training Planner, which has its own batch and sample settings) only the
    architecture and head are shown; the choice then carries the default sequence length and batch.
    """
    names = [*shelf(), CONFIG]
    init_choice("hf.name", "hf", names, "gpt2", problems)
    init_choice("hf.head", "head", ["", *Head], "", problems)
    if inputs:
        _start("hf.seq_len", "seq_len", DEFAULT_SEQ_LEN, problems, int)
        _start("hf.batch", "batch", 1, problems, int)
    say = fixed_tr()
    titles = {name: entry.title for name, entry in shelf().items()}
    name = st.selectbox(
        tr("model_source.hf_model"),
        names,
        key="hf.name",
        help=tr("model_source.hf_model_help"),
        format_func=lambda n: titles.get(n) or say("model_source.config_choice"),
    )
    text = None
    if name == CONFIG:
        upload = st.file_uploader(tr("model_source.hf_upload"), type=["json"], key="hf.upload")
        pasted = st.text_area(tr("model_source.hf_paste"), key="hf.paste", height=120)
        text = upload.getvalue().decode("utf-8", errors="replace") if upload is not None else pasted.strip() or None
    head = st.selectbox(
        tr("model_source.head"),
        ["", *Head],
        key="hf.head",
        help=tr("model_source.head_help"),
        format_func=lambda h: h or say("model_source.head_default"),
    )
    if inputs:
        seq_len = st.number_input(tr("model_source.seq_len"), 1, MAX_SEQ_LEN, step=1, key="hf.seq_len")
        batch = st.number_input(tr("model_source.batch"), 1, 1024, step=1, key="hf.batch")
    if name == CONFIG and text is None:
        st.info(tr("model_source.hf_need_config"))
        return None
    if not inputs:
        return HFChoice(name, text, head or None, DEFAULT_SEQ_LEN, 1, True)
    choice = HFChoice(name, text, head or None, int(seq_len), int(batch), True)
    try:
        big = hf_parameter_count(choice) > META_ABOVE_PARAMS
    except InspectorError:
        big = False  # the report below shows the error itself
    on_meta = st.toggle(
        tr("model_source.on_meta"), value=big, key=f"hf.meta.{name}", help=tr("model_source.on_meta_help")
    )
    return HFChoice(name, text, head or None, int(seq_len), int(batch), on_meta)


def hf_url(choice: HFChoice | None) -> dict[str, str]:
    """Return the Hugging Face settings that differ from their defaults, as URL values (a config's text stays out)."""
    if choice is None:
        return {"source": SourceKind.HF.value, "hf": CONFIG}
    values = {"source": SourceKind.HF.value, "hf": choice.name, "head": choice.head or ""}
    values |= {"seq_len": str(choice.seq_len), "batch": str(choice.batch)}
    defaults = {"head": "", "seq_len": str(DEFAULT_SEQ_LEN), "batch": "1"}
    return {key: value for key, value in values.items() if defaults.get(key) != value}


@dataclass(frozen=True)
class CodeChoice:
    """The pasted model: its code, class name, input size and input dtype."""

    code: str
    class_name: str
    input_size: tuple[int, ...] | list[tuple[int, ...]]
    input_dtype: str


def code_settings() -> CodeChoice | None:
    """Show the code box, or, where running code is off, how to turn it on; return the choice or None."""
    if not code_allowed():
        st.info(tr("model_source.code_off", command=f"{ALLOW_CODE_ENV}=1 streamlit run app.py"), icon=":material/lock:")
        return None
    code = st.text_area(
        tr("model_source.code"), EXAMPLE_CODE, key="code.text", height=320, help=tr("model_source.code_help")
    )
    class_name = st.text_input(tr("model_source.class_name"), "Net", key="code.class")
    input_text = st.text_input(tr("model_source.input"), "1,3,32,32", key="code.input")
    input_dtype = st.selectbox(
        tr("model_source.input_dtype"),
        ["float32", "int64"],
        key="code.input_dtype",
        help=tr("model_source.input_dtype_help"),
    )
    sizes = attempt(parse_sizes, input_text)
    if sizes is None:
        return None
    return CodeChoice(code, class_name.strip(), sizes[0] if len(sizes) == 1 else sizes, input_dtype)


def code_input_dtype(choice: CodeChoice) -> str | None:
    """Return the pasted model's input dtype for the engine: None for float inputs, which follow the model's."""
    return choice.input_dtype if choice.input_dtype != "float32" else None  # float inputs follow the model's dtype


@st.cache_data(max_entries=8, show_spinner=False)
def code_report(choice: CodeChoice, device: str, dtype: str) -> ModelReport:
    """Return the report of the pasted model, computed in a worker process under its limits (cached)."""
    size, kind = choice.input_size, code_input_dtype(choice)
    check_code_allowed()  # the server's own environment decides, not the worker's
    return run_limited(inspect_code, choice.code, choice.class_name, {}, size, kind, device, dtype)


@st.cache_data(max_entries=8, show_spinner=False)
def code_graph(choice: CodeChoice, depth: int, lang: str) -> str:
    """Return the DOT text of the pasted model's graph, traced on meta in a worker process (cached)."""
    size, kind = choice.input_size, code_input_dtype(choice)
    check_code_allowed()  # the server's own environment decides, not the worker's
    return run_limited(code_graph_dot, choice.code, choice.class_name, {}, size, kind, depth, lang)


def big_notice(choice: HFChoice, device: str) -> str | None:
    """Return the notice that a big model runs on meta, or None."""
    if not choice.on_meta or device == "meta":
        return None
    count = hf_parameter_count(choice)
    if count <= META_ABOVE_PARAMS:
        return None
    return tr("model_source.big", model=plain(choice.name), params=si(count), device=device)
