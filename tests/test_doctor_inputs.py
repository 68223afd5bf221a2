"""The doctor considers the input first: a whole model fed the wrong input gets the input fixed, proven.

Each answer is checked by PyTorch: the code the hint names is applied to a real tensor of the given
size, and the real model runs forward on the result.
"""

from __future__ import annotations

import re

import pytest
import torch
from torch import nn

from inspector.cli import main
from inspector.core.errors import ForwardError
from inspector.core.i18n import error_text
from inspector.model.inspection import inspect_model
from models.lenet import LeNet5
from models.resnet import resnet18

FIX = re.compile(r"fix: (?P<code>x\.[\w(), .]+?) gives \((?P<size>[\d, ]+)\) \(input size (?P<flag>[\d,]+)\)")


def forward_error(model: nn.Module, size: tuple[int, ...], name: str | None = None) -> ForwardError:
    with pytest.raises(ForwardError) as caught:
        inspect_model(model, size, device="meta", name=name)
    return caught.value


def applied(code: str, given: tuple[int, ...]) -> torch.Tensor:
    """Return the hint's code (x.unsqueeze(0), x.permute(...)) applied by torch to a tensor of `given`."""
    x = torch.zeros(given)
    # Only the two methods the doctor names; nothing else of the hint's text is run.
    assert re.fullmatch(r"x(\.(unsqueeze|permute)\([\d, ]+\))+", code), code
    return eval(code, {"__builtins__": {}}, {"x": x})


@pytest.mark.parametrize(
    ("build", "given", "code", "corrected", "output"),
    [
        # resnet18 on (3, 224, 224): no batch dimension; the doctor once said "nn.BatchNorm1d(112)".
        (resnet18, (3, 224, 224), "x.unsqueeze(0)", (1, 3, 224, 224), (1, 1000)),
        # channels last (N, H, W, C): once "set in_channels=224"; permute(0, 3, 1, 2) puts C second.
        (resnet18, (1, 224, 224, 3), "x.permute(0, 3, 1, 2)", (1, 3, 224, 224), (1, 1000)),
        # LeNet-5 on an unbatched (1, 28, 28): once "set in_features=25".
        (LeNet5, (1, 28, 28), "x.unsqueeze(0)", (1, 1, 28, 28), (1, 10)),
    ],
)
def test_the_input_is_fixed_first(build, given, code, corrected, output):
    model = build().eval()
    error = forward_error(model, given)
    _, hint = error_text(error, "en")
    found = FIX.search(hint)
    assert found is not None, hint
    assert hint.startswith("the input is the problem, not this layer")
    assert (found["code"], found["flag"]) == (code, ",".join(map(str, corrected)))
    assert "BatchNorm1d" not in hint and "in_channels=224" not in hint and "in_features" not in hint
    fixed = applied(found["code"], given)  # torch applies the code ...
    assert tuple(fixed.shape) == corrected
    with torch.no_grad():  # ... and the real model runs on the corrected input
        assert tuple(model(fixed).shape) == output
    _, zh_hint = error_text(error, "zh")
    assert zh_hint.startswith("问题出在输入") and code in zh_hint and found["flag"] in zh_hint


def test_the_zoo_models_own_size_when_nothing_else_fits():
    # LeNet-5 on 32×32: conv 5 pad 2 keeps 32, pool → 16, conv 5 → 12, pool → 6: 16·6·6 = 576 features where
    # its Linear takes 16·5·5 = 400; batching or permuting cannot help, its own size 1,1,28,28 does.
    error = forward_error(LeNet5().eval(), (1, 1, 32, 32), name="lenet5")
    _, hint = error_text(error, "en")
    assert "use the input size 1,1,28,28" in hint
    with torch.no_grad():
        assert tuple(LeNet5().eval()(torch.zeros(1, 1, 28, 28)).shape) == (1, 10)
    _, zh_hint = error_text(error, "zh")
    assert "改用输入尺寸 1,1,28,28" in zh_hint


def test_a_wrong_layer_still_gets_the_layer_fix():
    # (1, 3, 8, 8) → Conv2d(3, 8, 3) → (1, 8, 6, 6) → Flatten → 8·6·6 = 288 features, but Linear takes 10:
    # no corrected input makes this run, so the layer rule answers.
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.Linear(10, 2))
    _, hint = error_text(forward_error(model, (1, 3, 8, 8)), "en")
    assert "in_features=288" in hint and "the input is the problem" not in hint


def test_the_model_is_left_as_found():
    model = resnet18().train()
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    forward_error(model, (3, 224, 224))
    assert model.training and all(module.training for module in model.modules())
    assert all(torch.equal(before[name], tensor) for name, tensor in model.state_dict().items())
    assert all(tensor.device.type == "cpu" for tensor in model.state_dict().values())


def test_the_command_line_names_the_input_fix(capsys):
    status = main(["model", "resnet18", "--input-size", "3,224,224", "--device", "meta"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1
    assert "x.unsqueeze(0) gives (1, 3, 224, 224) (input size 1,3,224,224)" in err
    status = main(["--lang", "zh", "model", "resnet18", "--input-size", "1,224,224,3", "--device", "meta"])
    err = capsys.readouterr().err
    assert status == 2 and "x.permute(0, 3, 1, 2) 得到 (1, 3, 224, 224)（输入尺寸 1,3,224,224）" in err
