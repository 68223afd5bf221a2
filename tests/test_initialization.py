"""Initialisation schemes against their theory and against PyTorch: weights, depth behaviour, code, CLI, errors.

Tolerances follow from the sample size n: a sample mean is off by about σ/√n, a sample std of a
normal by about σ/√(2n) (less for the lighter-tailed uniform and truncated normal), and we allow
5 of those.
"""

from __future__ import annotations

import itertools
import json
import math

import pytest
import torch
from torch import nn

from inspector.cli import main
from inspector.core.errors import InspectorError, InvalidArgumentError, UnknownNameError
from inspector.init.charts import DepthMetric, depth_figure, depth_series, histogram_figure
from inspector.init.code import init_code
from inspector.init.report import compare_with_default, init_report
from inspector.init.schemes import SCHEMES, InitScheme, apply_init, make_init_spec
from inspector.init.theory import Distribution, density_curve, fans, weight_histogram, weight_theory
from models.deep import deep_cnn, deep_mlp

# Every scheme with arguments that make its weights interesting (torch's defaults otherwise).
SCHEME_ARGUMENTS: dict[InitScheme, dict[str, object]] = {
    InitScheme.DEFAULT: {},
    InitScheme.XAVIER_UNIFORM: {"gain": 2.0},
    InitScheme.XAVIER_NORMAL: {},
    InitScheme.KAIMING_UNIFORM: {"nonlinearity": "relu"},
    InitScheme.KAIMING_NORMAL: {"mode": "fan_out", "nonlinearity": "leaky_relu", "a": 0.2},
    InitScheme.NORMAL: {"mean": 0.5, "std": 0.02},
    InitScheme.UNIFORM: {"a": -0.3, "b": 0.1},
    InitScheme.TRUNC_NORMAL: {"std": 0.5, "a": -0.4, "b": 0.8},
    InitScheme.ORTHOGONAL: {"gain": 1.5},
    InitScheme.ZEROS: {},
    InitScheme.CONSTANT: {"value": 0.25},
}


def small_net() -> nn.Module:
    """A Conv2d and two Linears, so every init path (fans with a kernel, plain matrices) runs."""
    return nn.Sequential(
        nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 32), nn.Tanh(), nn.Linear(32, 5)
    )


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.clone() for name, tensor in model.state_dict().items()}


def assert_unchanged(model: nn.Module, before: dict[str, torch.Tensor]) -> None:
    after = model.state_dict()
    assert after.keys() == before.keys()
    assert all(torch.equal(after[name], before[name]) for name in before)


# ── fans and theory ─────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    "layer",
    [
        nn.Linear(784, 256),
        nn.Conv1d(4, 6, 5),
        nn.Conv2d(3, 16, (5, 3)),
        nn.Conv2d(8, 16, 3, groups=4),
        nn.Conv3d(2, 4, (1, 2, 3)),
    ],
)
def test_fans_match_torch(layer):
    assert fans(tuple(layer.weight.shape)) == nn.init._calculate_fan_in_and_fan_out(layer.weight)


def test_fans_of_linear_and_conv_by_hand():
    # Linear(784, 256): weight (256, 784) → fan_in = 784, fan_out = 256
    assert fans((256, 784)) == (784, 256)
    # Conv2d(3, 16, (5, 3)): weight (16, 3, 5, 3) → fan_in = 3·5·3 = 45, fan_out = 16·5·3 = 240
    assert fans((16, 3, 5, 3)) == (45, 240)


def test_xavier_uniform_bound_by_hand():
    theory = weight_theory((256, 784), make_init_spec("xavier_uniform"))
    # bound = 1·√(6/(784 + 256)) = √(6/1040) = √0.0057692 = 0.0759555
    assert theory.high == pytest.approx(0.0759555, rel=1e-6)
    # std = bound/√3 = 0.0759555/1.7320508 = 0.0438530
    assert theory.std == pytest.approx(0.0438530, rel=1e-5)
    assert "√(6/(784 + 256))" in theory.formula and theory.formula.endswith("0.04385")


