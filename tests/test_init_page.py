"""The initialisation explorer page, driven with Streamlit's AppTest: it runs, reacts, and survives bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "app_pages" / "init.py"


@pytest.fixture
def page(monkeypatch) -> AppTest:
    """The page with a small deep MLP (5 × 32), so each run takes a fraction of a second."""
    monkeypatch.syspath_prepend(str(ROOT))  # the script imports inspector/, models/ and ui/
    app = AppTest.from_file(str(PAGE), default_timeout=120)
    app.session_state["init_depth"] = 5
    app.session_state["init_width"] = 32
    return app.run()


def activation_stds(app: AppTest) -> list[float]:
    table = app.dataframe[0].value
    return [float(value) for value in table["activation_std"] if value == value]  # NaN: a layer that never ran


def test_page_runs_and_shows_charts_and_code(page):
    assert not page.exception and not page.error
    assert len(page.get("plotly_chart")) == 3  # activation std and gradient norm by depth, one histogram
    assert "nn.init.kaiming_normal_(m.weight" in page.code[0].value
    assert page.selectbox(key="init_histogram_layer").options[:2] == ["linear1", "linear2"]


def test_changing_the_scheme_changes_the_numbers(page):
    before = activation_stds(page)
    page.selectbox(key="init_scheme").set_value("normal").run()
    page.number_input(key="init_normal_std").set_value(0.01).run()
    after = activation_stds(page)
    assert not page.exception and not page.error
    assert len(after) == len(before) == 10  # 5 × (Linear → ReLU)
    assert after != before and after[-1] < before[-1] / 1000  # std 0.01 shrinks the signal layer after layer
    assert "nn.init.normal_(m.weight, mean=0.0, std=0.01)" in page.code[0].value


def test_bad_input_shows_an_error_and_the_page_keeps_working(page):
    page.selectbox(key="init_scheme").set_value("uniform").run()
    page.number_input(key="init_uniform_a").set_value(1.0).run()  # a = 1 ≥ b = 1
    assert not page.exception
    assert len(page.error) == 1 and not page.get("plotly_chart")
    page.number_input(key="init_uniform_a").set_value(-1.0).run()
    assert not page.exception and not page.error
    assert len(page.get("plotly_chart")) == 3


def test_a_deep_cnn_and_another_model(page):
    page.selectbox(key="init_model").set_value("deep_cnn").run()
    assert not page.exception and not page.error
    assert page.selectbox(key="init_histogram_layer").value == "conv1"
    page.selectbox(key="init_model").set_value("param_list").run()  # no Linear or Conv layer: a message
    assert not page.exception and len(page.error) == 1
