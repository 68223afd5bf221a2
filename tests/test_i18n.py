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

from inspector.builder.build import propagate
from inspector.cli import main
from inspector.core.errors import ForwardError, InspectorError
from inspector.core.i18n import (
    available_languages,
    catalogue,
    error_text,
    language_for_locale,
    localized,
    placeholders,
    t,
)
from inspector.core.messages import Message
from inspector.core.shapes import parse_size
from inspector.lab.inspection import inspect_layer
from inspector.layers.network_spec import NetworkSpec, layer_entry, to_url_token
from inspector.layers.specs import LAYERS
from inspector.model.inspection import inspect_model
from models import ZOO

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 120  # a cold model build on a busy 2-core machine
PAGES = ("lab", "model", "builder", "planner", "init", "checkpoint")  # app_pages/<page>.py
HAN = re.compile(r"[\u4e00-\u9fff]")

# Labels allowed to read the same in both languages: names a learner types or reads in code, not prose.
SAME_IN_BOTH = {
    "FLOPs",  # the unit's own name; the Chinese table keeps the column short, the metric says 浮点运算次数
    "eps",  # torch's argument name, shown as in the code (its help text is translated)
    "layer_norm_eps",  # idem
    "nonlinearity",  # torch.nn.init's argument name, labelled as in code on the Initialisation Explorer
    "mode",  # idem (errors name it with its Chinese term, engine.init.what.mode)
    "H_in",
    "in_features",
    "in1_features",
    "D0",
    "D1",
    "D2",  # dimension names as torch's docs write them
    "'same'",
    "'valid'",  # padding strings as typed in code
    "nn.Sequential",  # a class name
    "LeNet-5",
    "AlexNet",
    "VGG-11",
    "VGG-16",
    "ResNet-18",
    "ResNet-50",
    "MobileNetV2",
    "GPT-2 (124M)",  # model names
    "{name} — {family}",
    "{name} · {type}",
    "**{index} · {type}** `{name}`",
    "x · Wᵀ + b → y",  # no words
    "‖∂loss/∂W‖",
    "{model}-report.{ext}",  # a formula and a file name
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


def test_no_language_has_keys_english_lacks() -> None:
    # Every sentence is written in English first: a key only another language has would be text the code
    # writes itself (as the zoo's descriptions and the layers' math lines once were).
    extra = sorted(set(catalogue("zh")) - set(catalogue("en")))
    assert not extra, extra


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_zoo_model_and_layer_has_its_texts(lang: str) -> None:
    # The code builds these keys from names (f"zoo.{name}.title"), so the key checks of test_catalogue do not see them.
    messages = catalogue(lang)
    for name in ZOO:
        assert messages[f"zoo.{name}.title"].strip() and messages[f"zoo.{name}.description"].strip(), name
    for layer in LAYERS:
        assert messages[f"layer_math.{layer}"].strip(), layer
    stale = {key for key in messages if key.startswith(("zoo.", "layer_math."))}
    stale -= {f"zoo.{name}.{part}" for name in ZOO for part in ("title", "description")}
    stale -= {f"layer_math.{layer}" for layer in LAYERS}
    assert not stale, sorted(stale)


def test_placeholders_agree() -> None:
    english, chinese = catalogue("en"), catalogue("zh")
    differ = {
        key: (english[key], chinese[key]) for key in english if placeholders(english[key]) != placeholders(chinese[key])
    }
    assert not differ, differ


def test_chinese_uses_the_course_terms() -> None:
    chinese = catalogue("zh")
    for key, term in [
        ("args.kernel_size.label", "卷积核大小"),
        ("args.padding.label", "填充"),
        ("args.stride.label", "步幅"),
        ("planner.batch", "批量大小"),
        ("planner.lr", "学习率"),
        ("init.title", "初始化"),
        ("families.convolution", "卷积层"),
        ("families.pooling", "池化层"),
        ("families.linear", "全连接层"),
        ("lab.metric.params", "参数量"),
        ("lab.output_heading", "输出尺寸"),
        ("doctor.linear.reason", "全连接层"),
        ("doctor.conv.channels", "卷积层"),
        ("doctor.fix.padding", "输出尺寸"),
        ("doctor.linear.missing_flatten", "展平"),
        ("doctor.fix.unsqueeze_batch", "批量维度"),
        ("engine.forward_failed.message", "前向传播"),
        ("layer_math.Linear", "全连接层"),
    ]:
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
    assert (hint is None) == (error.hint is None)  # a hint in English has one in Chinese, and only then
    if hint is not None:
        assert HAN.search(hint), hint


def test_english_engine_catalogue_says_what_the_engine_says() -> None:
    # the English entries document the keys: filled with the error's params they give its message
    for layer, args, size, key in ENGINE_ERRORS:
        if key and key != "along":
            error = _error(inspect_layer, layer, args, size, "cpu", None)
            assert t(f"engine.{key}.message", "en", **error.params) == error.message
    error = _error(parse_size, "1,x,3")
    assert error.key == "malformed_size" and HAN.search(error_text(error, "zh")[0])


def test_an_error_needs_a_catalogue_key() -> None:
    # English written at a raise site has no key: it is refused, so no sentence can live in code.
    with pytest.raises(KeyError, match=r"engine\.something new\.message"):
        InspectorError("something new")


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
    (
        _spec(
            (1, 3, 8, 8),
            ("Conv2d", {"in_channels": 3, "out_channels": 4, "kernel_size": 3, "padding": 1}),
            ("Flatten", {}),
            ("Linear", {"in_features": 64, "out_features": 10}),
        ),
        "展平成 4·8·8 = 256 个特征",
    ),
    (
        _spec(
            (1, 1, 8, 8),
            ("Conv2d", {"in_channels": 1, "out_channels": 4, "kernel_size": 3}),
            ("Conv2d", {"in_channels": 3, "out_channels": 4, "kernel_size": 3}),
        ),
        "有 4 个通道",
    ),
    (
        _spec(
            (1, 1, 8, 8),
            ("Conv2d", {"in_channels": 1, "out_channels": 4, "kernel_size": 3}),
            ("BatchNorm2d", {"num_features": 8}),
        ),
        "个通道保存统计量",
    ),
    (_spec((1, 1, 4, 4), ("Conv2d", {"in_channels": 1, "out_channels": 1, "kernel_size": 9})), "放不下任何一个窗口"),
    (_spec((28, 28), ("Conv2d", {"in_channels": 3, "out_channels": 4, "kernel_size": 3})), "缺少通道维度"),
    (_spec((1, 3, 8, 8), ("Linear", {"in_features": 192, "out_features": 10})), "缺少一个 Flatten（展平层）"),
    (_spec((1, 16), ("Embedding", {"num_embeddings": 1000, "embedding_dim": 8})), "整数词元 id"),
    (_spec((5, 1, 10), ("LSTM", {"input_size": 20, "hidden_size": 8})), "每个时间步读入 input_size=20 个特征"),
    (
        _spec(
            (3, 8, 8),
            ("Conv2d", {"in_channels": 3, "out_channels": 4, "kernel_size": 3}),
            ("Flatten", {}),
            ("Linear", {"in_features": 144, "out_features": 10}),
        ),
        "没有批量维度",
    ),
    (_spec((1, 1, 3, 3), ("MaxPool2d", {"kernel_size": 5})), "输出会是空的"),
    (_spec((1, 6, 4, 4), ("GroupNorm", {"num_groups": 4, "num_channels": 8})), "有 6 个通道"),
    (
        _spec(
            (1, 1, 8, 8),
            ("Conv2d", {"in_channels": 1, "out_channels": 4, "kernel_size": 3}),
            ("Flatten", {}),
            ("BatchNorm2d", {"num_features": 4}),
        ),
        "有 2 个维度",
    ),
    (_spec((1, 16), ("Linear", {"in_features": 16, "out_features": 4}), input_dtype="int64"), "整数"),
    (_spec((10, 1, 6), ("MultiheadAttention", {"embed_dim": 8, "num_heads": 4})), "投影 embed_dim=8 个特征"),
    (_spec((8,), ("Flatten", {"start_dim": 1})), "需要至少 2 个维度"),
    (_spec((1, 20), ("Bilinear", {"in1_features": 20, "in2_features": 30, "out_features": 4})), "同时送给两者"),
    (
        _spec((1, 1, 4, 4), ("Conv2d", {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "dilation": 3})),
        "膨胀为 (3, 3)",
    ),
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
    assert (
        main(["layer", "Conv2d", "--lang", "zh", "--kernel-size", "5,3", "--padding", "2,1", "--input-size", "1,1,8,8"])
        == 0
    )
    out = capsys.readouterr().out
    assert "✓ 与实测形状一致" in out and "感受野" in out and "(1, 1, 8, 8)" in out


def test_cli_json_keys_stay_english(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "zh", "model", "mlp", "--format", "json"]) == 0
    english = set(json.loads(capsys.readouterr().out))
    assert main(["model", "mlp", "--format", "json"]) == 0
    assert english == set(json.loads(capsys.readouterr().out))
    assert {"model", "total_params", "flops", "layers"} <= english  # the English field names, not translations


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
    for kind in (
        "selectbox",
        "number_input",
        "text_input",
        "checkbox",
        "toggle",
        "radio",
        "slider",
        "select_slider",
        "button",
        "multiselect",
        "text_area",
        "metric",
        "tabs",
    ):
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
    if page != "lab":
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
    app = _open("lab", {"lang": "zh"})
    assert app.title[0].value == t("lab.title", "zh")
    assert app.query_params.get("lang") == "zh"
    app.switch_page("app_pages/planner.py").run()
    assert app.title[0].value == t("planner.title", "zh")
    assert app.query_params.get("lang") == "zh"  # kept in the shareable link on a page without settings


