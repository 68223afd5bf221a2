"""The Model Inspector's other sources (Hugging Face, your code) and the graph view, under AppTest.

Expected numbers come from torch (numel of the real module) or carry their arithmetic (tests/test_hf.py).
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from models import ZOO
from tests.test_app import MODEL_PAGE, metric, numel, open_app
from tests.test_hf import PUBLISHED
from ui.model.sources import EXAMPLE_CODE

pytest.importorskip("transformers")
BUILDER_PAGE = "app_pages/builder.py"


def graph_dot(app: AppTest) -> str:
    """Return the DOT text the page handed to st.graphviz_chart (the browser lays it out)."""
    charts = app.get("graphviz_chart")
    assert charts, "no graph drawn"
    return charts[0].proto.spec


def test_hf_shelf_model_counts_the_published_parameters() -> None:
    app = open_app({"source": "hf", "hf": "gpt2", "seq_len": "16", "device": "meta"}, page=MODEL_PAGE)
    assert app.segmented_control(key="model.source").value == "hf"
    assert metric(app, "Total parameters") == f"{PUBLISHED['gpt2']:,}"  # 124,439,808: arithmetic in test_hf.py
    assert not app.get("graphviz_chart")  # the graph is traced only once its expander is opened
    assert app.query_params["hf"] == "gpt2" and app.query_params["seq_len"] == "16"


def test_a_7b_runs_on_meta_by_default_with_a_notice() -> None:
    app = open_app({"source": "hf", "hf": "llama-2-7b", "seq_len": "8"}, page=MODEL_PAGE)
    assert app.toggle(key="hf.meta.llama-2-7b").value is True
    assert any("inspected on meta" in info.value for info in app.info)
    assert metric(app, "Total parameters") == f"{PUBLISHED['llama-2-7b']:,}"  # 6,738,415,616: test_hf.py


def test_a_pasted_config_is_inspected_and_a_broken_one_is_one_message() -> None:
    app = open_app({"source": "hf", "hf": "config", "device": "meta"}, page=MODEL_PAGE)
    assert any("config.json" in info.value for info in app.info)
    app.text_area(key="hf.paste").set_value('{"model_type": "no_such_architecture"}').run()
    assert any("not an architecture that transformers ships" in error.value for error in app.error)
    assert not app.exception


def test_code_box_is_refused_unless_the_server_allows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INSPECTOR_ALLOW_CODE", raising=False)
    app = open_app({"source": "code"}, page=MODEL_PAGE)
    assert any("INSPECTOR_ALLOW_CODE=1 streamlit run app.py" in info.value for info in app.info)
    assert not app.text_area  # no code box to type into
    assert not app.metric


def test_code_box_runs_the_pasted_model_in_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INSPECTOR_ALLOW_CODE", "1")
    app = open_app({"source": "code"}, page=MODEL_PAGE)
    namespace: dict[str, object] = {}
    exec(EXAMPLE_CODE, namespace)  # the same text the box starts with, built here by torch itself
    expected = numel(namespace["Net"]())  # type: ignore[operator]
    assert not app.error, [error.value for error in app.error]
    assert metric(app, "Total parameters") == f"{expected:,}"
    app.text_input(key="code.class").set_value("Missing").run()
    shown = [error.value.replace("\\", "") for error in app.error]  # the page escapes Markdown
    assert any("'your_code.py' has no attribute 'Missing'" in text for text in shown), shown


def test_graph_view_draws_the_zoo_models_modules_at_the_tables_depth() -> None:
    app = open_app({"model": "lenet5", "depth": "1", "device": "meta"}, page=MODEL_PAGE)
    app.session_state["model.graph"] = True  # open the expander, as a click does
    app.run()
    dot = graph_dot(app)
    for name, _ in ZOO["lenet5"].build().named_children():  # every top-level module torch knows is drawn
        assert f'"{name}\\n' in dot
    assert {button.label for button in app.get("download_button")} >= {"Download DOT", "Download SVG"}


def test_graph_view_in_the_model_builder() -> None:
    app = open_app(page=BUILDER_PAGE)
    app.session_state["builder.graph"] = True
    app.run()
    assert not app.exception
    assert "digraph" in graph_dot(app) and "->" in graph_dot(app)
