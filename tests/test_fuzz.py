"""Hostile and random input to every public entry point: a correct answer or an InspectorError.

Each property counts the cases hypothesis generated; `fuzz_count.txt` in the `artifacts_dir`
fixture's folder (a tmp dir; `--artifacts-to DIR` keeps it) gets the total at the end of the module
(the README quotes it). Anything other than InspectorError — a
ValueError from torch, a TypeError, an IndexError — fails the test: the user would see a crash.
"""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from inspector import InspectorError, inspect_model
from inspector.cli import main
from inspector.core.devices import resolve_device
from inspector.core.dtypes import resolve_dtype
from inspector.core.shapes import parse_size, parse_sizes
from inspector.lab.inspection import inspect_layer
from inspector.layers.output_size import conv_output_shape, conv_transpose_output_shape
from inspector.layers.padding import padding_for_target, same_padding
from inspector.layers.param_formulas import conv_params, linear_params
from inspector.layers.pool_size import pool_output_shape
from inspector.layers.receptive_field import WindowSpec, input_window, receptive_field
from inspector.layers.sequence_params import multihead_attention_params, rnn_params
from inspector.layers.specs import LAYERS
from inspector.model.zoo import inspect_named_model

CASES: Counter[str] = Counter()


def fuzz(examples: int) -> settings:
    """Settings for a fuzz property: `examples` cases, no deadline (torch's first calls are slow)."""
    return settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)


# What a hostile user types: huge, zero, negative, NaN, wrong types, odd strings.
hostile_scalars = st.one_of(
    st.integers(-(2**63), 2**63),
    st.sampled_from([0, -1, 1, 2, 3, 2**31, 2**62, 10**12]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=12),
    st.sampled_from(["same", "valid", "", "  3 ", "1,2", "nan", "inf", "-0", "3x3", "ä", "\x00", "1e9"]),
)
hostile = st.one_of(
    hostile_scalars, st.lists(hostile_scalars, max_size=4).map(tuple), st.lists(hostile_scalars, max_size=3)
)
small_ints = st.integers(-3, 40)
sizes = st.one_of(small_ints, st.tuples(small_ints, small_ints), hostile)


def expect_clean(call, *args, **kwargs):
    """Run `call`; only a result or an InspectorError (with a message) are allowed."""
    try:
        return call(*args, **kwargs)
    except InspectorError as error:
        assert str(error).strip()
        return None


def counted(name: str):
    CASES[name] += 1


@fuzz(1500)
@given(
    spatial=st.one_of(st.tuples(small_ints, small_ints), hostile),
    kernel=sizes,
    stride=sizes,
    padding=sizes,
    dilation=sizes,
)
def test_output_size_functions(spatial, kernel, stride, padding, dilation):
    counted("output sizes")
    for call in (
        lambda: conv_output_shape(spatial, kernel, stride, padding, dilation, ndim=2),
        lambda: conv_transpose_output_shape(spatial, kernel, stride, padding, 0, dilation, ndim=2),
        lambda: pool_output_shape("max", spatial, kernel, stride, padding, dilation, False, ndim=2),
        lambda: pool_output_shape("avg", spatial, kernel, stride, padding, 1, True, ndim=2),
    ):
        result = expect_clean(call)
        if result is not None:
            assert all(item.value >= 1 for item in result)


@fuzz(1000)
@given(
    kernel=hostile | small_ints,
    stride=hostile | small_ints,
    dilation=hostile | small_ints,
    size=hostile | small_ints,
    target=hostile | small_ints,
)
def test_padding_solver(kernel, stride, dilation, size, target):
    counted("padding solver")
    expect_clean(same_padding, kernel, stride, dilation, size if isinstance(size, int) else None)
    expect_clean(padding_for_target, size, target, kernel, stride, dilation)


@fuzz(1000)
@given(a=hostile | small_ints, b=hostile | small_ints, c=hostile | small_ints, flag=hostile)
def test_parameter_formulas(a, b, c, flag):
    counted("parameter formulas")
    for call in (
        lambda: linear_params(a, b, flag),
        lambda: conv_params(a, b, c, 1, True),
        lambda: rnn_params("LSTM", a, b, c),
        lambda: multihead_attention_params(a, b),
    ):
        result = expect_clean(call)
        if result is not None:
            assert result.value >= 0


@fuzz(800)
@given(
    kernel=hostile | small_ints, stride=hostile | small_ints, padding=hostile | small_ints, index=hostile | small_ints
)
def test_receptive_field(kernel, stride, padding, index):
    counted("receptive field")
    expect_clean(lambda: receptive_field([WindowSpec("layer", kernel, stride, padding)]))
    expect_clean(input_window, index, kernel, stride, padding, 1, 8)


@fuzz(2000)
@given(text=st.one_of(st.text(max_size=30), st.from_regex(r"[0-9x,; ()\-]{0,25}", fullmatch=True)), other=hostile)
def test_parsers(text, other):
    counted("parsers")
    for value in (text, other):
        expect_clean(parse_size, value)
        expect_clean(parse_sizes, value)
        expect_clean(resolve_dtype, value)
        expect_clean(resolve_device, value)