def test_sidebar_switch_changes_the_language() -> None:
    app = _open("lab", {})
    assert app.title[0].value == t("lab.title", "en")
    app.selectbox(key="lang").set_value("zh").run()
    assert app.title[0].value == t("lab.title", "zh")
    assert app.query_params.get("lang") == "zh"
    app.selectbox(key="lang").set_value("en").run()
    assert app.title[0].value == t("lab.title", "en")
    assert "lang" not in app.query_params  # English is the default: a clean link


def test_layer_lab_error_in_chinese() -> None:
    app = _open("lab", {"lang": "zh", "layer": "Conv2d", "kernel_size": "9", "input": "1,1,4,4"})
    errors = " ".join(element.value for element in app.error)
    # "what went wrong", the kernel that covers 9 cells, and the fix, all in Chinese
    assert "出了什么问题" in errors and "卷积核" in errors and "如何修复" in errors, errors


def test_layer_lab_math_line_and_notes_in_chinese() -> None:
    app = _open("lab", {"lang": "zh", "layer": "Conv2d", "input": "1,8,8"})  # an unbatched (C, H, W) input
    captions = " ".join(element.value for element in app.caption)
    assert "互相关" in captions, captions  # layer_math.Conv2d, not the spec's English line
    notes = " ".join(element.value for element in app.info)
    assert "不带批量维度的输入" in notes and "unbatched" not in notes, notes


