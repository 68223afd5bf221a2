"""The browser round trip (issue 16): from the key press that changes a widget to the new result on screen.

A real `streamlit run app.py` (tests/server.py) and headless Chromium (the same launch as the browser
tests). Each timing starts just before the key that commits a change (Enter in a number field, an arrow
key on a focused slider) and ends when Chromium shows something only the new result has: the Layer Lab's
measured output shape, the Model Inspector's table row or total, or, on a page whose result has no
predictable text, the end of the rerun the key started with no stale element left on screen. Median of
the repeats; each Layer Lab value is new (an uncached inspection), each cold AlexNet has a `num_classes`
not built before (so its build and inspection are uncached too).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from torch import nn

from benchmarks.machine import load_average, machine_info, machine_line
from tests.server import chromium_browser, streamlit_server

VIEWPORT = {"width": 1400, "height": 900}
WAIT_MS = 120_000  # a cold page on a loaded 2-core machine
LAB_INPUT_H = 64  # Layer Lab's Conv2d input height while its stride is changed: strides 2..9 give new heights
TARGETS_MS = {"layer_lab_stride": 150, "model_depth": 300, "model_cold_alexnet": 2000}

# Which rerun the key started, and whether it ended: Streamlit marks its app element with the script's
# state; an observer set before the key press sees "running" and then the state after it.
_WATCH_RUN = """() => {
  const app = document.querySelector('[data-test-script-state]');
  window.__roundTrip = {ran: false, done: false};
  if (window.__roundTripObserver) window.__roundTripObserver.disconnect();
  window.__roundTripObserver = new MutationObserver(() => {
    const state = app.getAttribute('data-test-script-state');
    if (state === 'running') window.__roundTrip.ran = true;
    else if (window.__roundTrip.ran) window.__roundTrip.done = true;
  });
  window.__roundTripObserver.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""
_RUN_DONE = """() => window.__roundTrip && window.__roundTrip.done
  && !document.querySelector('[data-stale="true"]')"""
_HAS_TEXT = """([selector, text, wanted]) =>
  [...document.querySelectorAll(selector)].some(e => e.textContent.trim() === text) === wanted"""
_CONTAINS_TEXT = """([selector, text]) =>
  [...document.querySelectorAll(selector)].some(e => e.textContent.includes(text))"""
TABLE_CELLS = '[data-testid="stDataFrame"] [role="gridcell"]'
METRIC_VALUES = '[data-testid="stMetricValue"]'


def _summary(samples: list[float], what: str, target_ms: float | None = None) -> dict[str, object]:
    return {"what": what, "median_ms": statistics.median(samples), "samples_ms": samples, "target_ms": target_ms}


def _timed(press: Callable[[], object], shown: Callable[[], object]) -> float:
    """Return the milliseconds from `press` (the key) until `shown` returns (the new result on screen)."""
    start = time.perf_counter()
    press()
    shown()
    return (time.perf_counter() - start) * 1000


def _number_field(page: Any, label: str) -> Any:
    return page.locator(f'[data-testid="stNumberInput"] input[aria-label="{label}"]').first


def _settle(page: Any) -> None:
    """Wait until no rerun is pending and nothing is stale (between timings, untimed)."""
    page.wait_for_function(
        "() => { const app = document.querySelector('[data-test-script-state]');"
        " return app && app.getAttribute('data-test-script-state') !== 'running'"
        " && !document.querySelector('[data-stale=\"true\"]'); }",
        timeout=WAIT_MS,
    )
    page.wait_for_timeout(300)


def _shape_text(shape: torch.Size) -> str:
    return "(" + ", ".join(str(size) for size in shape) + ")"


def _type_and_enter(page: Any, label: str, value: int, wait: Callable[[], object]) -> float:
    field = _number_field(page, label)
    field.fill(str(value))
    return _timed(lambda: field.press("Enter"), wait)


def layer_lab(page: Any, url: str, repeats: int) -> dict[str, dict[str, object]]:
    """Time Conv2d's stride (H) typed + Enter until the new output shape is shown (a new value each time)."""
    page.goto(f"{url}/?layer=Conv2d")
    output = ".st-key-lab-output"
    page.locator(output).wait_for(timeout=WAIT_MS)
    _settle(page)
    probe = torch.zeros(1, 1, LAB_INPUT_H, 8)  # Layer Lab's default Conv2d input is 1×1×8×8

    def shows(shape: torch.Size) -> Callable[[], object]:
        return lambda: page.wait_for_function(_CONTAINS_TEXT, arg=[output, _shape_text(shape)], timeout=WAIT_MS)

    first = nn.Conv2d(1, 1, 3)(probe).shape
    _type_and_enter(page, "H_in", LAB_INPUT_H, shows(first))  # untimed: the height the strides divide
    _settle(page)
    samples = []
    for stride in range(2, 2 + repeats):
        expected = nn.Conv2d(1, 1, 3, stride=(stride, 1))(probe).shape
        samples.append(_type_and_enter(page, "stride (H)", stride, shows(expected)))
        _settle(page)
    what = f"Layer Lab: Conv2d stride (H) typed + Enter → new output shape shown ({LAB_INPUT_H}×8 input)"
    return {"layer_lab_stride": _summary(samples, what, TARGETS_MS["layer_lab_stride"])}


def _alexnet_params(num_classes: int) -> int:
    from inspector.model.zoo import build_zoo_model

    model = build_zoo_model("alexnet", {"num_classes": num_classes}, "meta", "float32")
    return sum(parameter.numel() for parameter in model.parameters())


def model_inspector(page: Any, url: str, repeats: int) -> dict[str, dict[str, object]]:
    """Time a cold AlexNet on screen (navigation to its link) and the depth slider on the cached model."""
    page.goto(f"{url}/model_inspector?model=lenet5")  # untimed: the page's own imports, a tiny model
    page.locator(".st-key-zoo-output").wait_for(timeout=WAIT_MS)
    _settle(page)
    cold = []
    for index in range(repeats):
        classes = 1000 + index
        total = f"{_alexnet_params(classes):,}"
        link = f"{url}/model_inspector?model=alexnet" + (f"&num_classes={classes}" if index else "")
        cold.append(
            _timed(
                lambda link=link: page.goto(link, wait_until="commit"),
                lambda total=total: page.wait_for_function(
                    _HAS_TEXT, arg=[METRIC_VALUES, total, True], timeout=WAIT_MS
                ),
            )
        )
        _settle(page)
    thumb = page.locator('[data-testid="stSlider"] input[type="range"]').first
    depth = []
    for index in range(2 * repeats):  # 2 → 1 (features.0 leaves the table), 1 → 2 (it comes back)
        deeper = index % 2 == 1
        thumb.focus()
        page.evaluate(_WATCH_RUN)
        depth.append(
            _timed(
                lambda deeper=deeper: thumb.press("ArrowRight" if deeper else "ArrowLeft"),
                lambda deeper=deeper: page.wait_for_function(
                    _HAS_TEXT, arg=[TABLE_CELLS, "features.0", deeper], timeout=WAIT_MS
                ),
            )
        )
        _settle(page)
    return {
        "model_cold_alexnet": _summary(
            cold,
            "Model Inspector: AlexNet's link opened, not built before (new num_classes) → its total shown",
            TARGETS_MS["model_cold_alexnet"],
        ),
        "model_depth": _summary(
            depth, "Model Inspector: depth slider ← / → on cached AlexNet → table rows shown", TARGETS_MS["model_depth"]
        ),
    }


def _rerun_timings(page: Any, label: str, values: list[int]) -> list[float]:
    """Time typing each of `values` into the number field `label` + Enter until that rerun ends."""
    samples = []
    for value in values:
        field = _number_field(page, label)
        field.fill(str(value))
        page.evaluate(_WATCH_RUN)
        samples.append(
            _timed(lambda field=field: field.press("Enter"), lambda: page.wait_for_function(_RUN_DONE, timeout=WAIT_MS))
        )
        _settle(page)
    return samples


def other_pages(page: Any, url: str, repeats: int) -> dict[str, dict[str, object]]:
    """Time one number field on each other page with one, until its rerun has ended and nothing is stale."""
    results: dict[str, dict[str, object]] = {}
    from inspector.core.i18n import t

    for key, path, label, start, what in (
        ("init_depth", "init_explorer", t("init.depth"), 21, "Init explorer: depth typed + Enter"),
        ("planner_batch", "training_planner", t("planner.batch"), 33, "Training planner: batch size typed + Enter"),
    ):
        page.goto(f"{url}/{path}")
        page.locator(f'[data-testid="stNumberInput"] input[aria-label="{label}"]').wait_for(timeout=WAIT_MS)
        _settle(page)
        samples = _rerun_timings(page, label, list(range(start, start + repeats)))
        results[key] = _summary(samples, f"{what} → rerun ended, nothing stale")
    return results


def round_trips(repeats: int) -> dict[str, dict[str, object]]:
    """Return each page's round-trip timings, median of `repeats` (one server, one Chromium tab)."""
    results: dict[str, dict[str, object]] = {}
    with streamlit_server() as server, chromium_browser() as browser:
        page = browser.new_page(viewport=VIEWPORT)  # type: ignore[attr-defined]
        for measure in (layer_lab, model_inspector, other_pages):
            results.update(measure(page, server.url, repeats))
    return results


SECTION = "## The browser round trip (issue 16)"
KEYS = ("layer_lab_stride", "model_depth", "model_cold_alexnet", "init_depth", "planner_batch")


def section(data: dict) -> list[str]:
    """Return the round trips' section of results.md (nothing when this run did not time them)."""
    app = data.get("app") or {}
    found = {key: app[key] for key in KEYS if isinstance(app.get(key), dict)}
    if not found:
        return []
    load = data.get("load_average", {})
    return [
        SECTION,
        "",
        f"Measured {data['date']} on {data['machine_line']}; load average at start {load.get('start')}, at end "
        f"{load.get('end')}. A real `streamlit run app.py` and headless Chromium (tests/server.py); each time runs "
        "from the key press that commits a change until Chromium shows what only the new result has (the Layer "
        "Lab's output shape, the Model Inspector's table row or total; on the other two pages the end of the "
        "rerun with nothing stale left). Median of the runs; targets for a quiet machine.",
        "",
        *table(found),
        "",
        *[f"{key}: {value}" for key, value in app.items() if key == "round_trip_error"],
    ]


def splice(markdown: str, lines: list[str]) -> str:
    """Return `markdown` with this section replaced by `lines`, or put before "## Side by side"."""
    text = "\n".join(lines).rstrip("\n") + "\n"
    pattern = re.compile(re.escape(SECTION) + r".*?(?=\n## |\Z)", re.S)
    if pattern.search(markdown):
        return pattern.sub(lambda _: text, markdown)
    return markdown.replace("## Side by side", text + "\n## Side by side", 1)


def table(results: dict[str, object]) -> list[str]:
    """Return the round trips as Markdown lines (interaction, median, target, runs)."""
    lines = ["| round trip (key press → new result on screen) | median ms | target ms | runs |", "|---|---|---|---|"]
    for value in results.values():
        if isinstance(value, dict):
            target = value.get("target_ms")
            mark = "" if target is None else (" ✅" if value["median_ms"] <= target else " ❌")
            lines.append(
                f"| {value['what']} | {value['median_ms']:.0f} | {'—' if target is None else f'≤ {target}{mark}'} "
                f"| {len(value['samples_ms'])} |"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Measure, print the section, and splice it into results.md (and the timings into results.json) at `--into`."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.round_trip", description=__doc__)
    parser.add_argument("--repeats", type=int, default=5, help="timed key presses per interaction (default 5)")
    parser.add_argument("--into", type=Path, default=None, help="results.md to update (results.json beside it)")
    args = parser.parse_args(argv)
    start = load_average()
    found = round_trips(max(1, args.repeats))
    data = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine_line": machine_line(machine_info("cpu")),
        "load_average": {"start": start, "end": load_average()},
        "app": found,
    }
    lines = section(data)
    print("\n".join(lines))
    if args.into is not None:
        args.into.write_text(splice(args.into.read_text(), lines))
        data_path = args.into.parent / "results.json"
        document = json.loads(data_path.read_text())
        document.setdefault("app", {}).update(found)
        data_path.write_text(json.dumps(document, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
