"""Training planner: memory by part, the largest batch for a budget, and real measured training steps."""

from collections.abc import Callable

import streamlit as st

from inspector.core.devices import cuda_visible_devices
from inspector.core.shapes import parse_sizes
from inspector.core.units import binary_bytes
from inspector.model.hf import DEFAULT_SEQ_LEN, MAX_SEQ_LEN
from inspector.model.sources import SourceKind
from inspector.planner.charts import batch_curve_figure, breakdown_figure
from inspector.planner.choices import MAX_BATCH_SIZE, LossName, OptimizerName, Precision, precision_for
from inspector.planner.largest_batch import BUDGET_PRESETS
from inspector.planner.placement import visible_gpus
from models import ZOO
from ui.errors import attempt, show_problems
from ui.model.sources import CodeChoice, HFChoice, hf_url
from ui.planner import run as runs
from ui.planner.sources import choose_source, follow_old_links, measure, plan, plan_pasted, takes_tokens
from ui.query import changed_settings, init_choice, init_whole_number, url_value, write_url
from ui.state import device, dtype, fixed_tr, fixed_tr_or, lang, plain, tr, tr_text

DEFAULTS: dict[str, str | int | float | bool] = {
    "model": "resnet18",
    "sample": "",
    "seq_len": DEFAULT_SEQ_LEN,
    "batch": 32,
    "mixed": False,
    "optimizer": "adam",
    "loss": "cross_entropy",
    "budget": "24 GB",
    "steps": 3,
    "warmup": 1,
    "lr": 0.001,
    "dataset": 50_000,
    "epochs": 1,
    "misplace": False,
    "stop": False,
}
CHOICES = {"model": list(ZOO), "optimizer": [str(o) for o in OptimizerName], "loss": [str(o) for o in LossName]}
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
follow_old_links()  # ?model=hf:NAME from before the source choice
for name, options in CHOICES.items():  # a link opens the plan it was copied from
    init_choice(f"planner_{name}", name, [str(option) for option in options], str(DEFAULTS[name]), problems)
for name, (low, high) in WHOLE.items():
    init_whole_number(f"planner_{name}", name, int(DEFAULTS[name]), low, high, problems)
for name in TEXTS:
    if f"planner_{name}" not in st.session_state and (raw := url_value(name)) is not None:
        st.session_state[f"planner_{name}"] = raw
if "planner_mixed" not in st.session_state:  # ?mixed=True, or an older link's ?precision=mixed
    st.session_state["planner_mixed"] = url_value("mixed") == "True" or url_value("precision") == Precision.MIXED
for name, value in DEFAULTS.items():
    st.session_state.setdefault(f"planner_{name}", value)


def sample_size(sample: str | int) -> object:
    """Return one sample's size: a token model's sequence length, or the typed shape (blank: the model's own)."""
    if isinstance(sample, int):
        return (sample,)
    return parse_sizes(sample) if sample.strip() else None


def zoo_picker(tr_or: Callable[[str, str], str]) -> Callable[[], str]:
    def pick() -> str:
        return str(
            st.selectbox(
                tr("planner.model"),
                list(ZOO),
                key="planner_model",
                format_func=lambda name: tr_or(f"zoo.{name}.title", str(getattr(ZOO[name], "title", name))),
            )
        )

    return pick


