"""`--help` in the language of `--lang`: our texts from `locales/<lang>/cli_help.toml`, argparse's own words too.

English is what argparse printed before the texts moved to the catalogue: the English catalogue holds
argparse's own words as argparse writes them, so `--help` without `--lang` reads exactly as before.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from inspector.cli import _layer_help, build_parser
from inspector.core.i18n import t

ROOT = Path(__file__).resolve().parent.parent
CJK = re.compile(r"[\u4e00-\u9fff]")
NAMES_ONLY = re.compile(r"[a-z0-9_*,、:： ]+")  # a help text that only lists names (`kaiming_*: fan_in, fan_out`)


def parsers(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield "", parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield from ((name, sub) for name, sub in action.choices.items())


def helps(parser: argparse.ArgumentParser) -> list[str]:
    """Every help text of the parser and its subcommands, in order (the subcommands' own lines included)."""
    texts = []
    for _, each in parsers(parser):
        texts += [str(action.help) for action in each._actions if action.help]
        texts += [
            str(a.help) for a in each._actions if isinstance(a, argparse._SubParsersAction) for a in a._choices_actions
        ]
    return texts


def test_every_help_text_of_ours_is_translated():
    english, chinese = helps(build_parser("en")), helps(build_parser("zh"))
    assert len(english) == len(chinese) > 80  # the same flags, in the same order
    untranslated = [zh for zh in chinese if not CJK.search(zh) and not NAMES_ONLY.fullmatch(zh)]
    assert not untranslated, untranslated
    assert sum(en != zh for en, zh in zip(english, chinese, strict=True)) > 80


def test_chinese_help_says_usage_options_and_our_descriptions_in_chinese():
    text = build_parser("zh").format_help()
    assert text.startswith("用法：python -m inspector")
    assert t("cli_help.description", "zh") in text and "真实的 PyTorch" in text
    assert "选项" in text and "位置参数" in text and "显示此帮助信息并退出" in text
    assert "usage:" not in text and "options:" not in text and "What real PyTorch" not in text


def test_english_help_reads_as_argparse_wrote_it():
    text = build_parser("en").format_help()
    assert text.startswith("usage: python -m inspector [-h] [--lang {en,zh}]")
    assert "\nWhat real PyTorch does with a layer or model.\n" in text
    assert "\npositional arguments:\n" in text and "\noptions:\n" in text
    assert "  -h, --help            show this help message and exit\n" in text
    assert "list the zoo models" in text and not CJK.search(text)


def test_layer_help_in_chinese_lists_the_layers_flags_and_the_common_ones():
    parser = build_parser("zh")
    layer = next(sub for name, sub in parsers(parser) if name == "layer")
    text = _layer_help(layer, "Conv2d", "zh")
    assert "Conv2d 自己的参数" in text and "--kernel-size" in text  # the layer's own flags (catalogue `args.*`)
    assert "显示这种层类型自己的参数并退出" in text and "输入形状" in text and "show the flags" not in text
    assert "用法：python -m inspector layer" in _layer_help(layer, None, "zh")


@pytest.mark.parametrize("argv", [["--lang", "zh", "layer", "--help"], ["layer", "Conv2d", "--help", "--lang", "zh"]])
def test_the_command_line_prints_chinese_help(argv):
    done = subprocess.run(
        [sys.executable, "-m", "inspector", *argv], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0 and "用法：" in done.stdout and "输入形状，例如 1,3,224,224" in done.stdout
    assert "usage:" not in done.stdout and "input shape, e.g." not in done.stdout