def test_trunc_normal_std_by_hand():
    theory = weight_theory((10, 10), make_init_spec("trunc_normal"))  # N(0, 1) cut to [−2, 2]
    # Z = Φ(2) − Φ(−2) = 0.9544997; Var = 1 − (2φ(2) + 2φ(2))/Z = 1 − 4·0.0539910/0.9544997 = 0.7737413
    # std = √0.7737413 = 0.8796257
    assert theory.std == pytest.approx(0.8796257, rel=1e-6)
    assert theory.mean == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("scheme", list(InitScheme))
def test_measured_weight_statistics_match_theory(scheme):
    layer = nn.Linear(400, 300)  # weight (300, 400): n = 120,000 values
    spec = make_init_spec(scheme, **SCHEME_ARGUMENTS[scheme])
    weight = apply_init(layer, spec, seed=3).weight.detach().double()
    theory = weight_theory(tuple(weight.shape), spec)
    n = weight.numel()
    mean_tolerance = 5 * theory.std / math.sqrt(n) + 1e-12
    std_tolerance = 5 * theory.std / math.sqrt(2 * n) + 1e-12
    assert abs(weight.mean().item() - theory.mean) < mean_tolerance
    assert abs(weight.std().item() - theory.std) < std_tolerance
    if theory.low is not None:
        assert theory.low <= weight.min().item() and weight.max().item() <= theory.high


def test_orthogonal_mean_square_is_exact():
    spec = make_init_spec("orthogonal", gain=1.5)
    weight = apply_init(nn.Linear(400, 300), spec, seed=0).weight.detach().double()
    # 300 orthonormal rows of length 400, scaled by 1.5: Σw² = 1.5²·300 → mean square = 2.25/400 = 0.005625
    assert weight.pow(2).mean().item() == pytest.approx(0.005625, rel=1e-6)  # float32 rounding
    assert weight_theory((300, 400), spec).std == pytest.approx(math.sqrt(0.005625))


@pytest.mark.parametrize(
    "scheme", [InitScheme.DEFAULT, InitScheme.UNIFORM, InitScheme.KAIMING_NORMAL, InitScheme.TRUNC_NORMAL]
)
def test_theoretical_density_integrates_to_one(scheme):
    theory = weight_theory((64, 128), make_init_spec(scheme, **SCHEME_ARGUMENTS[scheme]))
    xs, ys = density_curve(theory, points=4001)
    area = sum((b - a) * (fa + fb) / 2 for a, b, fa, fb in zip(xs, xs[1:], ys, ys[1:], strict=False))
    assert area == pytest.approx(1.0, abs=0.01)  # ± 4 std of a normal holds 0.99994 of it


def test_weight_histogram_counts_every_value():
    weight = apply_init(nn.Linear(100, 50), "kaiming_uniform", seed=1).weight
    histogram = weight_histogram(weight, bins=20)
    assert sum(histogram.counts) == 5000  # 100·50 weights
    width = histogram.edges[1] - histogram.edges[0]
    assert sum(histogram.density) * width == pytest.approx(1.0)
    constant = weight_histogram(torch.full((3, 3), 0.25), bins=4)
    assert sum(constant.counts) == 9 and constant.edges[0] < 0.25 < constant.edges[-1]


# ── PyTorch's default ──────────────────────────────────────────────────────────────────────────


def test_default_scheme_matches_a_freshly_built_linear():
    fan_in, fan_out = 300, 200
    fresh = nn.Linear(fan_in, fan_out)
    theory = weight_theory((fan_out, fan_in), make_init_spec("default"))
    # bound = 1/√fan_in = 1/√300 = 0.0577350
    assert theory.high == pytest.approx(0.0577350, rel=1e-6)
    n = fan_in * fan_out  # 60,000 weights
    largest = fresh.weight.abs().max().item()
    # P(max |w| < bound·(1 − 20/n)) = (1 − 20/n)^n ≈ e^−20: the largest |w| sits right under the bound
    assert theory.high * (1 - 20 / n) < largest <= theory.high
    # std of U(−bound, bound) = bound/√3 = 0.0577350/1.7320508 = 0.0333333 = 1/√(3·300)
    assert fresh.weight.std().item() == pytest.approx(theory.high / math.sqrt(3), abs=5 * theory.std / math.sqrt(2 * n))
    assert fresh.bias.abs().max().item() <= 1 / math.sqrt(fan_in)