def test_model_builder_diagnosis_in_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))
    spec = DOCTOR_CASES[0][0]  # Conv2d → Flatten → Linear(64): in_features is not what Flatten gives
    app = AppTest.from_file(str(ROOT / "app_pages" / "builder.py"), default_timeout=TIMEOUT)
    app.session_state["lang"] = "zh"
    app.session_state["device"] = "meta"
    app.query_params["spec"] = to_url_token(spec)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    errors = " ".join(element.value for element in app.error)
    assert "全连接层 Linear 接收" in errors and "Linear takes" not in errors, errors
    fixes = [button.label for button in app.button if "in_features=256" in button.label.replace("\\", "")]
    assert fixes and all(HAN.search(label) and "set in" not in label for label in fixes), fixes


# ── Engine-written formulas: the padding solver, 'same', ceil_mode, the parameter counts ────────────


def _solutions() -> list:
    from inspector.layers.padding import padding_for_target, same_padding, same_padding_shape

    return [
        same_padding(3, 1, 1, 8),
        same_padding(3),
        same_padding(4, 1, 1, 8),
        same_padding(3, 2, 1, None),
        same_padding(3, 2, 1, 9),
        padding_for_target(8, 2, 3),
        padding_for_target(8, 8, 4),
        padding_for_target(8, 20, 3),
        *same_padding_shape((3, 4), 1, 1, (8, 8), ndim=2),
    ]


