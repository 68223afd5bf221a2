"""inspect_layer: the real layer's numbers, and the formulas beside them, against torch."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from inspector import InvalidArgumentError, UnknownNameError
from inspector.lab.inspection import inspect_layer
from inspector.layers.args import normalize_args
from inspector.layers.specs import LAYERS, CallStyle


def real_output_shapes(spec, args, shapes):
    torch.manual_seed(0)
    layer = spec.layer_class(**args).eval()
    make = (lambda s: torch.zeros(s, dtype=torch.long)) if spec.input_dtype == torch.int64 else torch.randn
    inputs = [make(shape) for shape in shapes]
    with torch.no_grad():
        out = layer(*inputs)
    return layer, out


def formula_values(result) -> list[int]:
    """Return the output-size formulas' values, in dimension order (D_out, H_out, W_out)."""
    return [worked.value for _name, worked in result.output_formulas]


def tree(value):
    if isinstance(value, torch.Tensor):
        return list(value.shape)
    return [tree(item) for item in value]


@pytest.mark.parametrize("name", list(LAYERS))
def test_every_layer_default_matches_torch(name):
    spec = LAYERS[name]
    result = inspect_layer(name)
    args = normalize_args(spec.args, {}, name)
    shape = spec.default_input(args)
    shapes = {
        CallStyle.SINGLE: [shape],
        CallStyle.SELF_ATTENTION: [shape] * 3,
        CallStyle.PAIR: [shape, (*shape[:-1], args.get("in2_features", 0))],
    }[spec.call_style]
    layer, out = real_output_shapes(spec, args, shapes)
    assert result.output_shape == tree(out)
    assert result.param_count == sum(p.numel() for p in layer.parameters())
    assert [(t.name, t.shape) for t in result.parameters] == [(n, list(p.shape)) for n, p in layer.named_parameters()]
    assert [(t.name, t.shape) for t in result.buffers] == [(n, list(b.shape)) for n, b in layer.named_buffers()]
    if result.param_formula is not None:  # the formula's value against torch's count, not against ours
        assert result.param_formula.value == sum(p.numel() for p in layer.parameters())
    if result.output_formulas:  # one formula per trailing (spatial) dimension of torch's output
        assert formula_values(result) == list(out.shape)[-len(result.output_formulas) :]
        assert result.formulas_match is True


def test_notes_worked_example():
    # the notes: 8×8 input, kernel (5, 3), padding (2, 1) keeps 8×8
    result = inspect_layer("Conv2d", {"kernel_size": (5, 3), "padding": (2, 1)}, (1, 1, 8, 8))
    assert result.output_shape == list(nn.Conv2d(1, 1, (5, 3), padding=(2, 1))(torch.randn(1, 1, 8, 8)).shape)
    height, width = result.output_formulas
    assert height[0] == "H_out" and height[1].formula == "⌊(8 + 2·2 − 1·(5 − 1) − 1)/1⌋ + 1 = 8"
    assert width[1].value == 8
    assert [s["padding"] for s in result.padding_suggestions] == [2, 1]


def test_linear_weight_and_matmul():
    result = inspect_layer("Linear", {"in_features": 784, "out_features": 256})
    weight = next(t for t in result.parameters if t.name == "weight")
    assert weight.shape == list(nn.Linear(784, 256).weight.shape) == [256, 784]
    assert result.matmul.startswith("(N, 784) · (784, 256) + (256,) → (N, 256)")
    # 784·256 + 256 = 200,960
    assert result.param_formula.value == 200_960


def test_string_arguments_as_from_cli_or_url():
    result = inspect_layer(
        "conv2d", {"in_channels": "3", "kernel_size": "5,3", "padding": "same", "bias": "false"}, (1, 3, 9, 7)
    )
    real = nn.Conv2d(3, 1, (5, 3), padding="same", bias=False)
    assert result.output_shape == list(real(torch.randn(1, 3, 9, 7)).shape)
    assert result.param_count == sum(p.numel() for p in real.parameters())


def test_unbatched_conv_input_is_accepted():
    # since PyTorch 1.11 Conv2d takes (C, H, W): the notes' (1, 28, 28) does not fail
    result = inspect_layer("Conv2d", {"kernel_size": 3}, (1, 28, 28))
    assert result.output_shape == list(nn.Conv2d(1, 1, 3)(torch.randn(1, 28, 28)).shape)
    assert any("unbatched" in note for note in result.notes)


def test_meta_device_layer():
    result = inspect_layer("Linear", {"in_features": 50_000, "out_features": 50_000}, device="meta")
    # 50,000·50,000 + 50,000 = 2,500,050,000 parameters, none allocated
    assert result.param_count == 2_500_050_000
    assert result.device == "meta"


conv_configs = st.fixed_dictionaries(
    {
        "in_channels": st.sampled_from([1, 2, 4, 6]),
        "out_channels": st.sampled_from([2, 4, 6]),
        "kernel_size": st.tuples(st.integers(1, 5), st.integers(1, 5)),
        "stride": st.tuples(st.integers(1, 3), st.integers(1, 3)),
        "padding": st.tuples(st.integers(0, 3), st.integers(0, 3)),
        "dilation": st.tuples(st.integers(1, 3), st.integers(1, 3)),
        "groups": st.sampled_from([1, 2]),
    }
)


