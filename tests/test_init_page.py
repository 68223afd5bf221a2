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


def open_link(monkeypatch, query: dict[str, str]) -> AppTest:
    """The page opened from a link carrying `query` (a small MLP, so each run is quick)."""
    monkeypatch.syspath_prepend(str(ROOT))
    app = AppTest.from_file(str(PAGE), default_timeout=120)
    app.query_params.update({"depth": "5", "width": "32", **query})
    return app.run()


def test_a_link_opens_with_the_schemes_arguments(monkeypatch):
    query = {"scheme": "kaiming_uniform", "a": "0.2", "mode": "fan_out", "nonlinearity": "leaky_relu"}
    app = open_link(monkeypatch, query)
    assert not app.exception and not app.error and not app.warning
    assert app.number_input(key="init_kaiming_uniform_a").value == 0.2
    assert app.selectbox(key="init_kaiming_uniform_mode").value == "fan_out"
    assert app.selectbox(key="init_kaiming_uniform_nonlinearity").value == "leaky_relu"
    assert 'kaiming_uniform_(m.weight, a=0.2, mode="fan_out", nonlinearity="leaky_relu")' in app.code[0].value
    assert {name: app.query_params[name] for name in query} == query  # written back: the link is stable


def test_a_schemes_default_arguments_stay_out_of_the_link(monkeypatch):
    app = open_link(monkeypatch, {"scheme": "normal"})
    assert "std" not in app.query_params and "mean" not in app.query_params
    app.number_input(key="init_normal_std").set_value(0.01).run()
    assert app.query_params["std"] == "0.01" and "mean" not in app.query_params
    # with a ReLU network kaiming's nonlinearity starts at relu: that is its default, not written
    kaiming = open_link(monkeypatch, {})
    assert kaiming.selectbox(key="init_kaiming_normal_nonlinearity").value == "relu"
    assert not {"a", "mode", "nonlinearity"} & set(kaiming.query_params)


@pytest.mark.parametrize(
    ("query", "key", "default"),
    [
        ({"scheme": "normal", "std": "-1"}, "init_normal_std", 1.0),  # std must be positive
        ({"scheme": "xavier_normal", "gain": "abc"}, "init_xavier_normal_gain", 1.0),  # not a number
        ({"scheme": "uniform", "b": "nan"}, "init_uniform_b", 1.0),  # not finite
        ({"mode": "fan_sideways"}, "init_kaiming_normal_mode", "fan_in"),  # not a choice
    ],
)
def test_a_bad_argument_in_a_link_gives_a_notice_and_the_page_works(monkeypatch, query, key, default):
    app = open_link(monkeypatch, query)
    assert not app.exception and not app.error
    name = next(name for name in query if name != "scheme")
    assert len(app.warning) == 1 and name in app.warning[0].value
    widget = app.selectbox(key=key) if isinstance(default, str) else app.number_input(key=key)
    assert widget.value == default
    assert len(app.get("plotly_chart")) == 3 and name not in app.query_params  # shown with the default


def test_the_small_hugging_face_configs_are_offered(page):
    offered = page.selectbox(key="init_model").options  # as shown: the shelf's titles
    assert "T5-small (61M)" in offered and "GPT-2 (124M)" in offered
    assert not [title for title in offered if "7B" in title or "8B" in title]  # too large to initialise for real
