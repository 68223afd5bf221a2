"""The CLI never prints a traceback: each hostile input is one keyed line on stderr and exit 2; an
internal error is one line and exit 3.

The inputs are the ones that used to crash: a number of 5,000 digits (int() refuses more than
4,300), JSON nested 5,000 deep (json.loads recurses per level), a 5,000-character path, a name too
long for the file system, a folder given as a file, a user's module that raises while imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import inspector.cli
from inspector.cli import INTERNAL_ERROR, USER_ERROR, main
from inspector.core.bounds import MAX_DIGITS, MAX_JSON_DEPTH, MAX_TEXT_CHARS

ROOT = Path(__file__).resolve().parent.parent
DIGITS = "9" * 5000
DEEP_LIST = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"a":' * 200 + "1" + "}" * 200  # 1,201 characters: under the length cap, over the depth cap


def run_cli(capsys, *argv: str) -> tuple[int, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.err


def assert_one_line(status: int, err: str, *words: str) -> None:
    assert status == USER_ERROR, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err


@pytest.mark.parametrize(
    "argv",
    [
        ["model", "mlp", "--input-size", f"1,{DIGITS}"],
        ["layer", "Conv2d", "--in-channels", "3", "--input-size", f"1,3,{DIGITS}"],
        ["layer", "Conv2d", "--in-channels", DIGITS, "--input-size", "1,3,8,8"],
        ["memory", "mlp", "--input-size", f"1,{DIGITS}"],
        ["train-step", "mlp", "--device", "meta", "--input-size", f"1,{DIGITS}"],
        ["model", "lenet5", f"--depth={DIGITS}"],
        ["model", "mlp", "--kwargs", '{"num_classes": ' + DIGITS[:4000] + "}"],
    ],
)
def test_a_number_of_5000_digits_is_refused_with_the_range(capsys, argv):
    status, err = run_cli(capsys, *argv)
    assert_one_line(status, err, f"up to {MAX_DIGITS} digits")
    assert len(err) < 400  # the value is echoed once, shortened with an ellipsis
    assert "…" in err


@pytest.mark.parametrize("command", ["model", "init", "memory", "checkpoint"])
@pytest.mark.parametrize("text", [DEEP_LIST, DEEP_OBJECT], ids=["list-5000-deep", "object-200-deep"])
def test_kwargs_nested_deep_are_refused(capsys, tmp_path, command, text):
    if command == "checkpoint":  # a real file, so the reader gets past it to --kwargs
        torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "small.pt")
        argv = ["checkpoint", str(tmp_path / "small.pt"), "--against", "mlp"]
    else:
        argv = [command, "mlp"]
    status, err = run_cli(capsys, *argv, "--kwargs", text)
    limit = f"{MAX_TEXT_CHARS:,} characters" if len(text) > MAX_TEXT_CHARS else f"up to {MAX_JSON_DEPTH} levels"
    assert_one_line(status, err, "--kwargs", limit)


def test_a_path_of_5000_characters_is_refused(capsys, tmp_path):
    status, err = run_cli(capsys, "checkpoint", str(tmp_path / ("a" * 5000 + ".pt")))
    # len(tmp_path) + 1 + 5000 + 3 characters; the cap is Linux's PATH_MAX
    assert_one_line(status, err, f"{MAX_TEXT_CHARS:,} characters")


def test_a_file_name_too_long_for_the_file_system(capsys, tmp_path):
    status, err = run_cli(capsys, "checkpoint", str(tmp_path / ("a" * 300 + ".pt")))  # NAME_MAX is 255
    assert_one_line(status, err, "File name too long")


def test_a_folder_given_as_a_checkpoint(capsys, tmp_path):
    folder = tmp_path / "weights.pt"
    folder.mkdir()
    status, err = run_cli(capsys, "checkpoint", str(folder))
    assert_one_line(status, err, "weights.pt")


def test_a_text_file_named_pt_is_one_line(capsys, tmp_path):
    """The reader decides the words; the CLI guarantees one line and no traceback, whatever it raises."""
    path = tmp_path / "notes.pt"
    path.write_text("hello, these are not weights\n")
    status = main(["checkpoint", str(path)])
    err = capsys.readouterr().err
    assert status in (USER_ERROR, INTERNAL_ERROR)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    ("body", "kind"),
    [("raise RuntimeError('boom at import')", "RuntimeError"), ("import sys\nsys.exit(4)", "SystemExit")],
)
def test_a_module_that_raises_at_import(capsys, tmp_path, monkeypatch, body, kind):
    (tmp_path / "brokenmod.py").write_text(body + "\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    status, err = run_cli(capsys, "model", "brokenmod:Net", "--input-size", "1,4")
    assert_one_line(status, err, "brokenmod", kind, "python -c")


def test_a_class_that_raises_anything_while_built(capsys, tmp_path, monkeypatch):
    (tmp_path / "keymod.py").write_text("class Net:\n    def __init__(self):\n        raise KeyError('width')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    status, err = run_cli(capsys, "model", "keymod:Net", "--input-size", "1,4")
    assert_one_line(status, err, "could not build keymod:Net", "KeyError")


def test_a_spec_file_nested_5000_deep(capsys, tmp_path):
    spec = tmp_path / "deep.json"
    spec.write_text('{"layers": ' + DEEP_LIST + "}")
    status, err = run_cli(capsys, "build", str(spec))
    assert_one_line(status, err)


def test_an_internal_error_is_one_line_and_exit_3(capsys, monkeypatch):
    def broken(argv):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(inspector.cli, "run", broken)
    status = main(["zoo"])
    err = capsys.readouterr().err
    assert status == INTERNAL_ERROR == 3
    assert err.startswith("internal error: ZeroDivisionError: division by zero") and len(err.splitlines()) == 1


def test_errors_are_translated(capsys):
    status, err = run_cli(capsys, "--lang", "zh", "model", "mlp", "--input-size", f"1,{DIGITS}")
    assert status == USER_ERROR and "位" in err and "Traceback" not in err


def test_no_traceback_from_a_real_process(tmp_path):
    argv = [
        ["model", "mlp", "--kwargs", json.dumps({"a": 1})[:-1] + DEEP_OBJECT[:-1] + "}"],
        ["layer", "Linear", "--in-features", DIGITS],
        ["checkpoint", str(tmp_path / ("b" * 5000))],
    ]
    for args in argv:
        result = subprocess.run(
            [sys.executable, "-m", "inspector", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == USER_ERROR, result.stderr
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_spec_file_with_a_number_of_5000_digits(capsys, tmp_path):
    spec = tmp_path / "big.json"
    spec.write_text('{"version": 1, "input_shape": [1, ' + DIGITS + '], "layers": []}')
    status, err = run_cli(capsys, "build", str(spec))
    assert_one_line(status, err, "the spec has a number of 5,000 digits", f"up to {MAX_DIGITS} digits")


def test_a_size_of_5000_digits_from_python_is_refused_before_int():
    from inspector.core.errors import InvalidArgumentError
    from inspector.core.shapes import parse_size

    with pytest.raises(InvalidArgumentError, match=f"input size has a number of 5,000 digits.*up to {MAX_DIGITS}"):
        parse_size("1," + DIGITS)
