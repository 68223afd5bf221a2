"""The Model Builder page, driven with Streamlit's AppTest: it builds, edits, doctors, and refuses bad specs."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from inspector.builder.templates import template_spec
from inspector.layers.network_spec import NetworkSpec, from_url_token, to_url_token

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "app_pages" / "builder.py"


def shown(markdown: str) -> str:
    """Return what a reader sees of Markdown that `ui.state.plain` escaped: the text without its backslashes."""
    return markdown.replace("\\", "")


def new_page(monkeypatch, device: str = "meta", spec_token: str | None = None) -> AppTest:
    monkeypatch.syspath_prepend(str(ROOT))  # the script imports inspector/ and ui/
    app = AppTest.from_file(str(PAGE), default_timeout=120)
    app.session_state["device"] = device  # meta: shapes, parameters and FLOPs without allocating
    if spec_token is not None:
        app.query_params["spec"] = spec_token
    return app.run()


@pytest.fixture
def page(monkeypatch) -> AppTest:
    return new_page(monkeypatch)


def key(app: AppTest, *parts: object) -> str:
    """Return the key of a widget tied to the page's current revision."""
    return ".".join(["builder", str(app.session_state["builder.rev"]), *(str(part) for part in parts)])


def url_spec(app: AppTest) -> NetworkSpec:
    value = app.query_params["spec"]
    return from_url_token(value if isinstance(value, str) else value[0])


def fix_buttons(app: AppTest) -> list:
    return [button for button in app.button if button.label.startswith("Fix ")]


def assert_fits(app: AppTest, params: str) -> None:
    assert not app.exception
    assert len(app.success) == 1 and f"{params} parameters" in app.success[0].value


def test_starts_with_the_notes_mlp(monkeypatch):
    page = new_page(monkeypatch, device="cpu")
    assert_fits(page, "203,530")  # 784 · 256 + 256 + 256 · 10 + 10
    assert not page.error and len(page.get("plotly_chart")) == 1
    assert "model = nn.Sequential(" in page.code[0].value
    assert any("`(1, 784)` → `(1, 256)` · 200,960 parameters" in text.value for text in page.markdown)  # 784·256 + 256
    assert url_spec(page) == template_spec("mlp")


def test_the_classic_mistake_is_diagnosed_and_fixed_with_one_click(page):
    page.selectbox(key="builder.template").set_value("alexnet_mistake")
    page.button(key="builder.load").click().run()
    assert not page.exception and not page.success
    assert any("256·6·6 = 9216" in shown(error.value) for error in page.error)
    buttons = fix_buttons(page)
    assert [button.label.split(":")[0] for button in buttons] == ["Fix 1", "Fix 2"]
    assert "in_features=9216" in shown(buttons[0].label)
    buttons[0].click().run()
    assert_fits(page, "61,100,840")
    assert url_spec(page) == template_spec("alexnet")


def test_editing_an_argument_propagates_and_the_doctor_follows(page):
    page.number_input(key=key(page, 1, "out_features")).set_value(128).run()
    assert not page.exception and not page.success
    assert any("(1, 128)" in error.value for error in page.error)  # Linear(256, 10) now gets 128 features
    fix_buttons(page)[0].click().run()
    assert_fits(page, "101,770")  # 784 · 128 + 128 + 128 · 10 + 10 = 100,480 + 1,290
    assert url_spec(page).layers[3].args["in_features"] == 128


def test_widgets_follow_the_argument_kinds(page):
    page.selectbox(key="builder.template").set_value("lenet5")
    page.button(key="builder.load").click().run()
    assert page.checkbox(key=key(page, 0, "bias")).value is True
    page.text_input(key=key(page, 0, "kernel_size")).input("5,3").run()
    assert not page.exception
    assert url_spec(page).layers[0].args["kernel_size"] == (5, 3)
    # H: 28 + 2·2 − 5 + 1 = 28, W: 28 + 2·2 − 3 + 1 = 30
    assert any("`(1, 6, 28, 30)`" in text.value for text in page.markdown)
    page.text_input(key=key(page, 0, "kernel_size")).input("0").run()
    assert not page.exception
    assert "kernel_size must be between 1 and 1,024, got 0" in shown(page.warning[0].value)
    assert url_spec(page).layers[0].args["kernel_size"] == (5, 3)  # the build is kept


