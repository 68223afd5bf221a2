"""A measured run on the Training Planner: its progress as it goes, and what a stopped run had measured.

Stop (or any changed widget) reruns the page, which ends the running step at the next progress report;
each report is kept in the session first, so the rerun shows the steps measured up to then.
"""

from __future__ import annotations

import statistics

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from inspector.core.units import binary_bytes
from inspector.planner.session import StepProgress
from ui.planner.sources import ask_to_stop
from ui.state import tr

PROGRESS = "planner_progress"  # the last StepProgress of a run that has not finished


def start(warmup: int, steps: int) -> DeltaGenerator:
    """Begin a run of `warmup` + `steps` steps: forget the last result, show an empty progress bar."""
    st.session_state.pop("planner_result", None)  # an earlier run's numbers would read as this run's
    total = warmup + steps
    st.session_state[PROGRESS] = StepProgress(0, total, warmup, (), (), None)
    return st.progress(0.0, text=tr("planner.progress", done=0, total=f"{total:,}"))


def report(bar: DeltaGenerator, step: StepProgress) -> None:
    """Keep the step's progress, then ask whether to stop (which raises), then move the bar."""
    st.session_state[PROGRESS] = step
    ask_to_stop()
    bar.progress(step.done / step.total, text=tr("planner.progress", done=f"{step.done:,}", total=f"{step.total:,}"))


def finish(failed: bool) -> None:
    """End the run: forget its progress, after showing the steps it had measured if it `failed` mid-way
    (a step that raised, or a worker past its deadline or memory cap; the error is shown above)."""
    step = st.session_state.pop(PROGRESS, None)
    if failed and isinstance(step, StepProgress) and step.step_seconds:
        _show_partial(step, "planner_page.failed_some")


def show_stopped() -> bool:
    """Show what a stopped run measured (once) and return whether there was one."""
    step = st.session_state.pop(PROGRESS, None)
    if not isinstance(step, StepProgress):
        return False
    _show_partial(step, "planner_page.stopped_some")
    return True


def _show_partial(step: StepProgress, key: str) -> None:
    """Show the notice `key` (or, with no measured step, that none finished) and the steps measured so far."""
    measured = step.total - step.warmup
    counts = {"done": step.done, "total": step.total, "warmup": step.warmup, "measured": measured}
    words = {name: f"{value:,}" for name, value in counts.items()}  # whole, with thousands separators
    if not step.step_seconds:
        st.warning(tr("planner_page.stopped_none", **words), icon=":material/stop_circle:")
        return
    st.warning(tr(key, **words, count=f"{step.measured_done:,}"), icon=":material/stop_circle:")
    columns = st.columns(3)
    columns[0].metric(tr("planner_page.partial_steps"), f"{step.measured_done:,} / {measured:,}")
    columns[1].metric(tr("planner_page.partial_median"), f"{statistics.median(step.step_seconds):.3f} s")
    if step.peak_bytes is not None:
        columns[2].metric(tr("planner_page.partial_peak"), binary_bytes(step.peak_bytes))
    st.dataframe(
        [
            {
                tr("planner_page.col_step"): index,
                tr("planner_page.col_seconds"): f"{seconds:.4f}",
                tr("planner_page.col_loss"): f"{loss:.4g}",
            }
            for index, (seconds, loss) in enumerate(zip(step.step_seconds, step.losses, strict=True), start=1)
        ],
        hide_index=True,
    )
