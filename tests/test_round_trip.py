"""The browser round-trip benchmark stays runnable: one key press per page, its section and JSON written.

Nothing here asserts on time (a shared test machine's timings mean nothing): only that each interaction
was timed once, in a real `streamlit run` and Chromium, and reported.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from server import CHROMIUM

pytestmark = pytest.mark.slow  # a server, Chromium, and a cold AlexNet: about a minute on a quiet machine

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (.ci/run installs Debian's chromium)", allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


def test_one_round_trip_per_interaction_is_timed_and_reported(tmp_path: Path) -> None:
    from benchmarks.round_trip import KEYS, SECTION, main, splice

    results = tmp_path / "results.md"
    results.write_text("# Benchmark results\n\n## Side by side\n\nrows\n")
    (tmp_path / "results.json").write_text(json.dumps({"app": {"server_start": {"median_ms": 1}}}))
    assert main(["--repeats", "1", "--into", str(results)]) == 0

    app = json.loads((tmp_path / "results.json").read_text())["app"]
    assert "server_start" in app  # the other app timings are kept
    for key in KEYS:
        samples = app[key]["samples_ms"]
        # one repeat: one key press each, the depth slider one step each way
        assert len(samples) == (2 if key == "model_depth" else 1), (key, samples)
    text = results.read_text()
    assert text.index(SECTION) < text.index("## Side by side")
    for key in KEYS:
        assert f"| {app[key]['what']} |" in text
    again = splice(text, [SECTION, "", "new numbers", ""])  # a second run replaces the section
    assert again.count(SECTION) == 1 and "new numbers" in again and "rows" in again
