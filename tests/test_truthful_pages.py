"""Issue #15 part B, "say only what is true": the Layer Lab and Model Builder say what torch does, in both languages.

Each claim is checked against torch itself: the layer's real output, the real network built from the spec.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest
from torch import nn

from inspector.builder.build import build_network, module_names, propagate
from inspector.builder.templates import lenet5_spec
from inspector.doctor.fixes import apply_fix
from inspector.lab.inspection import inspect_layer
from inspector.lab.keep_size import keep_size
from inspector.layers.network_spec import NetworkSpec, layer_entry, with_layer
from inspector.planner.session import StepProgress

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "app_pages" / "lab.py"
BUILDER = ROOT / "app_pages" / "builder.py"


def open_page(monkeypatch, page: Path, query: dict[str, str]) -> AppTest:
    monkeypatch.syspath_prepend(str(ROOT))  # the script imports inspector/ and ui/
    app = AppTest.from_file(str(page), default_timeout=120)
    app.session_state["device"] = "meta"
    app.session_state["lang"] = query.pop("lang", "en")  # app.py's sidebar sets it; a page alone reads it
    app.query_params.update(query)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def page_text(app: AppTest) -> str:
    parts = [e.value for e in (*app.markdown, *app.caption, *app.error, *app.success, *app.info)]
    return "\n".join(str(p) for p in parts).replace("\\", "")


# ── Layer Lab: what the output is ────────────────────────────────────────────────────────────────


def test_tuple_outputs_are_labelled_with_torchs_own_shapes() -> None:
    lstm = nn.LSTM(10, 20)
    output, (h_n, c_n) = lstm(torch.zeros(5, 1, 10))
    result = inspect_layer("LSTM", {"input_size": 10, "hidden_size": 20}, (5, 1, 10), device="cpu")
    expected = [("output", list(output.shape)), ("h_n", list(h_n.shape)), ("c_n", list(c_n.shape))]
    assert result.output_parts == expected
    attention = nn.MultiheadAttention(64, 8)
    x = torch.zeros(10, 1, 64)
    attn_output, attn_weights = attention(x, x, x)
    result = inspect_layer("MultiheadAttention", {"embed_dim": 64, "num_heads": 8}, [(10, 1, 64)] * 3, device="cpu")
    assert result.output_parts == [("attn_output", list(attn_output.shape)), ("attn_weights", list(attn_weights.shape))]
    assert inspect_layer("ReLU", device="cpu").output_parts == []  # one tensor: nothing to label


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("layer", ["Flatten", "LSTM", "MultiheadAttention"])
def test_layers_that_change_the_layout_do_not_claim_to_keep_it(monkeypatch, layer: str, lang: str) -> None:
    text = page_text(open_page(monkeypatch, LAB, {"layer": layer, "lang": lang}))
    assert "keeps the shape" not in text and "keeps the layout" not in text
    assert "保持输入的形状" not in text and "保持输入的布局" not in text
    if layer == "LSTM":
        assert "`h_n`" in text and "`c_n`" in text  # each tensor of (output, (h_n, c_n)) named
    if layer == "Flatten":  # (1, 3, 8, 8) in, 3·8·8 = 192 features out
        assert ("changes the shape" if lang == "en" else "改变形状") in text and "(1, 192)" in text


def test_relu_still_says_it_keeps_the_shape(monkeypatch) -> None:
    assert "keeps the shape of its input" in page_text(open_page(monkeypatch, LAB, {"layer": "ReLU"}))


# ── Layer Lab: keeping the size ──────────────────────────────────────────────────────────────────


def test_keep_size_at_stride_two_is_not_possible_and_names_each_axis() -> None:
    result = inspect_layer("Conv2d", {"kernel_size": 3, "stride": 2}, (1, 1, 8, 9), device="cpu")
    rows = keep_size(nn.Conv2d, result.args, result.input_shape, result.input_dims[-2:])
    assert [row.axis for row in rows] == ["H", "W"] and not any(row.possible for row in rows)
    width = rows[1]
    assert "W_in" in str(width.steps[0].text) and "H_in" not in "".join(str(s.text) + s.formula for s in width.steps)
    # the nearest padding really gives ⌈H/2⌉ = ⌈8/2⌉ = 4 and ⌈W/2⌉ = ⌈9/2⌉ = 5
    nearest = nn.Conv2d(1, 1, 3, stride=2, padding=(rows[0].padding, width.padding))(torch.zeros(1, 1, 8, 9))
    assert nearest.shape[-2:] == (math.ceil(8 / 2), math.ceil(9 / 2))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_keep_size_section_marks_stride_two_as_not_possible(monkeypatch, lang: str) -> None:
    app = open_page(monkeypatch, LAB, {"layer": "Conv2d", "stride": "2", "lang": lang})
    for axis in ("H", "W"):
        line = app.get_by_key(f"lab-keep-{axis}").markdown[0].value
        assert line.startswith(":red[:material/block:]") and "✓" not in line
        assert f"{axis}\\_in" in line and "`⌊(" in line  # words as text, the formula in a code span
    assert "W\\_in" not in app.get_by_key("lab-keep-H").markdown[0].value


def test_keep_size_at_stride_one_is_possible_and_its_padding_keeps_torchs_size() -> None:
    result = inspect_layer("Conv2d", {"kernel_size": 5}, (1, 1, 8, 8), device="cpu")
    rows = keep_size(nn.Conv2d, result.args, result.input_shape, result.input_dims[-2:])
    assert all(row.possible for row in rows)
    kept = nn.Conv2d(1, 1, 5, padding=(rows[0].padding, rows[1].padding))(torch.zeros(1, 1, 8, 8))
    assert kept.shape == (1, 1, 8, 8)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_same_with_stride_tells_a_web_visitor_what_to_do_in_the_app(monkeypatch, lang: str) -> None:
    with pytest.raises(ValueError, match="strided"):  # torch refuses it too
        nn.Conv2d(1, 1, 3, stride=2, padding="same")
    app = open_page(monkeypatch, LAB, {"layer": "Conv2d", "stride": "2", "padding": "same", "lang": lang})
    errors = "\n".join(e.value for e in app.error)
    assert errors and "same_padding" not in errors and "()" not in errors
    assert ("Keep the size" if lang == "en" else "保持尺寸不变") in errors


# ── Model Builder ────────────────────────────────────────────────────────────────────────────────


def test_inserting_a_layer_renames_no_other_layer() -> None:
    spec = lenet5_spec()
    before = module_names(spec)
    grown = with_layer(spec, 0, layer_entry("Conv2d", in_channels=1, out_channels=1, kernel_size=1))
    after = module_names(grown)
    assert after[1:] == before and after[0] not in before
    model = build_network(NetworkSpec.from_json(grown.to_json()))  # names survive the JSON round trip
    assert [name for name, _ in model.named_children()] == after


def test_remove_button_is_an_icon_and_the_code_wraps(monkeypatch) -> None:
    app = open_page(monkeypatch, BUILDER, {})
    removes = [b for b in app.button if str(b.key).endswith(".remove")]
    assert removes and all(b.proto.icon == ":material/close:" and "✕" not in b.label for b in removes)
    assert all(block.proto.wrap_lines for block in app.code)


def test_doctor_offers_padding_one_on_a_new_three_by_three_conv() -> None:
    # a 3×3 conv added without padding: 8·26·26 features reach a Linear made for 8·28·28 = 6272
    spec = NetworkSpec(
        (1, 1, 28, 28),
        (
            layer_entry("Conv2d", in_channels=1, out_channels=8, kernel_size=3),
            layer_entry("ReLU"),
            layer_entry("Flatten"),
            layer_entry("Linear", in_features=8 * 28 * 28, out_features=10),
        ),
    )
    with pytest.raises(RuntimeError):
        build_network(spec)(torch.zeros(1, 1, 28, 28))
    diagnosis = propagate(spec, "cpu", "float32").diagnosis
    assert diagnosis is not None
    first = diagnosis.fixes[0]
    assert "padding=1" in str(first.description)
    fixed = apply_fix(spec, first)
    output = build_network(fixed)(torch.zeros(1, 1, 28, 28))
    assert output.shape == (1, 10) and fixed.layers[0].args["padding"] == 1


# ── Training Planner and Initialisation Explorer ─────────────────────────────────────────────────

PLANNER = ROOT / "app_pages" / "planner.py"
INIT = ROOT / "app_pages" / "init.py"


def open_with_state(monkeypatch, page: Path, state: dict[str, object]) -> AppTest:
    monkeypatch.syspath_prepend(str(ROOT))
    app = AppTest.from_file(str(page), default_timeout=120)
    for key, value in state.items():
        app.session_state[key] = value
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_planner_choices_show_titles_not_raw_names(monkeypatch, lang: str) -> None:
    app = open_with_state(monkeypatch, PLANNER, {"planner_model": "lenet5", "lang": lang})
    shown = {key: app.selectbox(key=key).options for key in ("planner_optimizer", "planner_loss")}
    assert "adam" not in shown["planner_optimizer"] and "cross_entropy" not in shown["planner_loss"]
    # the precision follows the sidebar's dtype (tests/test_planner_page.py) and is named by its title
    assert any("fp32 (32-bit floats)" in c.value or "fp32（32 位浮点）" in c.value for c in app.caption)
    assert all(len(set(options)) == len(options) for options in shown.values())
    assert "resnet18" not in app.selectbox(key="planner_model").options
    assert app.selectbox(key="planner_optimizer").value == "adam"  # the value underneath is unchanged


def test_planner_says_why_the_cpu_peak_is_above_the_estimate(monkeypatch) -> None:
    app = open_with_state(monkeypatch, PLANNER, {"planner_model": "mlp", "planner_steps": 1})
    app.button(key="planner_run").click().run()
    assert not app.error, [e.value for e in app.error]
    captions = " ".join(c.value for c in app.caption)
    assert "oneDNN" in captions and "allocator" in captions and "Python process" in captions


@pytest.mark.parametrize(("lang", "words"), [("en", "Stopped after step 2 of 4"), ("zh", "在第 2 步（共 4 步")])
def test_planner_says_a_run_was_stopped(monkeypatch, lang: str, words: str) -> None:
    # Stop reruns the page, which ends the running step; the progress it left is what the page reports
    # (a real stopped run, with the steps it measured, in tests/test_planner_page.py)
    progress = StepProgress(2, 4, 2, (), (), None)
    app = open_with_state(monkeypatch, PLANNER, {"planner_model": "lenet5", "planner_progress": progress, "lang": lang})
    assert any(words in w.value for w in app.warning), [w.value for w in app.warning]
    app.run()  # said once
    assert not any(words in w.value for w in app.warning)


def test_init_nonlinearity_follows_the_activation(monkeypatch) -> None:
    app = open_with_state(monkeypatch, INIT, {"init_depth": 3, "init_width": 16})
    key = "init_kaiming_normal_nonlinearity"
    assert app.selectbox(key=key).value == "relu"  # the network's ReLU, not torch's leaky_relu default
    app.selectbox(key="init_activation").set_value("tanh").run()
    assert app.selectbox(key=key).value == "tanh"
    assert "deep_mlp" not in app.selectbox(key="init_model").options  # a title, not the raw name
    # the std the page works out uses torch's gain: gain('tanh')/√fan_in = (5/3)/√256 for the first layer's 256 inputs
    shown = " ".join(m.value for m in app.markdown).replace("\\", "")
    assert f"= {torch.nn.init.calculate_gain('tanh') / math.sqrt(256):.4g}" in shown


def test_planner_keeps_its_settings_in_the_url(monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    app = AppTest.from_file(str(PLANNER), default_timeout=120)
    app.query_params.update({"model": "lenet5", "optimizer": "sgd", "batch": "8", "steps": "many"})
    app.run()
    assert not app.exception
    assert app.selectbox(key="planner_optimizer").value == "sgd" and app.number_input(key="planner_batch").value == 8
    assert any("steps=many" in w.value.replace("\\", "") for w in app.warning)  # named, default kept
    app.selectbox(key="planner_loss").set_value("mse").run()
    assert dict(app.query_params) == {"model": "lenet5", "optimizer": "sgd", "batch": "8", "loss": "mse"}


def test_init_keeps_its_settings_in_the_url(monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    app = AppTest.from_file(str(INIT), default_timeout=120)
    app.query_params.update({"activation": "tanh", "depth": "4", "width": "32"})
    app.run()
    assert not app.exception
    assert app.selectbox(key="init_activation").value == "tanh" and app.number_input(key="init_depth").value == 4
    assert app.selectbox(key="init_kaiming_normal_nonlinearity").value == "tanh"  # follows the linked activation
    app.number_input(key="init_seed").set_value(7).run()
    assert app.query_params["seed"] == "7" and app.query_params["activation"] == "tanh"


@pytest.mark.parametrize(
    ("features", "channels", "size"), [(256, 1, (1, 16, 16)), (96, 6, (6, 4, 4)), (200, 2, (2, 10, 10))]
)
def test_doctor_reshapes_a_linear_output_for_a_conv_with_unflatten(features: int, channels: int, size: tuple) -> None:
    # (N, features) reaches a Conv2d: the reshape gives C·H·W = features with C = in_channels, as square as it goes
    spec = NetworkSpec(
        (1, 784),
        (
            layer_entry("Linear", in_features=784, out_features=features),
            layer_entry("ReLU"),
            layer_entry("Conv2d", in_channels=channels, out_channels=8, kernel_size=3),
        ),
    )
    with pytest.raises(RuntimeError):
        build_network(spec)(torch.zeros(1, 784))
    diagnosis = propagate(spec, "cpu", "float32").diagnosis
    assert diagnosis is not None and diagnosis.fixes
    fixed = apply_fix(spec, diagnosis.fixes[0])
    assert fixed.layers[2].type == "Unflatten" and fixed.layers[2].args["unflattened_size"] == size
    output = build_network(fixed)(torch.zeros(1, 784))
    assert output.shape == nn.Conv2d(channels, 8, 3)(torch.zeros(1, *size)).shape  # (1, 8, H − 2, W − 2)
    assert propagate(fixed, "cpu", "float32").fits


def test_batch_chart_has_one_label_in_the_plot_and_the_legend_below() -> None:
    from inspector.planner.charts import batch_curve_figure
    from inspector.planner.largest_batch import largest_batch_size

    search = largest_batch_size("lenet5", None, "1 GB", device="meta")
    figure = batch_curve_figure(search)
    labels = [trace for trace in figure.data if trace.text is not None]
    assert labels == [] and len(figure.layout.annotations) == 1  # only the budget line's words sit in the plot
    assert figure.layout.legend.orientation == "h" and figure.layout.legend.y < 0
