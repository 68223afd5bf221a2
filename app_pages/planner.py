"""Training planner: memory by part, the largest batch for a budget, and real measured training steps."""

from collections.abc import Callable

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from inspector.core.devices import available_devices, cuda_visible_devices
from inspector.core.shapes import parse_sizes
from inspector.core.units import binary_bytes
from inspector.model.hf import DEFAULT_SEQ_LEN, MAX_SEQ_LEN, PREFIX, load_source, shelf
from inspector.planner.charts import batch_curve_figure, breakdown_figure
from inspector.planner.choices import MAX_BATCH_SIZE, LossName, OptimizerName, Precision
from inspector.planner.estimate import MemoryEstimate, estimate_training_memory
from inspector.planner.largest_batch import BUDGET_PRESETS, BatchSearch, largest_batch_size
from inspector.planner.placement import visible_gpus
from inspector.planner.train_step import measure_training_step
from models import ZOO
from ui.errors import attempt, show_problems
from ui.query import changed_settings, init_choice, init_whole_number, url_value, write_url
from ui.state import fixed_tr, fixed_tr_or, lang, plain, tr, tr_text

PROGRESS = "planner_progress"
MODELS = [*ZOO, *(f"{PREFIX}{name}" for name in shelf())]  # the zoo, then the Hugging Face reference configs
TOKEN_MODELS = frozenset(name for name in MODELS[len(ZOO) :] if not load_source(name).is_vision)  # fed ids
DEVICES = [info.name for info in available_devices() if info.name != "meta"]  # a real step needs memory
DEFAULTS = {
    "model": "resnet18",
    "sample": "",
    "seq_len": DEFAULT_SEQ_LEN,
    "batch": 32,
    "precision": "fp32",
    "optimizer": "adam",
    "loss": "cross_entropy",
    "budget": "24 GB",
    "device": "cpu",
    "steps": 3,
    "warmup": 1,
    "lr": 0.001,
    "dataset": 50_000,
    "epochs": 1,
    "misplace": False,
    "stop": False,
}
CHOICES = {"model": MODELS, "precision": list(Precision), "optimizer": list(OptimizerName), "loss": list(LossName)}
WHOLE = {
    "batch": (1, MAX_BATCH_SIZE),
    "seq_len": (1, MAX_SEQ_LEN),
    "steps": (1, 10_000),
    "warmup": (0, 1_000),
    "dataset": (1, 10**12),
    "epochs": (1, 100_000),
}
TEXTS = ("sample", "budget")  # parsed by the engine, which says what is wrong with a bad one
problems: list[str] = []
for name, options in CHOICES.items():  # a link opens the plan it was copied from
    init_choice(f"planner_{name}", name, [str(option) for option in options], str(DEFAULTS[name]), problems)
for name, (low, high) in WHOLE.items():
    init_whole_number(f"planner_{name}", name, int(DEFAULTS[name]), low, high, problems)
for name in TEXTS:
    if f"planner_{name}" not in st.session_state and (raw := url_value(name)) is not None:
        st.session_state[f"planner_{name}"] = raw
for name, value in DEFAULTS.items():
    st.session_state.setdefault(f"planner_{name}", value)


@st.cache_data(max_entries=32, show_spinner=False)
def plan(
    model: str, sample: str | int, batch: int, choices: tuple, budget: str, device: str
) -> tuple[MemoryEstimate, BatchSearch]:
    size = sample_size(sample)
    kwargs = dict(zip(("precision", "optimizer", "loss"), choices, strict=True))
    estimate = estimate_training_memory(model, size, batch, device=device, **kwargs)
    return estimate, largest_batch_size(model, size, budget, device=device, **kwargs)


def sample_size(sample: str | int) -> object:
    """Return one sample's size: a token model's sequence length, or the typed shape (blank: the model's own)."""
    if isinstance(sample, int):
        return (sample,)
    return parse_sizes(sample) if sample.strip() else None