def test_padding_solver_reasons_are_translated_and_english_unchanged() -> None:
    for solution in _solutions():
        for text in (solution.reason, *solution.alternatives):
            assert isinstance(text, Message) and text.key, text
            _english_says_the_same(text)
            assert localized(text, "en") == str(text)
    words = {"check", "impossible", "symmetric", "stride", "smallest", "left", "right", "gives", "with padding"}
    for solution in _solutions():
        chinese = localized(solution.reason, "zh")
        assert HAN.search(chinese) or chinese == str(solution.reason), chinese  # a bare formula has no words
        assert not [word for word in words if word in chinese], chinese
        for alternative in solution.alternatives:
            assert not [word for word in words if word in localized(alternative, "zh")], alternative
    reason = _solutions()[0].reason
    assert localized(reason, "zh") == "p = d·(k − 1)/2 = 1·(3 − 1)/2 = 1；验算：⌊(8 + 2·1 − 1·(3 − 1) − 1)/1⌋ + 1 = 8"


@pytest.mark.parametrize(
    ("layer", "args", "size", "words"),
    [
        ("Conv2d", {"kernel_size": 3, "padding": "same"}, (1, 1, 8, 8), "保持尺寸不变"),
        ("MaxPool2d", {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}, (1, 1, 5, 5), "丢弃"),
        ("Linear", {"in_features": 4, "out_features": 3}, (2, 4), "W 的形状为"),
        ("BatchNorm2d", {"num_features": 3}, (1, 3, 4, 4), "缓冲区"),
        ("LSTM", {"input_size": 4, "hidden_size": 3, "num_layers": 3}, (2, 5, 4), "第 1–2 层"),
    ],
)
def test_layer_formulas_words_are_translated(layer: str, args: dict, size: tuple, words: str) -> None:
    result = inspect_layer(layer, args, size, "meta", None)
    texts = [
        result.matmul,
        *(worked.formula for _, worked in result.output_formulas),
        *(worked.symbolic for _, worked in result.output_formulas),
    ]
    if result.param_formula:
        texts += [result.param_formula.formula, result.param_formula.symbolic]
    texts = [text for text in texts if text]
    for text in texts:
        _english_says_the_same(text)
        assert localized(text, "en") == str(text)
    assert words in " ".join(localized(text, "zh") for text in texts)


def _markdown(app: AppTest) -> str:
    return " ".join(element.value for element in app.markdown)


@pytest.mark.parametrize(
    ("query", "chinese", "english"),
    [
        (
            {"layer": "Conv2d", "kernel_size": "3", "padding": "same", "input": "1,1,8,8"},
            [
                "padding='same' 保持尺寸不变：总填充",
                "torch 左侧填充 1、右侧填充 1",
                "可保持尺寸： `p = d·(k − 1)/2 = 1·(3 − 1)/2 = 1`",
                "验证：",
            ],
            ["keeps the size", "check:", "torch pads", " left"],
        ),
        (
            {"layer": "Conv2d", "kernel_size": "4", "input": "1,1,8,8"},
            ["对称填充无法保持尺寸", "奇数"],
            ["impossible", "symmetric"],
        ),
        (
            {
                "layer": "MaxPool2d",
                "kernel_size": "2",
                "stride": "2",
                "padding": "1",
                "ceil_mode": "true",
                "input": "1,1,5,5",
            },
            ["最后一个窗口", "丢弃"],
            ["but the last window", "drops it"],
        ),
        ({"layer": "Linear", "input": "2,4", "in_features": "4", "out_features": "3"}, ["W 的形状为"], ["W is"]),
    ],
)
def test_layer_lab_formulas_and_padding_in_chinese(query: dict, chinese: list[str], english: list[str]) -> None:
    app = _open("lab", {"lang": "zh", **query})
    assert not app.error, [element.value for element in app.error]
    shown = _markdown(app) + " " + " ".join(element.value for element in app.caption)
    assert all(words in shown for words in chinese), shown
    assert not [words for words in english if words in shown], shown


