"""The Training Planner page under AppTest: one place for device and dtype, a stopped run's numbers, and
the Model Inspector's sources (a pasted config, your code) planned.

Expected numbers come from torch (numel() × element_size() of the same model built here); a stopped run
is a real run, ended by Streamlit's own StopException as the Stop button ends it (tests/test_cancel.py).
"""

from __future__ import annotations

import json

import pytest
import streamlit as st
import torch
from streamlit.runtime.scriptrunner_utils.exceptions import StopException
from streamlit.testing.v1 import AppTest
from torch import nn

from inspector.planner.largest_batch import largest_batch_size
from models import ZOO
from tests.test_app import metric, open_app
from ui import cache
from ui.model.sources import EXAMPLE_CODE

PLANNER = "app_pages/planner.py"


def parameter_bytes(app: AppTest) -> int:
    """Return the parameters bar of the page's memory chart, in bytes (the chart is in MiB or GiB)."""
    spec = json.loads(app.get("plotly_chart")[0].proto.spec)
    bars, unit = spec["data"], spec["layout"]["yaxis"]["title"]["text"]
    assert bars[0]["name"] == "parameters"
    return round(bars[0]["y"][0] * {"MiB": 2**20, "GiB": 2**30}[unit])


def torch_bytes(model: nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


def pasted_net() -> nn.Module:
    namespace: dict[str, object] = {}
    exec(EXAMPLE_CODE, namespace)  # the text the code box starts with, built here by torch itself
    return namespace["Net"]()  # type: ignore[operator]


def labels(app: AppTest) -> list[str]:
    return [box.label for box in app.selectbox]


# ── Device and precision: the sidebar's ─────────────────────────────────────────────────────────


def test_one_picker_for_device_and_dtype_the_sidebars() -> None:
    app = open_app({"model": "lenet5", "dtype": "float64"}, page=PLANNER)
    shown = labels(app)
    assert shown.count("Device") == 1 and shown.count("Parameter dtype") == 1  # the sidebar's, no second one
    assert "Precision" not in shown
    assert not any(key in app.session_state for key in ("planner_device", "planner_precision"))
    assert any("in **fp64 (64-bit floats)**" in caption.value for caption in app.caption)
    assert parameter_bytes(app) == torch_bytes(ZOO["lenet5"].build().double())  # 61,706 × 8 bytes
    assert app.query_params["dtype"] == "float64" and app.query_params["model"] == "lenet5"

    app.toggle(key="planner_mixed").set_value(True).run()  # training mode: bf16 compute, fp32 masters
    assert any("mixed (bf16 compute, fp32 master weights)" in caption.value for caption in app.caption)
    assert parameter_bytes(app) == torch_bytes(ZOO["lenet5"].build().bfloat16())  # 61,706 × 2 bytes
    assert app.query_params["mixed"] == "True"


def test_meta_plans_but_does_not_run() -> None:
    app = open_app({"model": "lenet5", "device": "meta"}, page=PLANNER)
    assert metric(app, "Estimated total").endswith("B")  # meta holds no memory: the estimate works
    assert app.button(key="planner_run").disabled
    assert any("needs a real device" in caption.value for caption in app.caption)


def test_an_older_link_with_a_shelf_model_opens_it_as_a_hugging_face_source() -> None:
    app = open_app({"model": "hf:gpt2", "batch": "1", "seq_len": "16"}, page=PLANNER)
    assert app.segmented_control(key="model.source").value == "hf" and app.selectbox(key="hf.name").value == "gpt2"
    assert not app.warning  # no "not a choice" notice for the old value
    assert app.query_params["source"] == "hf" and app.query_params["hf"] == "gpt2"


# ── Stop: what was measured so far ──────────────────────────────────────────────────────────────


def stop_on_question(monkeypatch: pytest.MonkeyPatch, questions: int) -> list[int]:
    """Make Streamlit's stop check answer "stop" from its Nth question on, as after a click on Stop."""
    asked: list[int] = []

    def check() -> None:
        asked.append(1)
        if len(asked) >= questions:
            raise StopException()

    monkeypatch.setattr(cache, "get_run_yield_check", lambda: check)
    return asked


def test_stop_shows_the_steps_measured_so_far(monkeypatch: pytest.MonkeyPatch) -> None:
    app = open_app({"model": "lenet5", "batch": "4", "steps": "4", "warmup": "1"}, page=PLANNER)
    asked = stop_on_question(monkeypatch, 3)  # asked after each step: stopped after step 3 of 5
    app.button(key="planner_run").click().run()
    assert len(asked) == 3 and "planner_result" not in app.session_state  # the run never finished
    monkeypatch.setattr(cache, "get_run_yield_check", lambda: None)
    app.run()  # the rerun Stop asks for
    assert any("Stopped after step 3 of 5 (1 warm-up, then 4 measured)" in w.value for w in app.warning)
    assert metric(app, "Measured steps finished") == "2 / 4"  # steps 2 and 3; step 1 was the warm-up
    table = app.dataframe[0].value
    assert list(table["measured step"]) == [1, 2] and all(float(s) > 0 for s in table["seconds"])
    assert metric(app, "Peak memory so far").endswith("B")
    app.run()
    assert not any("Stopped after" in w.value for w in app.warning)  # said once


def test_stop_during_warm_up_says_nothing_was_measured(monkeypatch: pytest.MonkeyPatch) -> None:
    app = open_app({"model": "lenet5", "batch": "2", "steps": "2", "warmup": "2", "lang": "zh"}, page=PLANNER)
    stop_on_question(monkeypatch, 1)
    app.button(key="planner_run").click().run()
    monkeypatch.setattr(cache, "get_run_yield_check", lambda: None)
    app.run()
    assert any("在第 1 步（共 4 步" in w.value and "还没有实测步完成" in w.value for w in app.warning)
    assert not app.dataframe


# ── Your code and a pasted config ───────────────────────────────────────────────────────────────


def test_pasted_code_is_refused_unless_the_server_allows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INSPECTOR_ALLOW_CODE", raising=False)
    app = open_app({"source": "code"}, page=PLANNER)
    assert any("INSPECTOR_ALLOW_CODE=1 streamlit run app.py" in info.value for info in app.info)
    assert not app.text_area and not app.metric  # no code box, nothing planned
    assert app.button(key="planner_run").disabled


def test_pasted_code_is_planned_and_measured_in_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSPECTOR_ALLOW_CODE", "1")
    app = open_app({"source": "code", "batch": "8", "budget": "1 GB", "steps": "2"}, page=PLANNER)
    assert not app.error, [error.value for error in app.error]
    net = pasted_net()
    assert parameter_bytes(app) == torch_bytes(
        net
    )  # (3·16·9 + 16) + (4,096·10 + 10) = 41,418 fp32 parameters × 4 bytes
    # the same search on the same model, built here: the code box's input (1, 3, 32, 32) without its batch
    expected = largest_batch_size(net, (3, 32, 32), "1 GB")
    assert metric(app, "Largest batch for 1.0 GiB") == f"{expected.largest_batch:,}"
    app.button(key="planner_run").click().run()
    assert not app.error, [error.value for error in app.error]
    assert any(header.value == "Net on cpu, batch 8" for header in app.subheader)
    result = app.session_state["planner_result"]
    assert len(result.step_seconds) == 2 and result.estimate.parameter_count == sum(p.numel() for p in net.parameters())


def test_a_pasted_config_is_planned(monkeypatch: pytest.MonkeyPatch) -> None:
    transformers = pytest.importorskip("transformers")
    config = {"model_type": "gpt2", "n_layer": 2, "n_embd": 32, "n_head": 2, "vocab_size": 100, "n_positions": 64}
    app = open_app({"source": "hf", "hf": "config", "batch": "2", "seq_len": "16"}, page=PLANNER)
    app.text_area(key="hf.paste").set_value(json.dumps(config)).run()
    assert not app.error, [error.value for error in app.error]
    assert app.number_input(key="planner_seq_len").value == 16  # token ids: a sequence length, no shape
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(transformers.GPT2Config(**config))
    assert parameter_bytes(app) == torch_bytes(model)  # lm_head tied to wte: counted once


def test_stopping_pasted_code_keeps_the_steps_its_worker_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSPECTOR_ALLOW_CODE", "1")
    app = open_app({"source": "code", "batch": "4", "steps": "4", "warmup": "1"}, page=PLANNER)

    def check() -> None:  # Stop clicked once the page has shown step 3: the worker is killed there
        step = st.session_state.get("planner_progress")
        if step is not None and step.done >= 3:
            raise StopException()

    monkeypatch.setattr(cache, "get_run_yield_check", lambda: check)
    app.button(key="planner_run").click().run()
    assert "planner_result" not in app.session_state
    monkeypatch.setattr(cache, "get_run_yield_check", lambda: None)
    app.run()
    assert any("Stopped after step 3 of 5" in w.value for w in app.warning), [w.value for w in app.warning]
    assert metric(app, "Measured steps finished") == "2 / 4"  # reported by the worker before it was killed


FLAKY = """import torch
from torch import nn


class Flaky(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(8, 4)
        self.real_calls = 0

    def forward(self, x):
        if type(x) is torch.Tensor and x.device.type == "cpu":  # not the estimate's meta or fake tensors
            self.real_calls += 1
            if self.real_calls > 3:
                raise RuntimeError("deliberate failure on the fourth real step")
        return self.head(x)
"""


def test_a_run_that_fails_midway_shows_the_steps_before_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSPECTOR_ALLOW_CODE", "1")
    app = open_app({"source": "code", "batch": "2", "steps": "4", "warmup": "1"}, page=PLANNER)
    app.text_area(key="code.text").set_value(FLAKY)
    app.text_input(key="code.class").set_value("Flaky")
    app.text_input(key="code.input").set_value("1,8").run()
    assert not app.error, [error.value for error in app.error]
    app.button(key="planner_run").click().run()
    assert any("deliberate failure on the fourth real step" in error.value for error in app.error)
    # steps 1 (warm-up), 2 and 3 ran; the fourth raised: 2 of the 4 measured steps had finished
    assert any("The run ended at step 3 of 5" in w.value for w in app.warning), [w.value for w in app.warning]
    assert metric(app, "Measured steps finished") == "2 / 4"