def model_title(name: str, tr_or: Callable[[str, str], str]) -> str:
    if name.startswith(PREFIX):
        return shelf()[name.removeprefix(PREFIX)].title  # a model's own name, the same in every language
    return tr_or(f"zoo.{name}.title", ZOO[name].title)


def show_progress(bar: DeltaGenerator, done: int, total: int) -> None:
    """Move the bar, and remember how far the run got: Stop reruns the page and ends this run mid-step."""
    st.session_state[PROGRESS] = (done, total)
    bar.progress(done / total, text=tr("planner.progress", done=done, total=total))


def use_preset() -> None:
    st.session_state["planner_budget"] = st.session_state["planner_preset"]


st.title(tr("planner.title"))
st.caption(tr("planner.intro"))
show_problems(problems)
left, right = st.columns([1, 2])
with left:
    tr_now, tr_or_now = fixed_tr(), fixed_tr_or()  # format_func runs again outside the session in AppTest
    model = st.selectbox(
        tr("planner.model"),
        MODELS,
        key="planner_model",
        format_func=lambda name, tr_or=tr_or_now: model_title(name, tr_or),
    )
    if model in TOKEN_MODELS:  # token ids: one sample is a sequence, its length the only size
        seq_len = st.number_input(
            tr("planner_hf.seq_len"), *WHOLE["seq_len"], key="planner_seq_len", help=tr("planner_hf.seq_len_help")
        )
        sample: str | int = int(seq_len)
    else:
        seq_len = st.session_state["planner_seq_len"]
        sample = st.text_input(tr("planner.sample"), key="planner_sample", help=tr("planner.sample_help"))
    batch = st.number_input(tr("planner.batch"), *WHOLE["batch"], key="planner_batch")
    choices = (
        st.selectbox(
            tr("planner.precision"),
            list(Precision),
            key="planner_precision",
            help=tr("planner.precision_help"),
            format_func=lambda value, tr=tr_now: tr(f"planner_choice.precision.{value}"),
        ),
        st.selectbox(
            tr("planner.optimizer"),
            list(OptimizerName),
            key="planner_optimizer",
            format_func=lambda value, tr=tr_now: tr(f"planner_choice.optimizer.{value}"),
        ),
        st.selectbox(
            tr("planner.loss"),
            list(LossName),
            key="planner_loss",
            format_func=lambda value, tr=tr_now: tr(f"planner_choice.loss.{value}"),
        ),
    )
    st.radio(
        tr("planner.presets"),
        [*BUDGET_PRESETS, "device"],
        index=None,
        horizontal=True,
        key="planner_preset",
        on_change=use_preset,
    )
    budget = st.text_input(tr("planner.budget"), key="planner_budget", help=tr("planner.budget_help"))
    device = st.selectbox(tr("planner.device"), DEVICES, key="planner_device", help=tr("planner.device_help"))
    steps = st.number_input(tr("planner.steps"), *WHOLE["steps"], key="planner_steps")
    warmup = st.number_input(tr("planner.warmup"), *WHOLE["warmup"], key="planner_warmup")
    lr = st.number_input(tr("planner.lr"), 1e-8, 10.0, key="planner_lr", format="%g")
    dataset = st.number_input(tr("planner.dataset"), *WHOLE["dataset"], key="planner_dataset")
    epochs = st.number_input(tr("planner.epochs"), *WHOLE["epochs"], key="planner_epochs")
    misplace = st.toggle(tr("planner.misplace"), key="planner_misplace", help=tr("planner.misplace_help"))
    run = st.button(tr("planner.run"), type="primary", key="planner_run")
    st.button(
        tr("planner.stop"), key="planner_stop_button", on_click=lambda: st.session_state.update(planner_stop=True)
    )

settings = {
    "model": model,
    "sample": st.session_state["planner_sample"],
    "seq_len": int(seq_len),
    "batch": int(batch),
    "budget": budget,
    "steps": int(steps),
}
settings |= {"warmup": int(warmup), "dataset": int(dataset), "epochs": int(epochs)}
settings |= dict(zip(("precision", "optimizer", "loss"), (str(choice) for choice in choices), strict=True))
write_url(changed_settings(settings, DEFAULTS))  # before the right column, which may stop the script

