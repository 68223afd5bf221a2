"""Branches the other tests left untested, found with the coverage report: the CLI's listings and error
paths, the doctor's fixes applied and built, and checkpoints read through `read_checkpoint` alone.

Real inputs throughout (files in tmp_path, real torch layers); torch is the reference.
"""

from __future__ import annotations

import errno
import inspect
import os
import re
import sys

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from inspector import Fix, InvalidArgumentError, NetworkSpec, apply_fix, build_network, propagate, read_checkpoint
from inspector.builder.templates import TEMPLATES
from inspector.cli import main
from inspector.core.messages import msg
from inspector.doctor.diagnose import diagnose_failure

CJK = re.compile(r"[\u4e00-\u9fff]")


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


# ---- the CLI --------------------------------------------------------------------------------------


def test_devices_lists_torch_devices_and_the_visibility_variable(capsys, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # set but empty: no GPU visible
    status, out, _ = run_cli(capsys, "devices")
    assert status == 0
    lines = out.splitlines()
    names = [line.split()[0] for line in lines[:-1]]
    assert "cpu" in names
    assert sum(name.startswith("cuda") for name in names) == torch.cuda.device_count()
    assert lines[-1] == "CUDA_VISIBLE_DEVICES="
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    _, unset, _ = run_cli(capsys, "devices")
    assert unset.splitlines()[-1] != "CUDA_VISIBLE_DEVICES="  # unset is told apart from empty


def test_layers_table_shows_torch_defaults(capsys):
    status, out, _ = run_cli(capsys, "layers")
    assert status == 0
    row = next(line for line in out.splitlines() if line.split()[0] == "Conv2d")
    listed = dict(pair.split("=", 1) for pair in row.split(None, 1)[1].split(", "))
    torch_defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(nn.Conv2d).parameters.items()
        if parameter.default is not inspect.Parameter.empty and name in listed
    }
    assert {"stride", "padding", "dilation", "groups", "bias"} <= set(torch_defaults)
    for name, default in torch_defaults.items():
        assert listed[name] == str(default), name


def test_unrecognized_arguments_of_a_listing_are_one_line(capsys):
    status, out, err = run_cli(capsys, "zoo", "--bogus")
    assert (status, out) == (2, "")
    assert "unrecognized arguments: --bogus" in one_error_line(err)


def test_lang_before_or_after_the_command_gives_the_same_chinese_line(capsys):
    before = run_cli(capsys, "--lang=zh", "model", "no_such_model")
    after = run_cli(capsys, "model", "no_such_model", "--lang", "zh")
    assert before == after
    assert before[0] == 2 and CJK.search(one_error_line(before[2]))


def test_unknown_lang_falls_back_to_english(capsys):
    status, _, err = run_cli(capsys, "--lang=xx", "zoo")
    assert status == 2
    line = one_error_line(err)
    assert "'xx'" in line and not CJK.search(line)


def test_a_model_nested_past_the_recursion_limit_is_a_user_error(capsys, tmp_path):
    source = tmp_path / "deep.py"
    source.write_text(
        "from torch import nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        inner = nn.Linear(2, 2)\n"
        "        for _ in range(3000):\n"
        "            inner = nn.Sequential(inner)\n"
        "        self.body = inner\n"
        "    def forward(self, x):\n"
        "        return self.body(x)\n",
        encoding="utf-8",
    )
    status, out, err = run_cli(capsys, "model", f"{source}:Net", "--input-size", "1,2")
    assert (status, out) == (2, "")
    assert f"{sys.getrecursionlimit():,}" in one_error_line(err)


def test_a_layer_fed_a_0_dim_tensor_is_a_user_error_not_a_crash(capsys, tmp_path):
    # Found by these tests: the doctor's Linear rule read the last dimension of a 0-dim input (exit 3).
    source = tmp_path / "scalar.py"
    source.write_text(
        "from torch import nn\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.head = nn.Linear(1, 2)\n"
        "    def forward(self, x):\n"
        "        return self.head(x.sum())\n",
        encoding="utf-8",
    )
    with pytest.raises(RuntimeError) as torch_error:  # what torch itself says
        nn.Linear(1, 2)(torch.zeros(1, 1).sum())
    status, out, err = run_cli(capsys, "model", f"{source}:Net", "--input-size", "1,1")
    assert (status, out) == (2, "")
    assert str(torch_error.value).splitlines()[0] in one_error_line(err)


def test_a_path_the_system_refuses_is_a_user_error(capsys, tmp_path):
    name = "a" * (os.pathconf(tmp_path, "PC_NAME_MAX") + 1)  # one character past what the file system allows
    status, out, err = run_cli(capsys, "model", f"{tmp_path / name}.py:Net")
    assert (status, out) == (2, "")
    assert os.strerror(errno.ENAMETOOLONG) in one_error_line(err)


def test_a_newline_in_an_argument_prints_escaped_on_one_line(capsys):
    status, _, err = run_cli(capsys, "layer", "Linear", "--input-size", "1,x\n4")
    assert status == 2
    assert "\\n" in one_error_line(err)


def test_a_nested_checkpoint_names_its_container_in_the_table(capsys, tmp_path):
    # Found by mypy: the "under 'model'" line passed `key=` to t(), whose own first parameter is `key` (exit 3).
    model = nn.Linear(2, 3)
    path = tmp_path / "nested.pt"
    torch.save({"model": model.state_dict(), "epoch": 1}, path)
    status, out, err = run_cli(capsys, "checkpoint", str(path))
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert "'model'" in lines[0]
    for name, tensor in model.state_dict().items():
        assert any(line.split()[0] == name and f"{tensor.numel()}" in line.split() for line in lines[1:]), name


