"""How quickly the web app answers: AppTest reruns per interaction, and first output in Chromium.

AppTest runs the page script in this process, so its time is the server-side cost of one
interaction (script rerun, engine call, element protos), without the browser's drawing. The
browser check runs the real `streamlit run` and a headless Chromium, and times from navigation
until the Layer Lab's first result heading is on screen; benchmarks/round_trip.py times, in the
same browser, each page's key press until its new result is on screen (issue 16). The server and
the browser are the browser tests' own (tests/server.py).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.round_trip import round_trips
from tests import server

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "app.py"
PAGE_FOLDERS = ("app_pages",)
CHROMIUM = str(server.CHROMIUM)
CHROMIUM_ARGS = server.CHROMIUM_ARGS
RUN_TIMEOUT_S = 300  # an uncached model build on a loaded 2-core machine can take a while


def page_path(name: str) -> Path | None:
    """Return the page script `name` (e.g. "lab.py") in the first page folder that has it."""
    return next((REPO / folder / name for folder in PAGE_FOLDERS if (REPO / folder / name).exists()), None)


def missing_parts() -> list[str]:
    """Return the app files that do not exist yet (the app is written alongside this benchmark)."""
    missing = [] if APP.exists() else [APP.name]
    return missing + [f"{'|'.join(PAGE_FOLDERS)}/{name}" for name in ("lab.py", "model.py") if page_path(name) is None]


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def _checked(app: object) -> object:
    """Return `app` after a run, raising when the page raised (a timing of a traceback is no timing)."""
    if app.exception:  # type: ignore[attr-defined]
        raise RuntimeError(f"the page raised: {app.exception[0].value}")  # type: ignore[attr-defined]
    return app


def _summary(samples: list[float], what: str) -> dict[str, object]:
    return {"what": what, "median_ms": statistics.median(samples), "samples_ms": samples}


def _layer_lab_widget(app: object) -> object:
    """Return the Layer Lab number input to change: out_channels when there is one, else the first enabled."""
    inputs = [widget for widget in app.number_input if not getattr(widget, "disabled", False)]  # type: ignore[attr-defined]
    if not inputs:
        raise RuntimeError("the Layer Lab shows no number input to change")
    return next((widget for widget in inputs if str(widget.key).endswith("out_channels")), inputs[0])


def app_test_timings(repeats: int) -> dict[str, dict[str, object]]:
    """Return the median AppTest rerun time of each interaction, over `repeats` tries each."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    app = _checked(AppTest.from_file(str(APP), default_timeout=RUN_TIMEOUT_S).run())  # first run: imports, untimed
    widget_key = _layer_lab_widget(app).key
    changes = []
    for _ in range(repeats):  # a new value each time, so each change is a real (uncached) inspection
        widget = app.number_input(key=widget_key)  # type: ignore[attr-defined]
        widget.increment()
        changes.append(_timed(lambda: _checked(app.run())))  # type: ignore[attr-defined]
    results = {"layer_lab_change": _summary(changes, f"Layer Lab: change {widget_key} by one step")}

    inspector_page = page_path("model.py")
    assert inspector_page is not None  # missing_parts() was checked first
    app.switch_page(str(inspector_page.relative_to(REPO))).run()  # type: ignore[attr-defined]
    _checked(app)
    model = next((box.value for box in app.selectbox if box.key == "zoo.model"), "the default model")  # type: ignore[attr-defined]
    uncached = []
    for _ in range(repeats):
        st.cache_data.clear()
        st.cache_resource.clear()  # the built model too: an uncached redraw builds and inspects
        uncached.append(_timed(lambda: _checked(app.run())))  # type: ignore[attr-defined]
    cached = [_timed(lambda: _checked(app.run())) for _ in range(repeats)]  # type: ignore[attr-defined]
    results["model_uncached"] = _summary(uncached, f"Model Inspector: redraw {model} with empty caches")
    results["model_cached"] = _summary(cached, f"Model Inspector: redraw {model}, built and inspected before")
    return results


def _first_output_ms(browser: object, url: str, heading: str) -> float:
    """Return the time from navigation until the Layer Lab's first result heading is visible."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        start = time.perf_counter()
        page.goto(url)
        page.get_by_text(heading, exact=True).first.wait_for(state="visible", timeout=RUN_TIMEOUT_S * 1000)
        return (time.perf_counter() - start) * 1000
    finally:
        context.close()


def browser_timings(repeats: int) -> dict[str, dict[str, object]]:
    """Return server start-up time, and time to first output on a cold and on warm visits."""
    from inspector.core.i18n import t

    heading = t("lab.output_heading")  # the first result the default page shows (English)
    started = time.perf_counter()
    with server.streamlit_server() as running:  # returns once /_stcore/health answers
        startup = (time.perf_counter() - started) * 1000
        with server.chromium_browser() as browser:
            url = f"{running.url}/"
            cold = _first_output_ms(browser, url, heading)  # the server's first script run: imports torch
            warm = [_first_output_ms(browser, url, heading) for _ in range(repeats)]
    return {
        "server_start": _summary([startup], "streamlit run until /_stcore/health answers"),
        "first_output_cold": _summary([cold], "first visit after server start, until the first result heading"),
        "first_output_warm": _summary(warm, "later visits (new browser context each), until the first result heading"),
    }


def app_timings(repeats: int) -> dict[str, object]:
    """Return every app timing, or why a part was skipped."""
    missing = missing_parts()
    if missing:
        return {"skipped": f"the app is not there yet: {', '.join(missing)} missing"}
    results: dict[str, object] = {}
    parts = (("apptest", app_test_timings), ("browser", browser_timings), ("round_trip", round_trips))
    for part, measure in parts:
        try:
            results.update(measure(repeats))
        except Exception as error:  # one part failing should not lose the other's numbers
            results[f"{part}_error"] = f"{type(error).__name__}: {str(error).strip()[:300]}"
    return results