@fuzz(2000)
@given(layer=st.sampled_from(sorted(LAYERS)) | st.text(max_size=10), data=st.data())
def test_inspect_layer_with_hostile_arguments(layer, data):
    counted("inspect_layer")
    spec = LAYERS.get(layer)
    names = [arg.name for arg in spec.args] if spec else ["x"]
    chosen = data.draw(st.lists(st.sampled_from([*names, "bogus"]), max_size=3, unique=True))
    args = {name: data.draw(hostile | small_ints) for name in chosen}
    shape = data.draw(st.none() | st.lists(st.integers(-2, 12), min_size=1, max_size=5).map(tuple) | hostile)
    result = expect_clean(inspect_layer, layer, args, shape, "meta")
    if result is not None:
        assert result.param_count >= 0


class Small(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x).mean(dim=(-1, -2)))


@fuzz(1000)
@given(
    size=st.lists(st.integers(-1, 9), min_size=0, max_size=5).map(tuple) | hostile,
    device=st.sampled_from(["cpu", "meta", "cuda:5", "mps", "tpu", ""]) | hostile_scalars,
    dtype=st.sampled_from([None, "float32", "bf16", "int8"]) | hostile_scalars,
    mode=st.sampled_from(["eval", "train"]) | hostile_scalars,
)
def test_inspect_model_with_hostile_inputs(size, device, dtype, mode):
    counted("inspect_model")
    model = Small()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    expect_clean(inspect_model, model, size, None, device, dtype, mode=mode)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert model.training


@fuzz(500)
@given(
    name=st.sampled_from(["mlp", "lenet5", "param_list", "gpt", "alexnet", "nope", "a:b", ":", "os:system"])
    | st.text(max_size=10),
    option=st.sampled_from(["num_classes", "in_features", "n_layer", "preset", "image_size", "activation", "zzz"]),
    value=hostile | small_ints,
)
def test_named_models_with_hostile_options(name, option, value):
    counted("inspect_named_model")
    expect_clean(inspect_named_model, name, {option: value}, None, "meta")


FLAGS = [
    "--input-size",
    "--device",
    "--dtype",
    "--format",
    "--depth",
    "--kwargs",
    "--kernel-size",
    "--padding",
    "--in-channels",
    "--stride",
    "--mode",
]


@fuzz(1500)
@given(
    command=st.sampled_from(
        [
            "model",
            "layer",
            "zoo",
            "devices",
            "layers",
            "checkpoint",
            "init",
            "build",
            "memory",
            "train-step",
            "nonsense",
        ]
    ),
    target=st.sampled_from(["mlp", "Conv2d", "Linear", "lenet5", "x", "/nonexistent.pt", ""]),
    pairs=st.lists(st.tuples(st.sampled_from(FLAGS), hostile_scalars.map(str)), max_size=3),
)
def test_cli_with_hostile_argv(command, target, pairs, capsys):
    counted("cli")
    argv = [command, target] + [item for pair in pairs for item in pair]
    if command in ("train-step",):
        argv += ["--device", "meta"]
    status = main(argv)
    captured = capsys.readouterr()
    assert status in (0, 2)
    if status == 2:
        assert len(captured.err.strip().splitlines()) == 1 and captured.err.startswith("error: ")


COMMANDS = ["model", "layer", "zoo", "devices", "layers", "checkpoint", "init", "build", "memory", "train-step"]
# Past every bound the CLI checks before parsing (inspector/core/bounds.py): numbers longer than
# int() takes (4,300 digits), JSON deeper than json.loads recurses (~1,000), paths past PATH_MAX.
oversized = st.one_of(
    st.integers(30, 6000).map(lambda n: "9" * n),
    st.integers(30, 6000).map(lambda n: "1,3," + "7" * n),
    st.integers(1, 6000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 1500).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.integers(250, 6000).map(lambda n: "/tmp/" + "a" * n + ".pt"),
)


@fuzz(400)
@given(
    command=st.sampled_from(COMMANDS),
    target=st.sampled_from(["mlp", "Conv2d", "lenet5", "cnn"]) | oversized,
    flag=st.sampled_from([*FLAGS, "--against", "--lang"]),
    value=oversized,
    joined=st.booleans(),
)
def test_cli_with_oversized_arguments(command, target, flag, value, joined, capsys):
    counted("cli oversized")
    argv = [command, target, f"{flag}={value}"] if joined else [command, target, flag, value]
    if command == "train-step":
        argv += ["--device", "meta"]
    status = main(argv)
    captured = capsys.readouterr()
    assert status in (0, 2), captured.err  # 3 would be an internal error: a bug
    if status == 2:
        assert len(captured.err.strip().splitlines()) == 1 and captured.err.startswith("error: ")
        assert "Traceback" not in captured.err and len(captured.err) < 2000  # values echoed shortened


@pytest.fixture(scope="module", autouse=True)
def write_count(artifacts_dir):
    yield
    total = sum(CASES.values())
    lines = [f"{name}: {count}" for name, count in sorted(CASES.items())] + [f"total: {total}"]
    (artifacts_dir / "fuzz_count.txt").write_text("\n".join(lines) + "\n")
    print(f"\nfuzz cases generated: {total}")