# ── The CLI subcommands in Chinese ──────────────────────────────────────────────────────────────────


def _keys(document: object) -> object:
    """Return the JSON document's structure: its keys, recursively (values, e.g. timings, may differ)."""
    if isinstance(document, dict):
        return {key: _keys(value) for key, value in document.items()}
    if isinstance(document, list):
        return [_keys(value) for value in document]
    return None


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[str, str]:
    assert main(list(argv)) == 0, capsys.readouterr().err
    captured = capsys.readouterr()
    return captured.out, captured.err


@pytest.fixture(scope="module")
def mlp_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> str:
    import torch

    from inspector.model.zoo import build_zoo_model

    path = tmp_path_factory.mktemp("checkpoint") / "mlp.pt"
    state = build_zoo_model("mlp", {}, device="cpu").state_dict()
    state["extra.w"] = torch.zeros(1)  # a key the model does not have: the verdict says so
    torch.save(state, path)
    return str(path)


CLI_CASES = [
    # (argv, Chinese the table must hold, English headings it must not)
    (
        ["init", "mlp"],
        ["模型    mlp，输入", "理论标准差", "W 标准差", "理论", "说明"],
        ["Model   ", "Theory std", "W std", "Scheme  ", "Notes"],
    ),
    (["build", "lenet5"], ["输入形状", "总参数量"], ["Input shape", "Total params"]),
    (
        ["memory", "mlp", "--budget", "1GB"],
        ["批量大小 32", "部分", "优化器状态", "合计", "按层保存的激活", "最大批量大小"],
        ["Parameters", "Part", "optimizer state", "Saved activations", "Largest batch"],
    ),
    (
        ["train-step", "--device", "cpu", "--steps", "1", "--warmup", "0", "--batch-size", "2", "lenet5"],
        ["每步时间", "实测峰值", "同一设备", "预热 0 步 + 测量 1 步"],
        ["Time per step", "Peak measured", "same device", "warm-up"],
    ),
    (
        ["checkpoint", "{checkpoint}", "--against", "mlp"],
        ["合计：", "（全部）", "与 mlp 不匹配", "多出 extra.w"],
        ["total:", "(all)", "does not fit", "unexpected"],
    ),
]


@pytest.mark.parametrize(("argv", "chinese", "english"), CLI_CASES, ids=[case[0][0] for case in CLI_CASES])
def test_cli_subcommands_in_chinese(
    capsys: pytest.CaptureFixture[str], mlp_checkpoint: str, argv: list[str], chinese: list[str], english: list[str]
) -> None:
    argv = [mlp_checkpoint if item == "{checkpoint}" else item for item in argv]
    out, _ = _run(capsys, "--lang", "zh", *argv)
    assert all(words in out for words in chinese), out
    assert not [words for words in english if words in out], out
    plain_out, _ = _run(capsys, *argv)
    assert not HAN.search(plain_out), plain_out  # English stays English
    after, _ = _run(capsys, *argv, "--lang", "zh")  # --lang after the subcommand too
    assert all(words in after for words in chinese), after


@pytest.mark.parametrize(("argv", "chinese", "english"), CLI_CASES, ids=[case[0][0] for case in CLI_CASES])
def test_cli_subcommands_json_unchanged_by_lang(
    capsys: pytest.CaptureFixture[str], mlp_checkpoint: str, argv: list[str], chinese: list[str], english: list[str]
) -> None:
    argv = [mlp_checkpoint if item == "{checkpoint}" else item for item in argv] + ["--format", "json"]
    english_doc = json.loads(_run(capsys, *argv)[0])
    chinese_doc = json.loads(_run(capsys, "--lang", "zh", *argv)[0])
    if argv[0] == "train-step":  # measured times and memory differ from run to run
        assert _keys(chinese_doc) == _keys(english_doc)
    else:
        assert chinese_doc == english_doc