@pytest.mark.parametrize("build", [lambda: nn.Linear(300, 200), lambda: nn.Conv2d(3, 16, (5, 3))])
def test_default_scheme_draws_what_torch_draws(build):
    torch.manual_seed(7)
    fresh = build()
    ours = apply_init(build(), "default", seed=7)
    assert torch.equal(ours.weight, fresh.weight) and torch.equal(ours.bias, fresh.bias)


# ── the copyable code ──────────────────────────────────────────────────────────────────────────


# bias "scheme" only where the scheme works on a 1-D tensor (the others are refused, see BAD_INPUTS)
CODE_CASES = [
    (scheme, bias)
    for scheme in InitScheme
    for bias in (None, "default", "scheme")
    if bias != "scheme" or not SCHEMES[scheme].needs_matrix
]


@pytest.mark.parametrize(("scheme", "bias"), CODE_CASES)
def test_init_code_gives_the_same_weights_as_apply_init(scheme, bias):
    spec = make_init_spec(scheme, bias, **SCHEME_ARGUMENTS[scheme])
    expected = apply_init(small_net(), spec, seed=11)
    namespace = {"model": small_net()}
    exec(init_code(spec, seed=11), namespace)  # the code a learner copies, run as it is
    assert_unchanged(namespace["model"], snapshot(expected))


def test_init_code_reads_like_torch():
    code = init_code("kaiming_normal", {"nonlinearity": "relu"}, seed=0)
    assert 'nn.init.kaiming_normal_(m.weight, a=0.0, mode="fan_in", nonlinearity="relu")' in code
    assert "nn.init.zeros_(m.bias)" in code and "model.apply(init_fn)" in code
    assert "a=math.sqrt(5)" in init_code("default")


# ── the model passed in is left as it was ─────────────────────────────────────────────────────


def test_apply_init_returns_a_copy_and_leaves_the_model_alone():
    model = small_net().train()
    before = snapshot(model)
    initialised = apply_init(model, "zeros")
    assert initialised is not model and initialised[0].weight.abs().sum().item() == 0
    assert_unchanged(model, before)
    assert model.training


def test_init_report_leaves_the_model_alone():
    model = small_net().train()
    model[3].weight.requires_grad_(False)
    before = snapshot(model)
    report = init_report(model, "xavier_normal", input_size=(4, 3, 6, 6))
    assert_unchanged(model, before)
    assert model.training and not model[3].weight.requires_grad
    assert all(p.grad is None for p in model.parameters())
    assert not model._forward_hooks and not model[0]._forward_hooks
    assert [layer.name for layer in report.initialised_layers()] == ["0", "3", "5"]


BAD_INPUTS = [
    pytest.param({"scheme": "he_normal"}, UnknownNameError, "unknown initialisation scheme", id="unknown scheme"),
    pytest.param({"scheme": "normal", "std": -1.0}, InvalidArgumentError, "std must be positive", id="negative std"),
    pytest.param({"scheme": "uniform", "a": 0.5, "b": 0.5}, InvalidArgumentError, "needs a < b", id="a >= b"),
    pytest.param(
        {"scheme": "orthogonal", "bias": "scheme"},
        InvalidArgumentError,
        "does not apply to a bias",
        id="orthogonal on a 1-D bias",
    ),
    pytest.param({"scheme": "constant"}, InvalidArgumentError, "constant needs value", id="constant without value"),
    pytest.param(
        {"scheme": "xavier_normal", "std": 0.1},
        InvalidArgumentError,
        "has no argument std",
        id="argument the scheme does not take",
    ),
    pytest.param(
        {"scheme": "kaiming_normal", "nonlinearity": "swish"},
        UnknownNameError,
        "unknown nonlinearity",
        id="unknown nonlinearity",
    ),
    pytest.param(
        {"scheme": "trunc_normal", "mean": 5.0},
        InvalidArgumentError,
        "outside [a, b]",
        id="trunc_normal mean far outside [a, b]",
    ),
    pytest.param({"scheme": "normal", "seed": -1}, InvalidArgumentError, "seed", id="negative seed"),
]