@settings(max_examples=120, deadline=None)
@given(args=conv_configs, height=st.integers(1, 16), width=st.integers(1, 16))
def test_conv2d_random_configs_agree_with_torch(args, height, width):
    shape = (1, args["in_channels"], height, width)
    try:
        layer = nn.Conv2d(**args)
        expected = list(layer(torch.randn(shape)).shape)
    except (RuntimeError, ValueError):
        with pytest.raises(InvalidArgumentError):
            inspect_layer("Conv2d", args, shape, device="meta")
        return
    result = inspect_layer("Conv2d", args, shape, device="meta")
    assert result.output_shape == expected
    assert result.param_count == sum(p.numel() for p in layer.parameters())
    assert formula_values(result) == expected[-2:]  # H_out, W_out as torch computed them
    assert result.formulas_match is True


@pytest.mark.parametrize(
    ("layer", "args", "shape", "fragment"),
    [
        ("Conv2d", {"kernel_size": 9}, (1, 1, 4, 4), "padding"),
        ("Conv2d", {"in_channels": 4, "groups": 3}, None, "divisible"),
        ("Conv2d", {"padding": "same", "stride": 2}, None, "same"),
        ("Conv2d", {"kernel_size": 0}, None, "kernel_size"),
        ("Conv2d", {"in_channels": -3}, None, "in_channels"),
        ("Conv2d", {"bogus": 1}, None, "no argument"),
        ("Linear", {"in_features": "many"}, None, "whole number"),
        ("Linear", {}, (0, 784), "between 1"),
        ("MaxPool2d", {"kernel_size": 2, "padding": 2}, None, "half"),
        ("MultiheadAttention", {"embed_dim": 10, "num_heads": 3}, None, "divisible"),
        ("Dropout", {"p": float("nan")}, None, "finite"),
        ("Dropout", {"p": 1.5}, None, "between"),
        ("Linear", {"in_features": 10**6}, None, "between 1 and 65,536"),
    ],
)
def test_bad_settings_are_clear_errors(layer, args, shape, fragment):
    with pytest.raises(InvalidArgumentError) as caught:
        inspect_layer(layer, args, shape)
    assert fragment in str(caught.value)


def test_unknown_layer_suggests():
    with pytest.raises(UnknownNameError) as caught:
        inspect_layer("Conv2D_", {})
    assert "Conv2d" in str(caught.value)


def test_memory_guard_refuses_before_allocating():
    from inspector.core.memory_guard import DEFAULT_SHARE, free_memory

    # 60,000·60,000 + 60,000 parameters · 4 bytes ≈ 14.4 GB
    needed = (60_000 * 60_000 + 60_000) * 4
    free = free_memory(torch.device("cpu"))
    if free is None or needed <= DEFAULT_SHARE * free:
        pytest.skip("this machine has room for the layer; the guard has nothing to refuse")
    with pytest.raises(InvalidArgumentError) as caught:
        inspect_layer("Linear", {"in_features": 60_000, "out_features": 60_000})
    assert "meta" in str(caught.value)


@pytest.mark.parametrize("name", list(LAYERS))
def test_defaults_are_torchs_own(name):
    """Leaving an argument out means what it means in torch (flags are named after torch's)."""
    import inspect as pyinspect

    spec = LAYERS[name]
    parameters = {}
    for cls in spec.layer_class.__mro__:  # LSTM/GRU take *args: their defaults live on RNNBase
        if "__init__" in vars(cls):
            for key, value in pyinspect.signature(cls.__init__).parameters.items():
                parameters.setdefault(key, value)
    # Softmax(dim=None) picks a dimension implicitly and is deprecated: -1 is what the docs advise
    allowed = {("Softmax", "dim")}
    for arg in spec.args:
        if arg.name not in parameters:  # RNN takes nonlinearity through **kwargs ('tanh', checked below)
            continue
        default = parameters[arg.name].default
        if default is pyinspect.Parameter.empty or (name, arg.name) in allowed:
            continue
        # TransformerEncoderLayer's default activation is the function F.relu, spelled 'relu'
        assert arg.default == (default.__name__ if callable(default) else default), (name, arg.name)
    if name == "RNN":
        assert nn.RNN(2, 3).nonlinearity == spec.arg("nonlinearity").default


def test_memory_budget_is_configurable(monkeypatch):
    from inspector.core.memory_guard import budget_share, free_memory

    free = free_memory(torch.device("cpu"))
    if free is None:
        pytest.skip("free memory cannot be read on this machine")
    # a Linear(4096, 4096) needs 4096·4096 + 4096 parameters · 4 bytes ≈ 64 MiB
    monkeypatch.setenv("INSPECTOR_MEMORY_SHARE", str(32 * 2**20 / free))
    with pytest.raises(InvalidArgumentError, match="meta"):
        inspect_layer("Linear", {"in_features": 4096, "out_features": 4096})
    for bad in ("0", "-1", "2", "nan", "half"):
        monkeypatch.setenv("INSPECTOR_MEMORY_SHARE", bad)
        assert budget_share() == 0.5  # ignored: the guard stays on
