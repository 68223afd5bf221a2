"""The planner's front ends: `memory` and `train-step` on the command line, and the Streamlit page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from inspector.cli import main, run
from inspector.planner.estimate import estimate_training_memory

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "app_pages" / "planner.py"
SMALL_MLP = '{"in_features": 20, "hidden": 16, "out_features": 5}'  # 421 parameters


def test_memory_json_has_the_numbers_of_the_engine():
    document = json.loads(run(["memory", "mlp", "--kwargs", SMALL_MLP, "--batch-size", "4", "--format", "json"]))
    estimate = document["estimate"]
    direct = estimate_training_memory("mlp", None, 4, options=json.loads(SMALL_MLP))
    assert estimate["total"] == direct.total == sum(direct.parts().values())
    assert estimate["parameters"] == 421 * 4  # 1,684 bytes of fp32 weights
    assert estimate["optimizer_state"] == 2 * 421 * 4 + 4 * 4  # Adam: two fp32 slots + 4 step scalars = 3,384
    assert estimate["input_shapes"] == [[4, 20]] and estimate["output_shape"] == [4, 5]
    assert [layer["name"] for layer in estimate["layers"]] == ["act", "(loss)"]
    assert document["largest_batch"] is None


def test_memory_with_a_budget_prints_the_largest_batch():
    text = run(
        ["memory", "lenet5", "--batch-size", "8", "--dtype", "mixed", "--optimizer", "sgd_momentum", "--budget", "16GB"]
    )
    assert "master weights" in text and "Largest batch for 16.0 GiB (17,179,869,184 B)" in text  # 16 · 2**30
    document = json.loads(run(["memory", "lenet5", "--budget", "1GB", "--format", "json"]))
    search = document["largest_batch"]
    largest = search["largest_batch"]
    assert search["budget_bytes"] == 2**30
    assert estimate_training_memory("lenet5", None, largest).total <= 2**30
    assert estimate_training_memory("lenet5", None, largest + 1).total > 2**30


def test_train_step_json_and_table():
    arguments = [
        "train-step",
        "mlp",
        "--kwargs",
        SMALL_MLP,
        "--batch-size",
        "4",
        "--steps",
        "2",
        "--warmup",
        "0",
        "--dataset-size",
        "10",
        "--epochs",
        "3",
    ]
    document = json.loads(run([*arguments, "--format", "json"]))
    assert len(document["step_seconds"]) == 2 and document["steps_per_epoch"] == 3  # ⌈10 / 4⌉ = 3
    assert document["total_seconds"] == pytest.approx(3 * 3 * document["seconds_per_step"])  # 3 epochs × 3 steps
    assert document["placement"]["same_device"] is True and document["estimate"]["device"] == "cpu"
    text = run([*arguments, "--misplace-input"])
    assert "Time per step" in text and 'Fix: x = x.to("cpu")' in text
    assert "not on the expected device" in text  # torch's own error for the misplaced input of the demo
    assert re.search(r"^same device +yes$", text, re.MULTILINE)  # the measured step itself was placed right


@pytest.mark.parametrize(
    "argv",
    [
        ["memory", "lenet5", "--batch-size", "0"],
        ["memory", "lenet5", "--batch-size", "lots"],
        ["memory", "lenet5", "--budget", "-24GB"],
        ["memory", "lenet5", "--budget", "nan"],
        ["memory", "lenet5", "--format", "csv"],
        ["memory", "lenet5", "--dtype", "int8"],
        ["memory", "nosuchmodel"],
        ["train-step", "lenet5", "--device", "meta"],
        ["train-step", "lenet5", "--device", "cuda:9"],
        ["train-step", "lenet5", "--steps", "0"],
        ["train-step", "lenet5", "--dataset-size", "-1"],
        ["train-step", "lenet5", "--lr", "nan"],
    ],
)
def test_user_errors_are_one_line_and_exit_2(argv, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("error: ") and captured.err.count("\n") == 1


@pytest.fixture
def page(monkeypatch) -> AppTest:
    """The planner page on LeNet-5, so each run takes a fraction of a second."""
    monkeypatch.syspath_prepend(str(ROOT))  # the script imports inspector/, models/ and ui/
    app = AppTest.from_file(str(PAGE), default_timeout=120)
    app.session_state["planner_model"] = "lenet5"
    return app.run()


def test_page_runs_and_draws_both_charts(page):
    assert not page.exception and not page.error
    assert len(page.get("plotly_chart")) == 2  # the stacked breakdown, memory against batch size
    assert page.metric[1].label == "Largest batch for 24.0 GiB"


def test_page_bad_budget_shows_an_error_and_recovers(page):
    page.text_input(key="planner_budget").set_value("lots").run()
    assert not page.exception and len(page.error) == 1 and "budget" in page.error[0].value
    page.radio(key="planner_preset").set_value("8 GB").run()
    assert not page.exception and not page.error
    assert page.text_input(key="planner_budget").value == "8 GB"


def test_page_runs_a_step_with_the_misplaced_input(page):
    page.selectbox(key="planner_model").set_value("mlp").run()
    page.number_input(key="planner_steps").set_value(1).run()
    page.toggle(key="planner_misplace").set_value(True).run()
    page.button(key="planner_run").click().run()
    assert not page.exception and not page.error
    assert page.code[1].value == 'x = x.to("cpu")'
    assert page.metric[2].label == "Measured peak"