@pytest.mark.parametrize(("arguments", "error", "text"), BAD_INPUTS)
def test_bad_input_is_refused_and_the_model_is_left_as_it_was(arguments, error, text):
    model = small_net()
    before = snapshot(model)
    arguments = dict(arguments)
    scheme = arguments.pop("scheme")
    with pytest.raises(error, match=text.replace("[", r"\[").replace("]", r"\]")):
        apply_init(model, scheme, **arguments)
    with pytest.raises(error):
        init_report(model, scheme, input_size=(2, 3, 6, 6), **arguments)
    assert_unchanged(model, before)


def test_a_1d_tensor_has_no_fans():
    with pytest.raises(InvalidArgumentError, match="at least 2 dimensions"):
        fans((256,))  # a bias


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({"depth": 0}, "depth must be between 1 and 100, got 0"),
        ({"width": 0}, "width must be between 1 and 1024, got 0"),
        ({"activation": "swish"}, "activation must be one of"),
    ],
)
def test_bad_deep_model_options(options, text):
    with pytest.raises(InvalidArgumentError, match=text):
        init_report("deep_mlp", "default", options=options)


def test_unknown_model_and_models_without_layers():
    with pytest.raises(UnknownNameError, match="unknown model"):
        init_report("deep_rnn")
    with pytest.raises(InvalidArgumentError, match="no Linear or Conv"):
        init_report("param_list")


# ── activations and gradients through depth ─────────────────────────────────────────────────


def linear_outputs(report) -> list[float]:
    return [layer.activation_std for layer in report.initialised_layers()]


def test_report_is_reproducible_with_a_seed():
    first = init_report("deep_mlp", "kaiming_uniform", options={"depth": 4, "width": 32}, seed=5)
    again = init_report("deep_mlp", "kaiming_uniform", options={"depth": 4, "width": 32}, seed=5)
    other = init_report("deep_mlp", "kaiming_uniform", options={"depth": 4, "width": 32}, seed=6)
    assert first.to_dict() == again.to_dict()
    assert linear_outputs(first) != linear_outputs(other)


def test_too_small_normal_vanishes_in_a_deep_relu_mlp():
    report = init_report("deep_mlp", "normal", options={"depth": 20, "width": 256}, std=0.01)
    stds = linear_outputs(report)
    assert len(stds) == 20
    # layer 1 sees N(0, 1) inputs: std = √(fan_in·σ²) = √(256·0.01²) = 0.16
    assert stds[0] == pytest.approx(0.16, rel=0.1)
    # each later layer multiplies it by √(fan_in·σ²/2) = √(256·0.0001/2) = 0.1131 (ReLU halves E[x²]);
    # 19 layers: 0.1131^19 = 1.04e−18
    assert all(later < 0.2 * earlier for earlier, later in itertools.pairwise(stds))
    assert 1e-20 < stds[-1] / stds[0] < 1e-16


def test_kaiming_normal_keeps_the_std_in_a_deep_relu_mlp():
    report = init_report("deep_mlp", "kaiming_normal", options={"depth": 20, "width": 256}, nonlinearity="relu")
    stds = linear_outputs(report)
    # Var = fan_in·(2/fan_in)·E[x²] = 2 at every layer (E[x²] = 1 for the input, Var/2 after a ReLU): std = √2
    assert stds[0] == pytest.approx(math.sqrt(2), rel=0.1)
    # a finite width (256) and batch (16) let each layer's std wander: seeds 0–7 stay within 0.57–1.92
    assert all(math.sqrt(2) / 3 < std < 3 * math.sqrt(2) for std in stds)
    gradients = [layer.gradient_norm for layer in report.initialised_layers()]
    assert max(gradients) / min(gradients) < 10


def test_pytorch_default_shrinks_the_signal_in_a_deep_relu_mlp():
    report = init_report("deep_mlp", "default", options={"depth": 20, "width": 256})
    stds = linear_outputs(report)
    # Var(w) = bound²/3 = 1/(3·fan_in): each ReLU layer multiplies Var by fan_in·1/(3·fan_in)·½ = 1/6, until
    # the biases' own std 1/√(3·256) = 0.036 is all that is left
    assert stds[1] / stds[0] < 0.5 and stds[-1] < stds[0] / 5
    gradients = [layer.gradient_norm for layer in report.initialised_layers()]
    assert gradients[0] < gradients[-1] / 100  # and the first layers barely learn


