"""The command line answers a near miss with the fix: one line on stderr, exit 2, in English and Chinese."""

from __future__ import annotations

import pytest
import torch

from inspector.cli import main
from inspector.layers.specs import get_layer_spec


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def one_error(capsys, *argv: str) -> str:
    status, out, err = run_cli(capsys, *argv)
    assert (status, out, err.count("\n")) == (2, "", 1), err
    assert "Traceback" not in err
    return err


def test_an_unknown_model_gets_a_guess(capsys):
    err = one_error(capsys, "model", "resnt18")
    assert "did you mean resnet18" in err and "gpt_7b" not in err  # the guess, not the whole zoo
    err = one_error(capsys, "--lang", "zh", "model", "resnt18")
    assert "你是不是想用 resnet18" in err
    err = one_error(capsys, "model", "qwerty")  # nothing close: the whole zoo, as before
    assert "choose one of: mlp" in err


def test_a_layers_help_lists_its_own_flags_with_defaults(capsys):
    status, out, _ = run_cli(capsys, "layer", "Conv2d", "--help")
    assert status == 0
    for arg in get_layer_spec("Conv2d").args:  # every constructor argument the registry knows, with its default
        assert arg.flag in out
    assert "--kernel-size KERNEL_SIZE" in out and "(default 3)" in out and "--input-size" in out
    assert torch.nn.Conv2d(1, 1, 3).kernel_size == (3, 3)  # the default shown is the one torch then builds with
    status, out, _ = run_cli(capsys, "--lang", "zh", "layer", "Linear", "--help")
    assert status == 0 and "Linear 自己的参数" in out and "--in-features" in out and "（默认 784）" in out


def test_no_command_lists_the_commands(capsys):
    err = one_error(capsys)
    assert "no command given" in err and "argument" not in err  # ours, not argparse's "arguments are required"
    for command in ("zoo", "devices", "layers", "model", "layer", "build", "memory", "train-step", "checkpoint"):
        assert f" {command}," in err or f" {command};" in err
    assert "没有给出命令" in one_error(capsys, "--lang", "zh")


@pytest.mark.parametrize(
    ("argv", "english", "chinese"),
    [
        (
            ("layer", "Conv2d", "--in-channels", "3", "--kernel_size", "3", "--input-size", "1,3,8,8"),
            "unrecognized flag --kernel_size — flags use hyphens, not underscores: write --kernel-size",
            "请写 --kernel-size",
        ),
        (
            ("model", "lenet5", "--input-size", "1", "1", "28", "28", "--device", "meta"),
            "separate them with commas, without spaces: --input-size 1,1,28,28",
            "请用逗号分隔，不要加空格：--input-size 1,1,28,28",
        ),
        (
            ("layer", "Conv2d", "--in-channels", "3", "--input-size", "1", "3", "224", "224"),
            "--input-size 1,3,224,224",
            "--input-size 1,3,224,224",
        ),
        (("model", "lenet5", "--batch_size", "2"), "write --batch-size", "请写 --batch-size"),
    ],
)
def test_near_misses_get_the_fix(capsys, argv, english, chinese):
    assert english in one_error(capsys, *argv)
    assert chinese in one_error(capsys, "--lang", "zh", *argv)


@pytest.mark.skipif(torch.version.cuda is not None, reason="a CUDA build of torch: the CPU-build message cannot show")
@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_cuda_on_a_cpu_build_of_torch_says_so(capsys, device):
    err = one_error(capsys, "layer", "ReLU", "--input-size", "2", "--device", device)
    assert "CPU-only build (torch.version.cuda is None)" in err and torch.__version__ in err
    assert f"pip install torch=={torch.__version__.split('+')[0]}" in err
    err = one_error(capsys, "--lang", "zh", "model", "lenet5", "--device", device)
    assert "仅支持 CPU 的构建" in err
