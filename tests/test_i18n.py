"""English and Simplified Chinese: the catalogues agree, every page reads Chinese under ?lang=zh, the CLI
takes --lang, and keyed engine errors, forward failures, the shape doctor's reasons and fixes and the layers'
math lines are translated (their English still the engine's own text)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from torch import nn

from inspector.builder import propagate
from inspector.cli import main
from inspector.errors import ForwardError, InspectorError
from inspector.i18n import available_languages, catalogue, error_text, language_for_locale, localized, placeholders, t
from inspector.layer_inspection import inspect_layer
from inspector.layer_specs import LAYERS
from inspector.messages import Message
from inspector.model_inspection import inspect_model
from inspector.network_spec import NetworkSpec, layer_entry, to_url_token
from inspector.shapes import parse_size
from models import ZOO

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 120  # a cold model build on a busy 2-core machine
PAGES = ("layer_lab", "model_inspector", "model_builder", "training_planner", "init_explorer", "checkpoint_inspector")
HAN = re.compile(r"[\u4e00-\u9fff]")

# Labels allowed to read the same in both languages: names a learner types or reads in code, not prose.
SAME_IN_BOTH = {
    "FLOPs",  # the unit's own name; the Chinese table keeps the column short, the metric says 浮点运算次数
    "eps",  # torch's argument name, shown as in the code (its help text is translated)
    "layer_norm_eps",  # idem
    "nonlinearity",  # torch.nn.init's argument name, labelled as in code on the Initialisation Explorer
    "H_in", "in_features", "in1_features", "D0", "D1", "D2",  # dimension names as torch's docs write them
    "'same'", "'valid'",  # padding strings as typed in code
    "nn.Sequential",  # a class name
    "LeNet-5", "AlexNet", "VGG-11", "VGG-16", "ResNet-18", "ResNet-50", "MobileNetV2", "GPT-2 (124M)",  # model names
    "{name} — {family}", "{name} · {type}", "**{index} · {type}** `{name}`", "x · Wᵀ + b → y",  # no words
    "‖∂loss/∂W‖", "{model}-report.{ext}",  # a formula and a file name
}


# ── The catalogues ──────────────────────────────────────────────────────────────────────────────────


def test_both_languages_are_available() -> None:
    assert available_languages() == ["en", "zh"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_key_is_present_and_non_empty(lang: str) -> None:
    english, other = catalogue("en"), catalogue(lang)
    missing = sorted(set(english) - set(other))
    assert not missing, missing
    assert all(value.strip() for value in other.values())


def test_only_engine_text_is_translated_beyond_the_english_keys() -> None:
    # zoo.<model>.title/description and layer_math.<Layer> translate text that inspector/zoo.py and
    # inspector/layer_specs.py write in English themselves
    extra = sorted(set(catalogue("zh")) - set(catalogue("en")))
    zoo = [key for key in extra if re.fullmatch(r"zoo\.\w+\.(title|description)", key)]
    math = [key for key in extra if re.fullmatch(r"layer_math\.\w+", key)]
    assert sorted(zoo + math) == extra, extra
    assert {key.split(".")[1] for key in zoo} == set(ZOO)
    assert {key.split(".")[1] for key in math} <= set(LAYERS)
    assert {"Conv2d", "Linear", "MaxPool2d", "Flatten", "Embedding", "LSTM"} <= {key.split(".")[1] for key in math}


def test_placeholders_agree() -> None:
    english, chinese = catalogue("en"), catalogue("zh")
    differ = {key: (english[key], chinese[key])
              for key in english if placeholders(english[key]) != placeholders(chinese[key])}
    assert not differ, differ


def test_chinese_uses_the_course_terms() -> None:
    chinese = catalogue("zh")
    for key, term in [("args.kernel_size.label", "卷积核大小"), ("args.padding.label", "填充"),
                      ("args.stride.label", "步幅"), ("planner.batch", "批量大小"), ("planner.lr", "学习率"),
                      ("init.title", "初始化"), ("families.convolution", "卷积层"), ("families.pooling", "池化层"),
                      ("families.linear", "全连接层"), ("lab.metric.params", "参数量"),
                      ("lab.output_heading", "输出尺寸"), ("doctor.linear.reason", "全连接层"),
                      ("doctor.conv.channels", "卷积层"), ("doctor.fix.padding", "输出尺寸"),
                      ("doctor.linear.missing_flatten", "展平"), ("doctor.fix.unsqueeze_batch", "批量维度"),
                      ("engine.forward_failed.message", "前向传播"), ("layer_math.Linear", "全连接层")]:
        assert term in chinese[key], key


def test_browser_locale_picks_the_language() -> None:
    assert language_for_locale("zh-CN") == "zh"
    assert language_for_locale("zh_TW") == "zh"
    assert language_for_locale("fr-FR,zh;q=0.8,en;q=0.5") == "zh"
    assert language_for_locale("de-DE") == "en"
    assert language_for_locale(None) == "en"


# ── Engine errors ───────────────────────────────────────────────────────────────────────────────────


def _error(action, *args) -> InspectorError:
    with pytest.raises(InspectorError) as caught:
        action(*args)
    return caught.value


ENGINE_ERRORS = [
    # (layer, arguments, input) → key of the error a learner meets
    ("Conv2d", {"kernel_size": "9"}, (1, 1, 4, 4), "along"),  # kernel larger than the padded input
    ("Conv2d", {"in_channels": "3", "groups": "2"}, (1, 3, 8, 8), "groups_divisible"),
    ("Conv2d", {"padding": "same", "stride": "2"}, (1, 1, 8, 8), "same_with_stride"),
    ("Conv2d", {"kernel_size": "x"}, (1, 1, 8, 8), "not_whole"),
    ("Conv2d", {"kernel_size": "0"}, (1, 1, 8, 8), "out_of_range"),
    ("Conv2d", {"foo": "1"}, (1, 1, 8, 8), "unknown_argument"),
    ("MaxPool2d", {"kernel_size": "2", "padding": "3"}, (1, 1, 8, 8), "along"),
    ("Conv9d", {}, (1, 1, 8, 8), "unknown_layer"),
    ("Conv2d", {}, (1, 1, 8, 8), None),  # no error: the control case
]


@pytest.mark.parametrize(("layer", "args", "size", "key"), ENGINE_ERRORS)
def test_engine_errors_are_translated(layer: str, args: dict, size: tuple, key: str | None) -> None:
    if key is None:
        assert inspect_layer(layer, args, size, "cpu", None).output_shape
        return
    error = _error(inspect_layer, layer, args, size, "cpu", None)
    assert error.key == key
    assert error_text(error, "en") == (error.message, error.hint)  # English: exactly what the engine wrote
    message, hint = error_text(error, "zh")
    assert HAN.search(message), message
    assert hint is None or HAN.search(hint), hint


def test_english_engine_catalogue_says_what_the_engine_says() -> None:
    # the English entries document the keys: filled with the error's params they give its message
    for layer, args, size, key in ENGINE_ERRORS:
        if key and key != "along":
            error = _error(inspect_layer, layer, args, size, "cpu", None)
            assert t(f"engine.{key}.message", "en", **error.params) == error.message
    error = _error(parse_size, "1,x,3")
    assert error.key == "malformed_size" and HAN.search(error_text(error, "zh")[0])


def test_unkeyed_errors_stay_english() -> None:
    error = InspectorError("something new", "a hint")
    assert error_text(error, "zh") == ("something new", "a hint")


# ── Forward failures and the shape doctor ───────────────────────────────────────────────────────────


def _english_says_the_same(text: object) -> None:
    """A keyed Message's English catalogue entry, filled with its params, is the engine's own English."""
    if not isinstance(text, Message) or not text.key:
        return
    if not any(isinstance(value, InspectorError) for value in text.params.values()):
        assert t(text.key, "en", **text.params) == text, text.key
    for value in text.params.values():
        _english_says_the_same(value)


FORWARD_FAILURES = [
    # (model, input) → words the Chinese hint must hold
    (nn.Sequential(nn.Flatten(), nn.Linear(100, 10)), (1, 3, 8, 8), "设置 in_features=192"),  # Linear after Flatten
    (nn.Sequential(nn.Conv2d(3, 8, 3)), (1, 1, 8, 8), "设置 in_channels=1"),
    (nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(8)), (1, 1, 8, 8), "设置 num_features=4"),
    (nn.Sequential(nn.Linear(192, 10)), (1, 3, 8, 8), "展平"),  # a Flatten missing before Linear
]


@pytest.mark.parametrize(("model", "size", "words"), FORWARD_FAILURES)
def test_forward_failures_are_translated(model: nn.Module, size: tuple, words: str) -> None:
    error = _error(inspect_model, model, size, None, "cpu")
    assert isinstance(error, ForwardError) and error.key == "forward_failed"
    assert error_text(error, "en") == (error.message, error.hint)
    assert t("engine.forward_failed.message", "en", **error.params) == error.message
    _english_says_the_same(error.hint)
    message, hint = error_text(error, "zh")
    assert message.startswith("前向传播在 ") and error.torch_message in message  # torch's words kept verbatim
    assert hint is not None and HAN.search(hint) and words in hint, hint
    assert "{" not in hint and "fix:" not in hint and "fixes:" not in hint, hint


def _spec(input_shape: tuple[int, ...], *layers: tuple[str, dict], input_dtype: str = "float32") -> NetworkSpec:
    return NetworkSpec(input_shape, tuple(layer_entry(kind, **args) for kind, args in layers), input_dtype)


DOCTOR_CASES = [
    # a spec whose last layer fails → words the Chinese reason must hold
    (_spec((1, 3, 8, 8), ("Conv2d", {"in_channels": 3, "out_channels": 4, "kernel_size": 3, "padding": 1}),
           ("Flatten", {}), ("Linear", {"in_features": 64, "out_features": 10})), "展平成 4·8·8 = 256 个特征"),
    (_spec((1, 1, 8, 8), ("Conv2d", {"in_channels": 1, "out_channels": 4, "kernel_size": 3}),
           ("Conv2d", {"in_channels": 3, "out_channels": 4, "kernel_size": 3})), "有 4 个通道"),
    (_spec((1, 1, 8, 8), ("Conv2d", {"in_channels": 1, "out_channels": 4, "kernel_size": 3}),
           ("BatchNorm2d", {"num_features": 8})), "个通道保存统计量"),
    (_spec((1, 1, 4, 4), ("Conv2d", {"in_channels": 1, "out_channels": 1, "kernel_size": 9})), "放不下任何一个窗口"),
    (_spec((28, 28), ("Conv2d", {"in_channels": 3, "out_channels": 4, "kernel_size": 3})), "缺少通道维度"),
    (_spec((1, 3, 8, 8), ("Linear", {"in_features": 192, "out_features": 10})), "缺少一个 Flatten（展平层）"),
    (_spec((1, 16), ("Embedding", {"num_embeddings": 1000, "embedding_dim": 8})), "整数词元 id"),
    (_spec((5, 1, 10), ("LSTM", {"input_size": 20, "hidden_size": 8})), "每个时间步读入 input_size=20 个特征"),
    (_spec((3, 8, 8), ("Conv2d", {"in_channels": 3, "out_channels": 4, "kernel_size": 3}), ("Flatten", {}),
           ("Linear", {"in_features": 144, "out_features": 10})), "没有批量维度"),
    (_spec((1, 1, 3, 3), ("MaxPool2d", {"kernel_size": 5})), "输出会是空的"),
    (_spec((1, 6, 4, 4), ("GroupNorm", {"num_groups": 4, "num_channels": 8})), "有 6 个通道"),
    (_spec((1, 1, 8, 8), ("Conv2d", {"in_channels": 1, "out_channels": 4, "kernel_size": 3}), ("Flatten", {}),
           ("BatchNorm2d", {"num_features": 4})), "有 2 个维度"),
    (_spec((1, 16), ("Linear", {"in_features": 16, "out_features": 4}), input_dtype="int64"), "整数"),
    (_spec((10, 1, 6), ("MultiheadAttention", {"embed_dim": 8, "num_heads": 4})), "投影 embed_dim=8 个特征"),
    (_spec((8,), ("Flatten", {"start_dim": 1})), "需要至少 2 个维度"),
    (_spec((1, 20), ("Bilinear", {"in1_features": 20, "in2_features": 30, "out_features": 4})), "同时送给两者"),
    (_spec((1, 1, 4, 4), ("Conv2d", {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "dilation": 3})),
     "膨胀为 (3, 3)"),
]


@pytest.mark.parametrize(("spec", "words"), DOCTOR_CASES)
def test_doctor_reasons_and_fixes_are_translated(spec: NetworkSpec, words: str) -> None:
    diagnosis = propagate(spec, "meta").diagnosis
    assert diagnosis is not None and diagnosis.layer_index == len(spec.layers) - 1
    for text in (diagnosis.reason, diagnosis.hint(), *(fix.description for fix in diagnosis.fixes)):
        assert isinstance(text, Message) and text.key, text
        _english_says_the_same(text)
        assert localized(text, "en") == text
        chinese = localized(text, "zh")
        assert HAN.search(chinese) and "{" not in chinese, chinese
    assert words in localized(diagnosis.reason, "zh"), localized(diagnosis.reason, "zh")
    assert diagnosis.to_dict()["reason"] == str(diagnosis.reason)  # JSON keeps the English


# ── The CLI ─────────────────────────────────────────────────────────────────────────────────────────


def test_cli_lang_zh_prints_chinese_headings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "zh", "model", "mlp"]) == 0
    out = capsys.readouterr().out
    assert "总参数量" in out and "输入形状" in out and "203,530" in out  # 784·256 + 256 + 256·10 + 10 = 203,530
    assert "Total params" not in out


def test_cli_lang_after_the_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["layer", "Conv2d", "--lang", "zh", "--kernel-size", "5,3", "--padding", "2,1",
                 "--input-size", "1,1,8,8"]) == 0
    out = capsys.readouterr().out
    assert "✓ 与实测形状一致" in out and "感受野" in out and "(1, 1, 8, 8)" in out


def test_cli_json_keys_stay_english(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "zh", "model", "mlp", "--format", "json"]) == 0
    english = set(json.loads(capsys.readouterr().out))
    assert main(["model", "mlp", "--format", "json"]) == 0
    assert english == set(json.loads(capsys.readouterr().out))
    assert "total_params" in english or "model" in english


def test_cli_error_line_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "zh", "layer", "Conv2d", "--kernel-size", "9", "--input-size", "1,1,4,4"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("错误：") and "卷积核" in err
    assert main(["layer", "Conv2d", "--kernel-size", "9", "--input-size", "1,1,4,4"]) == 2
    assert capsys.readouterr().err.startswith("error: along H: the kernel spans")


# ── The app in Chinese ──────────────────────────────────────────────────────────────────────────────


def _labels(app: AppTest) -> list[str]:
    """Return the texts a learner reads as labels: widget labels, titles, headers, captions, metrics, tabs."""
    texts: list[str] = []
    for kind in ("selectbox", "number_input", "text_input", "checkbox", "toggle", "radio", "slider",
                 "select_slider", "button", "multiselect", "text_area", "metric", "tabs"):
        texts += [getattr(element, "label", "") for element in getattr(app, kind, [])]
    for kind in ("title", "header", "subheader", "caption"):
        texts += [element.value for element in getattr(app, kind, [])]
    return [text for text in texts if text]


def _untranslated(labels: list[str]) -> list[str]:
    english = {value for value in catalogue("en").values() if value not in SAME_IN_BOTH}
    return [label for label in labels if label in english]


def _open(page: str, query: dict[str, str]) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    app.query_params.update(query)
    app.run()
    if page != "layer_lab":
        app.switch_page(f"app_pages/{page}.py").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


@pytest.mark.parametrize("page", PAGES)
def test_page_in_chinese(page: str) -> None:
    app = _open(page, {"lang": "zh"})
    labels = _labels(app)
    chinese = [label for label in labels if HAN.search(label)]
    assert len(chinese) >= 3, labels
    assert not _untranslated(labels), _untranslated(labels)
    assert app.session_state["lang"] == "zh"


def test_lang_in_the_url_restores_chinese_and_survives_a_page_switch() -> None:
    app = _open("layer_lab", {"lang": "zh"})
    assert app.title[0].value == t("lab.title", "zh")
    assert app.query_params.get("lang") in ("zh", ["zh"])
    app.switch_page("app_pages/training_planner.py").run()
    assert app.title[0].value == t("planner.title", "zh")
    assert app.query_params.get("lang") in ("zh", ["zh"])  # kept in the shareable link on a page without settings


def test_sidebar_switch_changes_the_language() -> None:
    app = _open("layer_lab", {})
    assert app.title[0].value == t("lab.title", "en")
    app.selectbox(key="lang").set_value("zh").run()
    assert app.title[0].value == t("lab.title", "zh")
    assert app.query_params.get("lang") in ("zh", ["zh"])
    app.selectbox(key="lang").set_value("en").run()
    assert app.title[0].value == t("lab.title", "en")
    assert "lang" not in app.query_params  # English is the default: a clean link


def test_layer_lab_error_in_chinese() -> None:
    app = _open("layer_lab", {"lang": "zh", "layer": "Conv2d", "kernel_size": "9", "input": "1,1,4,4"})
    errors = " ".join(element.value for element in app.error)
    assert "卷积核" in errors or "出了什么问题" in errors, errors


def test_layer_lab_math_line_and_notes_in_chinese() -> None:
    app = _open("layer_lab", {"lang": "zh", "layer": "Conv2d", "input": "1,8,8"})  # an unbatched (C, H, W) input
    captions = " ".join(element.value for element in app.caption)
    assert "互相关" in captions, captions  # layer_math.Conv2d, not the spec's English line
    notes = " ".join(element.value for element in app.info)
    assert "不带批量维度的输入" in notes and "unbatched" not in notes, notes


def test_model_builder_diagnosis_in_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    spec = DOCTOR_CASES[0][0]  # Conv2d → Flatten → Linear(64): in_features is not what Flatten gives
    app = AppTest.from_file(str(ROOT / "app_pages" / "model_builder.py"), default_timeout=TIMEOUT)
    app.session_state["lang"] = "zh"
    app.session_state["device"] = "meta"
    app.query_params["spec"] = to_url_token(spec)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    errors = " ".join(element.value for element in app.error)
    assert "全连接层 Linear 接收" in errors and "Linear takes" not in errors, errors
    fixes = [button.label for button in app.button if "in\\_features=256" in button.label]
    assert fixes and all(HAN.search(label) and "set in" not in label for label in fixes), fixes