st.title(tr("planner.title"))
st.caption(tr("planner.intro"))
show_problems(problems)
left, right = st.columns([1, 2])
with left:
    tr_now, tr_or_now = fixed_tr(), fixed_tr_or()  # format_func runs again outside the session in AppTest
    kind, chosen = choose_source(problems, zoo_picker(tr_or_now))
    tokens = chosen is not None and attempt(takes_tokens, chosen)
    sample: str | int = st.session_state["planner_sample"]
    seq_len = st.session_state["planner_seq_len"]
    if isinstance(chosen, CodeChoice):  # the code box's own input size, its batch dimension replaced
        st.caption(tr("planner_page.code_input"))
    elif tokens:  # token ids: one sample is a sequence, its length the only size
        seq_len = st.number_input(
            tr("planner_hf.seq_len"), *WHOLE["seq_len"], key="planner_seq_len", help=tr("planner_hf.seq_len_help")
        )
        sample = int(seq_len)
    elif chosen is not None:
        sample = st.text_input(tr("planner.sample"), key="planner_sample", help=tr("planner.sample_help"))
    batch = st.number_input(tr("planner.batch"), *WHOLE["batch"], key="planner_batch")
    mixed = st.toggle(tr("planner_page.mixed"), key="planner_mixed", help=tr("planner_page.mixed_help"))
    precision = precision_for(dtype(), mixed)
    here = device()  # the sidebar's device and dtype: one place to choose them for every page
    st.caption(tr("planner_page.device_precision", device=here, precision=tr(f"planner_choice.precision.{precision}")))
    optimizer = st.selectbox(
        tr("planner.optimizer"),
        CHOICES["optimizer"],
        key="planner_optimizer",
        format_func=lambda value: tr_now(f"planner_choice.optimizer.{value}"),
    )
    loss = st.selectbox(
        tr("planner.loss"),
        CHOICES["loss"],
        key="planner_loss",
        format_func=lambda value: tr_now(f"planner_choice.loss.{value}"),
    )
    choices = (precision.value, str(optimizer), str(loss))
    st.radio(
        tr("planner.presets"),
        [*BUDGET_PRESETS, "device"],
        index=None,
        horizontal=True,
        key="planner_preset",
        on_change=lambda: st.session_state.update(planner_budget=st.session_state["planner_preset"]),
    )
    budget = st.text_input(tr("planner.budget"), key="planner_budget", help=tr("planner.budget_help"))
    steps = st.number_input(tr("planner.steps"), *WHOLE["steps"], key="planner_steps")
    warmup = st.number_input(tr("planner.warmup"), *WHOLE["warmup"], key="planner_warmup")
    lr = st.number_input(tr("planner.lr"), 1e-8, 10.0, key="planner_lr", format="%g")
    dataset = st.number_input(tr("planner.dataset"), *WHOLE["dataset"], key="planner_dataset")
    epochs = st.number_input(tr("planner.epochs"), *WHOLE["epochs"], key="planner_epochs")
    misplace = st.toggle(tr("planner.misplace"), key="planner_misplace", help=tr("planner.misplace_help"))
    if here == "meta":  # meta holds no memory: the estimate works, a measured step cannot
        st.caption(tr("planner_page.meta_run"))
    run = st.button(tr("planner.run"), type="primary", key="planner_run", disabled=here == "meta" or chosen is None)
    st.button(
        tr("planner.stop"), key="planner_stop_button", on_click=lambda: st.session_state.update(planner_stop=True)
    )

settings: dict[str, object] = {"source": kind.value} if kind is not SourceKind.ZOO else {"model": chosen}
if kind is SourceKind.HF:
    settings |= hf_url(chosen if isinstance(chosen, HFChoice) else None)
settings |= {"sample": st.session_state["planner_sample"], "seq_len": int(seq_len), "batch": int(batch)}
settings |= {"mixed": mixed, "budget": budget, "steps": int(steps), "warmup": int(warmup)}
settings |= {"dataset": int(dataset), "epochs": int(epochs), "optimizer": choices[1], "loss": choices[2]}
write_url(changed_settings(settings, DEFAULTS))  # before the right column, which may stop the script

with right:
    if chosen is None or tokens is None:  # running code is off, a config is missing, or it did not load
        st.stop()
    if isinstance(chosen, CodeChoice):
        planned = attempt(plan_pasted, chosen, int(batch), choices, budget, here)
    else:
        planned = attempt(plan, chosen, sample_size(sample), int(batch), choices, budget, here)
    if planned is None:
        st.stop()
    estimate, search = planned
    if run:
        st.session_state["planner_stop"] = False
        bar = runs.start(int(warmup), int(steps))
        result = attempt(
            measure,
            chosen,
            None if isinstance(chosen, CodeChoice) else sample_size(sample),
            lambda step: runs.report(bar, step),
            batch_size=int(batch),
            device=here,
            precision=choices[0],
            optimizer=choices[1],
            loss=choices[2],
            lr=lr,
            steps=int(steps),
            warmup=int(warmup),
            dataset_size=int(dataset),
            epochs=int(epochs),
            misplace_input=misplace,
            **({} if isinstance(chosen, CodeChoice) else {"should_stop": lambda: st.session_state["planner_stop"]}),
        )
        st.session_state["planner_result"] = result
        runs.finish(failed=result is None)
    else:
        runs.show_stopped()  # a run that Stop interrupted: what it measured up to then
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