def test_cli_build_doctor_and_fix_in_chinese(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(DOCTOR_CASES[0][0].to_json())
    assert main(["--lang", "zh", "build", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("错误：layers[2] linear1（Linear）无法接收它的输入 (1, 256)"), err
    assert "--fix 会应用第一个修复" in err and "fixes:" not in err, err
    assert main(["build", str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: layers[2] linear1 (Linear) cannot take its input (1, 256)"), err
    out, err = _run(capsys, "--lang", "zh", "build", str(spec), "--fix")
    assert err.startswith("已应用：设置 in_features=256") and json.loads(out)
    assert _run(capsys, "build", str(spec), "--fix")[1].startswith("applied: set in_features=256")


def test_init_notes_and_templates_have_chinese():
    from inspector.builder.templates import TEMPLATES
    from inspector.core.i18n import localized
    from inspector.init.report import BIAS_TEXT

    names = {"LeNet-5"}  # a proper name, the same in both languages
    texts = [*BIAS_TEXT.values(), *(t.title for t in TEMPLATES.values()), *(t.description for t in TEMPLATES.values())]
    for text in (text for text in texts if text not in names):
        assert localized(text, "en") == str(text)  # English is the engine's own text
        chinese = localized(text, "zh")
        assert chinese != str(text) and re.search(r"[\u4e00-\u9fff]", chinese), text


def _errors_b_cases() -> list[tuple[str, object]]:
    from inspector.core.shapes import validate_size
    from inspector.init.models import prepare_model
    from inspector.init.schemes import apply_init, check_seed, make_init_spec
    from inspector.layers.checks import check_ndim
    from inspector.layers.padding import same_padding_shape
    from inspector.layers.receptive_field import WindowSpec, input_window, receptive_field
    from inspector.planner.choices import check_count
    from inspector.planner.estimate import estimate_training_memory
    from inspector.planner.largest_batch import parse_budget
    from inspector.planner.train_step import check_learning_rate

    return [
        ("errors_b.unknown_scheme", lambda: make_init_spec("nope")),
        ("errors_b.std_positive", lambda: make_init_spec("normal", std=-1)),
        ("errors_b.a_below_b", lambda: make_init_spec("uniform", a=1, b=0)),
        ("errors_b.scheme_no_argument", lambda: make_init_spec("normal", gain=2)),
        ("errors_b.unknown_choice", lambda: make_init_spec("kaiming_normal", mode="sideways")),
        ("errors_b.bad_seed", lambda: check_seed(-1)),
        ("errors_b.no_init_layers", lambda: apply_init(nn.ReLU(), "normal")),
        ("errors_b.budget_out_of_range", lambda: parse_budget("0GB")),
        ("errors_b.budget_unreadable", lambda: parse_budget("abc")),
        ("errors_b.count_out_of_range", lambda: estimate_training_memory("mlp", batch_size=0)),
        ("errors_b.unknown_choice", lambda: estimate_training_memory("mlp", optimizer="nope")),
        ("errors_b.bad_learning_rate", lambda: check_learning_rate(-1)),
        ("errors_b.in_layer", lambda: receptive_field([WindowSpec("conv1", 0)])),
        ("errors_b.window_past_input", lambda: input_window(5, 3, input_size=2)),
        ("errors_b.sizes_tuple", lambda: same_padding_shape(3, input_size=(1, 2, 3), ndim=2)),
        ("errors_b.size_dims", lambda: validate_size((1,) * 9)),
        ("errors_b.count_not_whole", lambda: check_count("x", "batch size", 10)),
        ("errors_b.bad_ndim", lambda: check_ndim(4)),
        ("errors_b.unknown_init_model", lambda: prepare_model("nope", None, None, None)),
    ]


@pytest.mark.parametrize("case", range(len(_errors_b_cases())))
def test_errors_b_have_keys_and_chinese(case: int) -> None:
    key, trigger = _errors_b_cases()[case]
    with pytest.raises(InspectorError) as caught:
        trigger()
    error = caught.value
    assert error.key == key, (error.key, error.message)
    assert error_text(error, "en") == (error.message, error.hint)
    english = {
        name: error_text(value, "en")[0] if isinstance(value, InspectorError) else value
        for name, value in error.params.items()
    }
    english |= {f"{name}_hint": value.hint for name, value in error.params.items() if isinstance(value, InspectorError)}
    assert t(f"engine.{key}.message", "en", **english) == error.message  # the catalogue says what the engine says
    if error.hint is not None and f"engine.{key}.hint" in catalogue("en"):
        assert t(f"engine.{key}.hint", "en", **english) == error.hint
    message, hint = error_text(error, "zh")
    assert re.search(r"[\u4e00-\u9fff]", message), message
    assert hint is None or "{" not in hint, hint


def _errors_a_cases():
    from inspector.builder.code import generate_code
    from inspector.builder.templates import template_spec
    from inspector.checkpoint.reader import read_checkpoint
    from inspector.core.formatting import parse_format
    from inspector.layers.network_spec import from_url_token
    from inspector.model.zoo import get_zoo_entry, import_model_class, inspect_named_model, parse_kwargs

    spec = NetworkSpec.from_dict({"version": 1, "input_shape": [1, 3, 8, 8], "layers": []})
    return {
        "bad json": lambda tmp: NetworkSpec.from_json("{"),
        "not an object": lambda tmp: NetworkSpec.from_json("[1]"),
        "unknown key": lambda tmp: NetworkSpec.from_dict({"version": 1, "input_shape": [1, 3], "colour": 1}),
        "unknown layer": lambda tmp: NetworkSpec.from_json(
            '{"version": 1, "input_shape": [1, 3, 8, 8], "layers": [{"type": "Conv9d"}]}'
        ),
        "out of range arg": lambda tmp: NetworkSpec.from_json(
            '{"version": 1, "input_shape": [1, 3, 8, 8], "layers": [{"type": "Dropout", "args": {"p": 2}}]}'
        ),
        "input shape not a list": lambda tmp: NetworkSpec.from_dict({"version": 1, "input_shape": "abc"}),
        "bad url token": lambda tmp: from_url_token("!!!"),
        "bad class name": lambda tmp: generate_code(spec, "module", class_name="not a name"),
        "unknown code style": lambda tmp: generate_code(spec, "fancy"),
        "unknown template": lambda tmp: template_spec("nope"),
        "unknown format": lambda tmp: parse_format("yaml"),
        "missing checkpoint": lambda tmp: read_checkpoint(tmp / "missing.pt"),
        "bad suffix": lambda tmp: read_checkpoint(_touch(tmp / "weights.txt")),
        "corrupt checkpoint": lambda tmp: read_checkpoint(_touch(tmp / "weights.pt")),
        "unknown zoo model": lambda tmp: get_zoo_entry("no-such-model"),
        "bad zoo option": lambda tmp: inspect_named_model(next(iter(ZOO)), options={"no_such_option": 1}),
        "bad import path": lambda tmp: import_model_class("nocolon"),
        "bad kwargs": lambda tmp: parse_kwargs("{"),
        "kwargs not object": lambda tmp: parse_kwargs("[1]"),
    }


def _touch(path: Path) -> Path:
    path.write_bytes(b"not a checkpoint")
    return path


@pytest.mark.parametrize("case", list(_errors_a_cases()))
def test_errors_a_are_keyed_and_translated(case: str, tmp_path: Path) -> None:
    with pytest.raises(InspectorError) as raised:
        _errors_a_cases()[case](tmp_path)
    error = raised.value
    assert error.key, error.message
    assert error_text(error, "en") == (error.message, error.hint)
    # The English catalogue entry, filled with the params, says exactly what the engine says.
    params: dict[str, object] = {}
    for name, value in error.params.items():
        if isinstance(value, InspectorError):
            params[name], params[f"{name}_hint"] = value.message, value.hint
        else:
            params[name] = value
    assert t(f"engine.{error.key}.message", "en", **params) == error.message
    if error.hint is not None and f"engine.{error.key}.hint" in catalogue("en"):
        assert t(f"engine.{error.key}.hint", "en", **params) == error.hint
    message, hint = error_text(error, "zh")
    assert re.search(r"[\u4e00-\u9fff]", message), message
    assert (hint is None) == (error.hint is None)