def test_a_large_normal_explodes_and_says_so():
    report = init_report("deep_mlp", "normal", options={"depth": 20, "width": 256})  # std 1, torch's default
    stds = linear_outputs(report)
    # std × √(256·1/2) = 11.3 per layer: 16 at layer 1, 16·11.3^19 ≈ 1e21 at layer 20; the loss overflows
    assert stds[-1] > 1e18
    assert any("exploding" in note for note in report.notes)
    series = depth_series(report, DepthMetric.GRADIENT_NORM)
    assert series.values == (None,) * 20 and len(series.missing) == 20


def test_deep_cnn_and_comparison_with_the_default():
    comparison = compare_with_default(
        "deep_cnn", "kaiming_normal", options={"depth": 4, "channels": 8}, nonlinearity="relu", batch=2, bins=10
    )
    assert [layer.name for layer in comparison.chosen.initialised_layers()] == ["conv1", "conv2", "conv3", "conv4"]
    assert comparison.default.spec.scheme is InitScheme.DEFAULT
    # conv2: weight (8, 8, 3, 3) → fan_in = 8·3·3 = 72, fan_out = 72
    conv2 = comparison.chosen.initialised_layers()[1]
    assert (conv2.fan_in, conv2.fan_out) == (72, 72) and sum(conv2.histogram.counts) == 576  # 8·8·3·3
    assert "kaiming_normal_" in comparison.code
    figure = depth_figure(comparison.chosen, comparison.default, DepthMetric.ACTIVATION_STD)
    assert len(figure.data) == 2 and figure.layout.yaxis.type == "log"
    assert len(histogram_figure(conv2).data) == 2


def test_report_json_fields():
    document = init_report("lenet5", "uniform", a=-0.1, b=0.1, batch=2).to_dict()
    assert document.keys() >= {"model", "scheme", "arguments", "bias", "seed", "input_size", "loss", "layers"}
    first = document["layers"][0]
    assert first.keys() >= {
        "name",
        "type",
        "fan_in",
        "fan_out",
        "theory",
        "weight_mean",
        "weight_std",
        "activation_mean",
        "activation_std",
        "gradient_norm",
    }
    assert first["theory"]["distribution"] == Distribution.UNIFORM and document["input_size"] == [2, 1, 28, 28]
    json.dumps(document, allow_nan=False)


# ── CLI ──────────────────────────────────────────────────────────────────────────────────────


def test_cli_json(capsys):
    status = main(
        [
            "init",
            "deep_mlp",
            "--depth",
            "3",
            "--width",
            "8",
            "--scheme",
            "kaiming_normal",
            "--nonlinearity",
            "relu",
            "--format",
            "json",
        ]
    )
    captured = capsys.readouterr()
    assert status == 0
    document = json.loads(captured.out)
    # 3 × (Linear → ReLU) = 6 leaf layers
    assert [layer["type"] for layer in document["layers"]] == ["Linear", "ReLU"] * 3
    assert document["arguments"] == {"a": 0.0, "mode": "fan_in", "nonlinearity": "relu"}


def test_cli_table(capsys):
    assert main(["init", "deep_cnn", "--depth", "2", "--channels", "4", "--batch", "2"]) == 0
    out = capsys.readouterr().out
    assert "conv1" in out and "bound = 1/√fan_in = 1/√27" in out  # conv1: fan_in = 3·3·3 = 27


@pytest.mark.parametrize(
    "argv",
    [
        ["init", "deep_mlp", "--scheme", "nope"],
        ["init", "deep_mlp", "--scheme", "normal", "--std", "-1"],
        ["init", "deep_mlp", "--depth", "0"],
        ["init", "deep_mlp", "--width", "0"],
        ["init", "deep_mlp", "--scheme", "orthogonal", "--bias", "scheme"],
        ["init", "deep_cnn", "--width", "4"],
        ["init", "deep_mlp", "--format", "csv"],
        ["init", "deep_mlp", "--seed", "x"],
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(capsys, argv):
    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("error: ") and err.count("\n") == 1


def test_errors_are_inspector_errors():
    with pytest.raises(InspectorError):
        make_init_spec("normal", std=float("nan"))
    with pytest.raises(InspectorError):
        apply_init(deep_cnn(1, 1).to("meta"), "default")
    assert isinstance(deep_mlp(2, 4), nn.Sequential)