with right:
    planned = attempt(plan, model, sample, int(batch), choices, budget, device)
    if planned is None:
        st.stop()
    estimate, search = planned
    stopped_at = st.session_state.pop(PROGRESS, None)  # left by a run that Stop interrupted mid-way
    if stopped_at is not None and not run:
        st.warning(tr("planner.stopped_notice", done=stopped_at[0], total=stopped_at[1]), icon=":material/stop_circle:")
    if run:
        st.session_state["planner_stop"] = False
        st.session_state[PROGRESS] = (0, int(warmup + steps))
        bar = st.progress(0.0, text=tr("planner.progress", done=0, total=int(warmup + steps)))
        result = attempt(
            measure_training_step,
            model,
            input_size=sample_size(sample),
            batch_size=int(batch),
            device=device,
            **dict(zip(("precision", "optimizer", "loss"), choices, strict=True)),
            lr=lr,
            steps=int(steps),
            warmup=int(warmup),
            dataset_size=int(dataset),
            epochs=int(epochs),
            misplace_input=misplace,
            progress_callback=lambda done, total: show_progress(bar, done, total),
            should_stop=lambda: st.session_state.get("planner_stop", False),
        )
        st.session_state["planner_result"] = result
        st.session_state.pop(PROGRESS, None)  # finished: nothing was cut short
    result = st.session_state.get("planner_result")
    columns = st.columns(3)
    columns[0].metric(tr("planner.total"), binary_bytes(estimate.total))
    columns[1].metric(tr("planner.largest", budget=binary_bytes(search.budget_bytes)), f"{search.largest_batch:,}")
    if result is not None:
        columns[2].metric(
            tr("planner.measured"),
            binary_bytes(result.measured_peak_bytes or 0),
            None if result.difference_percent is None else f"{result.difference_percent:+.1f}%",
            delta_color="off",
            help=plain(tr_text(result.peak_method)),
        )
        if result.device == "cpu":  # the resident-set peak counts more than the estimate's tensors
            st.caption(tr("planner.cpu_peak_note"))
    chart_left, chart_right = st.columns(2)
    chart_left.plotly_chart(breakdown_figure(estimate, result.measured_peak_bytes if result else None, lang()))
    chart_right.plotly_chart(batch_curve_figure(search, lang()))
    if result is not None:
        st.subheader(tr("planner.step_heading", model=result.model, device=result.device, batch=result.batch_size))
        st.markdown(
            tr(
                "planner.step_numbers",
                step=f"{result.seconds_per_step or 0:.3f}",
                rate=f"{result.samples_per_second or 0:,.1f}",
                steps=f"{result.steps_per_epoch:,}",
                epoch=f"{(result.epoch_seconds or 0) / 60:,.1f}",
                epochs=result.epochs,
                total=f"{(result.total_seconds or 0) / 3600:,.2f}",
                stopped=tr("planner.stopped") if result.stopped else "",
            )
        )
        if result.placement is not None:
            st.dataframe(
                [
                    {
                        tr("planner.col_tensor"): tr(f"planner.tensor.{name}"),
                        tr("planner.col_device"): ", ".join(devices),
                    }
                    for name, devices in vars(result.placement).items()
                ],
                hide_index=True,
            )
        if result.misplaced is not None:
            st.markdown(
                tr("planner.misplaced", input=result.misplaced.input_device, model=result.misplaced.model_device)
            )
            st.code(result.misplaced.torch_message or tr("planner.no_error"), language="text")
            st.code(result.misplaced.fix, language="python")
    st.caption(
        tr(
            "planner.gpus",
            visible=cuda_visible_devices() or tr("sidebar.cuda_unset"),
            gpus=", ".join(f"{g.index} → {g.physical} ({g.name})" for g in visible_gpus()) or "—",
        )
    )