def test_add_move_and_remove_layers(page):
    page.selectbox(key="builder.add.type").set_value("Linear")
    page.button(key="builder.add.button").click().run()
    spec = url_spec(page)
    assert [entry.type for entry in spec.layers][-1] == "Linear"
    assert spec.layers[-1].args["in_features"] == 10  # fitted to what arrives: the MLP's 10 outputs
    assert_fits(page, "206,346")  # 203,530 + 10 · 256 + 256 (out_features keeps its default, 256)
    page.button(key=key(page, 4, "up")).click().run()
    assert [entry.type for entry in url_spec(page).layers] == ["Flatten", "Linear", "ReLU", "Linear", "Linear"]
    page.button(key=key(page, 3, "remove")).click().run()
    assert_fits(page, "203,530")


def test_input_shape_and_dtype(page):
    page.text_input(key=key(page, "input")).input("2,1,28,28").run()
    assert_fits(page, "203,530")
    assert "(2, 1, 28, 28) → (2, 10)" in page.success[0].value
    page.text_input(key=key(page, "input")).input("2,x").run()
    assert "malformed size" in page.warning[0].value and url_spec(page).input_shape == (2, 1, 28, 28)


def test_a_bad_link_is_named_and_a_template_shown(monkeypatch):
    document = {"version": 1, "input_shape": [1, 4], "layers": [{"type": "ReLU"}, {"type": "Conv9d"}]}
    token = base64.urlsafe_b64encode(zlib.compress(json.dumps(document).encode())).decode().rstrip("=")
    page = new_page(monkeypatch, spec_token=token)
    assert not page.exception
    assert "layers[1]: unknown layer type 'Conv9d'" in shown(page.warning[0].value)
    assert_fits(page, "203,530")
    page = new_page(monkeypatch, spec_token="%%%")
    assert "not a valid spec token" in page.warning[0].value


def test_a_good_link_opens_its_spec(monkeypatch):
    page = new_page(monkeypatch, spec_token=to_url_token(template_spec("lenet5")))
    assert_fits(page, "61,706")


def test_upload_good_and_bad_specs(page):
    bad = b'{"version": 1, "input_shape": [1, 4], "layers": [{"type": "Conv2d", "args": {"kernel_size": 0}}]}'
    page.file_uploader(key=key(page, "upload")).set_value(("bad.json", bad, "application/json")).run()
    assert not page.exception
    assert "layers[0] (Conv2d): kernel_size must be between 1 and 1,024, got 0" in shown(page.warning[0].value)
    assert url_spec(page) == template_spec("mlp")  # nothing of the current build is lost
    good = template_spec("lenet5").to_json().encode()
    page.file_uploader(key=key(page, "upload")).set_value(("lenet.json", good, "application/json")).run()
    assert_fits(page, "61,706")


def test_code_styles(page):
    page.radio(key="builder.code_style").set_value("module").run()
    assert "class Network(nn.Module):" in page.code[0].value
    spec = NetworkSpec.from_json(
        json.dumps({"version": 1, "input_shape": [5, 1, 10], "layers": [{"type": "LSTM", "args": {"input_size": 10}}]})
    )
    page.file_uploader(key=key(page, "upload")).set_value(("rnn.json", spec.to_json().encode(), "text/json")).run()
    page.radio(key="builder.code_style").set_value("sequential").run()
    assert "x, _ = self.lstm1(x)" in page.code[0].value and "nn.Sequential cannot hold" in page.info[0].value