# ---- the doctor -----------------------------------------------------------------------------------


def test_every_fix_of_the_classic_mistake_builds_a_network_torch_runs():
    spec = TEMPLATES["alexnet_mistake"].build()
    diagnosis = propagate(spec).diagnosis
    assert diagnosis is not None and len(diagnosis.fixes) > 1
    hint = str(diagnosis.hint())
    for number in range(1, len(diagnosis.fixes) + 1):  # "(1) …; (2) …": every fix numbered in one line
        assert f"({number})" in hint
    document = diagnosis.to_dict()
    assert [fix["code"] for fix in document["fixes"]] == [fix.code for fix in diagnosis.fixes]
    for fix in diagnosis.fixes:
        fixed = apply_fix(spec, fix)
        result = propagate(fixed)
        assert result.diagnosis is None
        output = build_network(fixed)(torch.zeros(spec.input_shape))
        # AlexNet's classifier ends in Linear(4096, 1000) for one image
        assert output.shape == (1, 1000)


def test_integer_input_is_fixed_by_making_it_float():
    linear = '{"type": "Linear", "args": {"in_features": 4, "out_features": 3}}'
    text = f'{{"version": 1, "input_shape": [2, 4], "input_dtype": "int64", "layers": [{linear}]}}'
    spec = NetworkSpec.from_json(text)
    with pytest.raises(RuntimeError):  # torch itself refuses integers in a Linear
        nn.Linear(4, 3)(torch.zeros(2, 4, dtype=torch.int64))
    diagnosis = propagate(spec).diagnosis
    assert diagnosis is not None and len(diagnosis.fixes) == 1
    (fix,) = diagnosis.fixes
    assert str(diagnosis.hint()).endswith(str(fix.description))  # one fix: no numbering
    assert fix.to_dict()["edits"] == [{"kind": "set_input", "index": None, "input_dtype": "float32"}]
    fixed = apply_fix(spec, fix)
    assert propagate(fixed).diagnosis is None
    assert build_network(fixed)(torch.zeros(2, 4)).shape == nn.Linear(4, 3)(torch.zeros(2, 4)).shape


def test_a_fix_without_edits_is_refused():
    spec = TEMPLATES["mlp"].build()
    with pytest.raises(InvalidArgumentError):
        apply_fix(spec, Fix(msg("doctor.fix.float"), (), "X = X.float()"))


def test_the_doctor_reads_the_first_tensor_of_nested_inputs():
    layer = nn.Linear(5, 3)
    with pytest.raises(RuntimeError):  # torch: a (2, 4) input does not fit in_features=5
        layer(torch.zeros(2, 4))
    alone = diagnose_failure(layer, [2, 4])
    assert alone is not None
    assert diagnose_failure(layer, [[2, 4], [7]]) == alone
    assert diagnose_failure(layer, {"x": [2, 4]}) == alone
    with pytest.raises(RuntimeError):  # a 0-dim input: torch refuses it, and the doctor has no dimension to read
        layer(torch.zeros(()))
    assert diagnose_failure(layer, []) is None
    assert diagnose_failure(layer, {}) is None


# ---- checkpoints, through read_checkpoint only ----------------------------------------------------


@pytest.mark.parametrize("container", ["model", "model_state_dict", "module"])
def test_every_nesting_key_is_found(tmp_path, container):
    model = nn.Sequential(nn.Linear(3, 2), nn.LayerNorm(2))
    path = tmp_path / "nested.pt"
    torch.save({container: model.state_dict(), "step": 7}, path)
    report = read_checkpoint(path)
    assert report.container_key == container
    assert report.total_numel == sum(p.numel() for p in model.state_dict().values())


def test_totals_and_tree_match_torch(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Sequential(nn.Linear(4, 5, bias=False)))
    state = {name: tensor.to(torch.float16) for name, tensor in model.state_dict().items()}
    path = tmp_path / "half.safetensors"
    save_file(state, path)
    report = read_checkpoint(path)
    assert report.total_bytes == sum(t.numel() * t.element_size() for t in state.values())
    inner = report.tree.children["1"].children["0"]
    assert inner.numel == model[1][0].weight.numel()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty.pt", b""),
        ("notes.txt", b"not a checkpoint"),
        ("broken.safetensors", b"\x08\x00\x00\x00\x00\x00\x00\x00{broken}"),
    ],
)
def test_files_that_are_no_checkpoint_are_refused(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InvalidArgumentError):
        read_checkpoint(path)


def test_a_folder_and_a_missing_file_are_refused(tmp_path):
    folder = tmp_path / "weights.pt"
    folder.mkdir()
    for path in (folder, tmp_path / "missing.pt"):
        with pytest.raises(InvalidArgumentError):
            read_checkpoint(path)


def test_the_size_limit_comes_from_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "big.pt"
    torch.save({"w": torch.zeros(1024, 1024)}, path)  # 1024 · 1024 · 4 bytes = 4 MiB, over a 1 MB limit
    monkeypatch.setenv("INSPECTOR_MAX_CHECKPOINT_MB", "1")
    with pytest.raises(InvalidArgumentError):
        read_checkpoint(path)
    monkeypatch.setenv("INSPECTOR_MAX_CHECKPOINT_MB", "not a number")  # falls back to the default, 2048 MB
    assert read_checkpoint(path).total_numel == torch.zeros(1024, 1024).numel()
