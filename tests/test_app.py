"""The app's pages under streamlit's AppTest: the numbers they show are the ones torch gives.

Every expected number is computed here with torch itself (a real layer, a real model's numel()),
never copied from the app. Pages run through app.py, as `streamlit run` runs them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest
from torch import nn

from inspector.core.i18n import catalogue
from inspector.layers.specs import LAYERS
from models import ZOO

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 120  # a cold model build on a busy 2-core machine
MODEL_PAGE = "app_pages/model.py"


def open_app(query: dict[str, str] | None = None, page: str | None = None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.query_params.update(query or {})
    app.run()
    if page:  # as a link to /model_inspector?…: the first run (on the default page) rewrote the query
        app.query_params.clear()
        app.query_params.update(query or {})
        app.switch_page(page).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def stat(app: AppTest, key: str) -> str:
    """Return the value a `ui.lab.views.stat` block shows, without its Markdown heading marks."""
    return app.get_by_key(key).markdown[0].value.removeprefix("### ").replace("\\", "")


def metric(app: AppTest, label: str) -> str:
    return next(m.value for m in app.metric if m.label == label)


def shape_text(shape: torch.Size) -> str:
    return str(tuple(shape))


def numel(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def set_number(app: AppTest, key: str, value: int) -> None:
    app.number_input(key=key).set_value(value)


# ── Layer Lab ────────────────────────────────────────────────────────────────────────────────────


def test_layer_lab_shows_torchs_conv_output_and_follows_the_kernel() -> None:
    app = open_app()
    layer = nn.Conv2d(1, 1, 3)  # torch's defaults: padding 0
    assert stat(app, "lab-output") == shape_text(layer(torch.zeros(1, 1, 8, 8)).shape)
    assert stat(app, "lab-params") == f"{numel(layer):,}"

    set_number(app, "lab.Conv2d.kernel_size.0", 5)
    app.run()
    narrower = nn.Conv2d(1, 1, (5, 3))(torch.zeros(1, 1, 8, 8)).shape
    assert stat(app, "lab-output") == shape_text(narrower)

    # the notes' worked example: 8×8 input, kernel (5, 3), padding (2, 1) keeps 8×8
    set_number(app, "lab.Conv2d.padding.0", 2)
    set_number(app, "lab.Conv2d.padding.1", 1)
    app.run()
    seed = nn.Conv2d(1, 1, (5, 3), padding=(2, 1))
    assert stat(app, "lab-output") == shape_text(seed(torch.zeros(1, 1, 8, 8)).shape) == "(1, 1, 8, 8)"
    assert stat(app, "lab-params") == f"{numel(seed):,}"
    assert any("= 8" in md.value and "H\\_out" in md.value for md in app.markdown)
    assert app.query_params["kernel_size"] == "5,3" and app.query_params["padding"] == "2,1"


def test_input_channels_follow_in_channels_and_keep_size_button_applies_padding() -> None:
    app = open_app({"layer": "Conv2d", "padding": "0", "kernel_size": "5,3"})
    set_number(app, "lab.Conv2d.in_channels", 3)
    app.run()
    assert app.number_input(key="lab.Conv2d.input.1").value == 3  # C_in moved with in_channels
    app.button(key="lab.apply_padding").click().run()
    layer = nn.Conv2d(3, 1, (5, 3), padding=(2, 1))
    assert stat(app, "lab-output") == shape_text(layer(torch.zeros(1, 3, 8, 8)).shape)


@pytest.mark.parametrize("layer_type", list(LAYERS))
def test_every_layer_type_runs_without_an_error(layer_type: str) -> None:
    app = open_app({"layer": layer_type})
    assert app.selectbox(key="lab.layer").value == layer_type
    assert not app.error, [e.value for e in app.error]
    assert stat(app, "lab-output").startswith("(")


def test_linear_shows_the_matmul_blocks_and_torchs_parameter_count() -> None:
    app = open_app({"layer": "Linear"})
    layer = nn.Linear(784, 256)
    assert stat(app, "lab-params") == f"{numel(layer):,}" == "200,960"
    assert stat(app, "lab-output") == shape_text(layer(torch.zeros(1, 784)).shape)
    assert any("(N, 784) · (784, 256) + (256,) → (N, 256)" in md.value for md in app.markdown)
    assert app.get_by_key("lab.matmul_chart") is not None


def test_unbatched_input_gives_torchs_unbatched_output() -> None:
    app = open_app()
    app.checkbox(key="lab.Conv2d.input.unbatched").check().run()
    expected = nn.Conv2d(1, 1, 3)(torch.zeros(1, 8, 8)).shape  # (C, H, W): accepted since 1.11
    assert stat(app, "lab-output") == shape_text(expected)
    assert app.query_params["input"] == "1,8,8"


def test_settings_survive_a_visit_to_the_other_page() -> None:
    app = open_app()
    set_number(app, "lab.Conv2d.kernel_size.0", 5)
    app.run()
    app.switch_page(MODEL_PAGE).run()
    app.switch_page("app_pages/lab.py").run()
    assert app.number_input(key="lab.Conv2d.kernel_size.0").value == 5
    assert app.query_params["kernel_size"] == "5,3"


def test_invalid_settings_show_what_and_how_to_fix_and_the_page_keeps_working() -> None:
    app = open_app()
    set_number(app, "lab.Conv2d.groups", 2)  # in_channels = 1 is not divisible by 2
    app.run()
    assert not app.exception
    assert app.error and "groups" in app.error[0].value
    assert app.selectbox(key="lab.layer").value == "Conv2d"  # the widgets are still there

    set_number(app, "lab.Conv2d.groups", 1)
    set_number(app, "lab.Conv2d.kernel_size.0", 11)  # 8 + 2·1 < 11: torch would refuse
    app.run()
    assert not app.exception
    assert app.error and "How to fix it" in app.error[0].value

    set_number(app, "lab.Conv2d.kernel_size.0", 3)
    app.run()
    assert not app.error


def test_a_query_string_restores_the_layer_and_its_settings() -> None:
    query = {"layer": "MaxPool1d", "kernel_size": "3", "stride": "2", "input": "2,4,20", "cell": "4"}
    app = open_app(query)
    assert app.selectbox(key="lab.layer").value == "MaxPool1d"
    assert app.number_input(key="lab.MaxPool1d.kernel_size.0").value == 3
    assert app.checkbox(key="lab.MaxPool1d.stride.auto").value is False
    assert app.slider(key="lab.cell.0").value == 4
    expected = nn.MaxPool1d(3, stride=2)(torch.zeros(2, 4, 20)).shape
    assert stat(app, "lab-output") == shape_text(expected)
    assert not app.warning
    assert dict(app.query_params) == query  # written back unchanged: the link is stable


def test_malformed_query_params_fall_back_to_defaults_with_a_notice() -> None:
    app = open_app(
        {
            "layer": "Conv2d",
            "kernel_size": "abc",
            "padding": "-1",
            "input": "1,x",
            "cell": "q",
            "device": "cuda:9",
            "dtype": "float8",
        }
    )
    assert not app.exception and not app.error
    notice = " ".join(warning.value for warning in app.warning)  # the sidebar's and the page's
    for name in ("kernel_size", "padding", "input", "cell", "device", "dtype"):
        assert name in notice
    assert app.number_input(key="lab.Conv2d.kernel_size.0").value == 3
    assert stat(app, "lab-output") == shape_text(nn.Conv2d(1, 1, 3)(torch.zeros(1, 1, 8, 8)).shape)
    assert "kernel_size" not in app.query_params  # the link is rewritten with what is shown

    unknown = open_app({"layer": "NoSuchLayer"})
    assert unknown.warning and unknown.selectbox(key="lab.layer").value == "Conv2d"


# ── Model Inspector ──────────────────────────────────────────────────────────────────────────────


def test_model_inspector_shows_alexnets_parameters_as_torch_counts_them() -> None:
    app = open_app(page=MODEL_PAGE)
    total = numel(ZOO["alexnet"].build())
    assert metric(app, "Total parameters") == f"{total:,}" == "61,100,840"
    assert stat(app, "zoo-output") == "(1, 1000)"
    assert len(app.get_by_key("zoo.chart.params").proto.spec) > 0
    assert {button.label for button in app.get("download_button")} == {"Download CSV", "Download JSON", "Download MD"}


def test_changing_a_model_option_changes_the_count_to_torchs() -> None:
    app = open_app({"model": "mlp"}, page=MODEL_PAGE)
    assert metric(app, "Total parameters") == f"{numel(ZOO['mlp'].build()):,}" == "203,530"
    set_number(app, "zoo.mlp.hidden", 100)
    app.run()
    assert metric(app, "Total parameters") == f"{numel(ZOO['mlp'].build(hidden=100)):,}"
    assert app.query_params["hidden"] == "100"


def test_depth_filters_the_table() -> None:
    app = open_app({"model": "lenet5", "depth": "1"}, page=MODEL_PAGE)
    model = ZOO["lenet5"].build()
    top_level = 1 + len(list(model.children()))  # the model's own row and its direct children
    assert app.slider(key="zoo.depth").value == 1
    assert len(app.dataframe[0].value) == top_level
    app.slider(key="zoo.depth").set_value(2).run()
    assert len(app.dataframe[0].value) == 1 + len(list(model.modules())) - 1


def test_model_query_restores_and_malformed_values_fall_back() -> None:
    app = open_app({"model": "lenet5", "activation": "relu", "num_classes": "abc", "input": "1,1,x"}, page=MODEL_PAGE)
    assert app.selectbox(key="zoo.lenet5.activation").value == "relu"
    assert app.number_input(key="zoo.lenet5.num_classes").value == 10
    notice = " ".join(warning.value for warning in app.warning)
    assert "num_classes" in notice and "input" in notice
    assert metric(app, "Total parameters") == f"{numel(ZOO['lenet5'].build(activation='relu')):,}"


def test_a_wrong_input_size_shows_an_error_not_an_exception() -> None:
    app = open_app({"model": "lenet5", "input": "1,3,28,28"}, page=MODEL_PAGE)  # LeNet takes 1 channel
    assert not app.exception
    assert app.error and "How to fix it" in app.error[0].value
    assert app.selectbox(key="zoo.model").value == "lenet5"


def test_meta_device_inspects_a_large_model_without_memory() -> None:
    app = open_app({"model": "gpt2", "device": "meta"}, page=MODEL_PAGE)
    with torch.device("meta"):
        total = numel(ZOO["gpt2"].build())
    # GPT-2 ties lm_head to the token embedding: PyTorch's parameters() yields it once
    assert metric(app, "Total parameters") == f"{total:,}"
    assert app.sidebar.selectbox(key="device").value == "meta"


# ── The message catalogue ───────────────────────────────────────────────────────────────────────


def test_every_argument_option_and_message_used_has_an_english_message() -> None:
    messages = catalogue("en")
    for spec in LAYERS.values():
        for arg in spec.args:
            assert messages.get(f"args.{arg.name}.label") and messages.get(f"args.{arg.name}.help"), arg.name
    for entry in ZOO.values():
        for option in entry.options:
            assert messages.get(f"options.{option.name}.label"), option.name
    used = set()
    mine = [
        "app.py",
        "app_pages/lab.py",
        "app_pages/model.py",
        "inspector/model/charts.py",
        "ui/arg_widgets.py",
        "ui/errors.py",
        "ui/lab/inputs.py",
        "ui/lab/picture.py",
        "ui/lab/views.py",
        "ui/model/views.py",
        "ui/model/widgets.py",
        "ui/query.py",
        "ui/sidebar.py",
    ]
    for path in mine:
        used |= set(re.findall(r"\btr?\(\"([a-z_.]+)\"", (ROOT / path).read_text(encoding="utf-8")))
    assert sorted(key for key in used if key not in messages) == []
