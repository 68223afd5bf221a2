"""`python -m inspector build`: a spec's report in the `model` formats, the doctor's one-line verdict, --fix."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from inspector.builder.templates import lenet5_spec, template_spec
from inspector.cli import main
from inspector.layers.network_spec import NetworkSpec

ROOT = Path(__file__).resolve().parent.parent


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def lenet_file(tmp_path: Path) -> Path:
    path = tmp_path / "lenet.json"
    path.write_text(lenet5_spec().to_json(), encoding="utf-8")
    return path


@pytest.fixture
def mistake_file(tmp_path: Path) -> Path:
    path = tmp_path / "mistake.json"
    path.write_text(template_spec("alexnet_mistake").to_json(), encoding="utf-8")
    return path


def test_table_report_of_a_spec_file(capsys, lenet_file):
    status, out, err = run_cli(capsys, "build", str(lenet_file))
    assert status == 0 and not err
    assert "conv2d1" in out and "linear3" in out
    assert "61,706" in out  # 156 + 2,416 + 48,120 + 10,164 + 850
    assert "(1, 16, 5, 5)" in out


def test_json_csv_and_markdown_are_the_model_formats(capsys, lenet_file):
    status, out, _ = run_cli(capsys, "build", str(lenet_file), "--format", "json", "--device", "meta")
    document = json.loads(out)
    assert status == 0 and document["model"] == "lenet" and document["total_params"] == 61_706
    assert document["output_shape"] == [1, 10] and document["device"] == "meta"
    _, out, _ = run_cli(capsys, "build", str(lenet_file), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [row["name"] for row in rows[1:3]] == ["conv2d1", "sigmoid1"]
    assert rows[1]["params"] == "156"  # 6 · 1 · 5 · 5 + 6
    _, out, _ = run_cli(capsys, "build", str(lenet_file), "--format", "markdown")
    assert out.startswith("# lenet") and "| conv2d1 | Conv2d |" in out


def test_a_template_name_and_dtype(capsys):
    status, out, _ = run_cli(capsys, "build", "mlp", "--dtype", "float64", "--format", "json")
    document = json.loads(out)
    assert status == 0 and document["dtype"] == "float64"
    assert document["total_params"] == 203_530  # 784 · 256 + 256 + 256 · 10 + 10


def test_a_spec_that_does_not_fit_is_one_line_with_the_fixes(capsys, mistake_file):
    status, out, err = run_cli(capsys, "build", str(mistake_file), "--device", "meta")
    assert status == 2 and not out
    assert err.count("\n") == 1
    assert err.startswith("error: layers[16] linear1 (Linear) cannot take its input (1, 9216)")
    assert "(1) set in_features=9216 (= 256·6·6)" in err  # 256 · 6 · 6 = 9216
    assert "(2) pool to 4×4 before Flatten" in err and "--fix applies the first" in err


def test_fix_prints_the_fixed_spec(capsys, mistake_file):
    status, out, err = run_cli(capsys, "build", str(mistake_file), "--device", "meta", "--fix")
    assert status == 0
    fixed = NetworkSpec.from_json(out)
    assert fixed.layers[16].args["in_features"] == 9216
    assert fixed == template_spec("alexnet")
    assert err == "applied: set in_features=9216 (= 256·6·6)\n"


def test_fix_of_a_spec_that_fits_prints_it_unchanged(capsys, lenet_file):
    status, out, err = run_cli(capsys, "build", str(lenet_file), "--fix", "--device", "meta")
    assert status == 0 and not err and NetworkSpec.from_json(out) == lenet5_spec()


def test_fix_that_cannot_help_exits_2(capsys, tmp_path):
    path = tmp_path / "stuck.json"
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "input_shape": [1, 4],
                "layers": [{"type": "ReLU"}, {"type": "Embedding", "args": {"num_embeddings": 10, "embedding_dim": 4}}],
            }
        )
    )
    status, out, err = run_cli(capsys, "build", str(path), "--fix", "--device", "meta")
    assert status == 2 and not out and "no fix applies" in err


def test_code_output(capsys, lenet_file):
    status, out, _ = run_cli(capsys, "build", str(lenet_file), "--code", "module")
    assert status == 0 and "class Network(nn.Module):" in out and "x = self.conv2d1(x)  # (1, 6, 28, 28)" in out
    status, _, err = run_cli(capsys, "build", str(lenet_file), "--code", "keras")
    assert status == 2 and "unknown code style 'keras'" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON (line 1, column 2)"),
        ('{"version": 1, "input_shape": [1, 4], "layers": [{"type": "Lineer"}]}', "layers[0]: unknown layer type"),
        (
            '{"version": 1, "input_shape": [1, 4], "layers": [{"type": "Linear", "args": {"in_features": -1}}]}',
            "layers[0] (Linear): in_features must be between 1 and 65,536, got -1",
        ),
        ('{"version": 3, "input_shape": [1, 4], "layers": []}', "got 3"),
    ],
    ids=["json", "unknown-type", "range", "version"],
)
def test_malformed_spec_files_exit_2_naming_the_entry(capsys, tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    status, out, err = run_cli(capsys, "build", str(path))
    assert status == 2 and not out and message in err and err.count("\n") == 1


def test_missing_file_and_bad_options_exit_2(capsys, tmp_path, lenet_file):
    status, _, err = run_cli(capsys, "build", str(tmp_path / "nothing.json"))
    assert status == 2 and "cannot read the spec" in err and "lenet5" in err
    status, _, err = run_cli(capsys, "--lang", "zh", "build", str(tmp_path / "nothing.json"))
    assert status == 2 and "无法读取网络规格" in err and "模板名称：empty, mlp, lenet5" in err
    status, _, err = run_cli(capsys, "build", str(lenet_file), "--format", "xml")
    assert status == 2 and "unknown format 'xml'" in err
    status, _, err = run_cli(capsys, "build", str(lenet_file), "--device", "tpu")
    assert status == 2 and "tpu" in err


def test_python_dash_m_reads_stdin():
    process = subprocess.run(
        [sys.executable, "-m", "inspector", "build", "-", "--device", "meta", "--format", "json"],
        input=lenet5_spec().to_json(),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert process.returncode == 0, process.stderr
    assert json.loads(process.stdout)["total_params"] == 61_706
