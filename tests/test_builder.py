"""The Model Builder's engine: specs and their round trips, propagation, templates, and code out → code in."""

from __future__ import annotations

import base64
import json
import zlib

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.builder.build import StepStatus, build_network, fit_new_layer, propagate
from inspector.builder.charts import builder_flow_figure, flow_points
from inspector.builder.code import generate_code
from inspector.builder.templates import TEMPLATES, alexnet_spec, lenet5_spec, mlp_spec, template_spec
from inspector.core.errors import InspectorError, InvalidArgumentError
from inspector.core.report import ModelReport
from inspector.layers.network_spec import (
    MAX_LAYERS,
    MAX_SPEC_BYTES,
    MAX_URL_TOKEN_CHARS,
    NetworkSpec,
    from_url_token,
    layer_entry,
    to_url_token,
    with_args,
    with_layer,
    with_layer_moved,
    without_layer,
)
from inspector.layers.specs import LAYERS
from inspector.model.inspection import inspect_model
from models import ZOO

RECURRENT = NetworkSpec((1, 5, 10), (
    layer_entry("LSTM", input_size=10, hidden_size=20, batch_first=True),
    layer_entry("Linear", in_features=20, out_features=8),
    layer_entry("MultiheadAttention", embed_dim=8, num_heads=2, batch_first=True),
    layer_entry("Bilinear", in1_features=8, in2_features=8, out_features=4),
))  # fmt: skip
TOKENS = NetworkSpec((2, 7), (
    layer_entry("Embedding", num_embeddings=50, embedding_dim=16),
    layer_entry("TransformerEncoderLayer", d_model=16, nhead=4, dim_feedforward=32, batch_first=True),
    layer_entry("LayerNorm", normalized_shape=(16,)),
), input_dtype="int64")  # fmt: skip


# ── Templates and propagation ──────────────────────────────────────────────────────────────────────


def test_the_notes_mlp():
    result = propagate(mlp_spec(), "cpu")
    assert [step.type for step in result.steps] == ["Flatten", "Linear", "ReLU", "Linear"]
    assert result.steps[1].input_shape == (1, 784)  # 1 · 28 · 28 = 784
    assert result.steps[1].output_shape == (1, 256)  # the hidden layer gives 256, not 784 (the notes' erratum)
    assert result.steps[1].params == 200_960  # 784 · 256 + 256
    assert result.total_params == 203_530  # 200,960 + 256 · 10 + 10
    assert mlp_spec((1, 784)).layers[0].type == "Linear"  # a flat input needs no Flatten


def test_lenet_steps_and_running_count():
    result = propagate(lenet5_spec(), "cpu")
    assert result.fits and result.output_shape == (1, 10)
    assert [step.output_shape for step in result.steps[:7]] == [
        (1, 6, 28, 28),  # 28 + 2·2 − 5 + 1 = 28
        (1, 6, 28, 28),
        (1, 6, 14, 14),  # 28 / 2
        (1, 16, 10, 10),  # 14 − 5 + 1 = 10
        (1, 16, 10, 10),
        (1, 16, 5, 5),
        (1, 400),  # 16 · 5 · 5 = 400
    ]
    running = [step.running_params for step in result.steps]
    assert running[0] == 156  # 6 · 1 · 5 · 5 + 6
    assert running[3] == 2_572  # 156 + 16 · 6 · 5 · 5 + 16 = 156 + 2,416
    assert running[-1] == result.total_params == 61_706  # 2,572 + 48,120 + 10,164 + 850
    assert running == sorted(running)


def test_alexnet_matches_the_zoo_model():
    result = propagate(alexnet_spec(), "meta")
    with torch.device("meta"):
        zoo = inspect_model(ZOO["alexnet"].build(), input_size=(1, 3, 224, 224), device="meta")
    assert result.total_params == zoo.total_params == 61_100_840
    assert result.flops == zoo.flops  # 2 · 714,188,480 MACs


def test_meta_and_cpu_agree():
    cpu, meta = propagate(lenet5_spec(), "cpu"), propagate(lenet5_spec(), "meta")
    assert [(s.output_shape, s.params, s.flops) for s in cpu.steps] == [
        (s.output_shape, s.params, s.flops) for s in meta.steps
    ]
    assert meta.device == "meta" and cpu.device == "cpu"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_agrees_with_cpu_and_finds_the_same_misfit():
    cpu, cuda = propagate(lenet5_spec(), "cpu"), propagate(lenet5_spec(), "cuda")
    assert cuda.device == "cuda:0" and cuda.fits
    assert [(s.output_shape, s.params, s.flops) for s in cuda.steps] == [
        (s.output_shape, s.params, s.flops) for s in cpu.steps
    ]
    assert propagate(template_spec("alexnet_mistake"), "cuda").diagnosis.layer_index == 16


def test_failure_stops_the_run_and_later_layers_are_not_reached():
    result = propagate(template_spec("alexnet_mistake"), "meta")
    statuses = [step.status for step in result.steps]
    assert statuses[:16] == [StepStatus.OK] * 16 and statuses[16] is StepStatus.FAILED
    assert set(statuses[17:]) == {StepStatus.NOT_REACHED}
    assert result.output_shape == (1, 9216)  # the last layer that ran: Flatten of 256 · 6 · 6
    assert json.loads(json.dumps(result.to_dict()))["diagnosis"]["layer_index"] == 16


def test_a_layer_torch_refuses_to_build_is_the_failing_one():
    spec = NetworkSpec((1, 6, 8, 8), (layer_entry("Conv2d", in_channels=6, out_channels=4, kernel_size=3, groups=3),))
    result = propagate(spec, "meta")
    assert not result.fits and "torch refused" in result.diagnosis.reason  # 4 output channels in 3 groups


def test_dtype_and_token_input():
    result = propagate(TOKENS, "cpu", "float64")
    assert result.fits and result.dtype == "float64" and result.output_shape == (2, 7, 16)


def test_fit_new_layer_sets_the_sizes_that_arrive():
    lenet = lenet5_spec()
    spec = fit_new_layer(lenet, 7, "Linear")  # right after Flatten
    assert spec.layers[7].args["in_features"] == 400  # 16 · 5 · 5
    spec = fit_new_layer(lenet, 4, "BatchNorm2d")  # after the second convolution
    assert spec.layers[4].args["num_features"] == 16
    assert propagate(spec, "meta").fits


# ── Code out, code in ──────────────────────────────────────────────────────────────────────────────


def execute(code: str) -> torch.nn.Module:
    namespace: dict[str, object] = {}
    exec(compile(code, "<generated>", "exec"), namespace)  # a fresh namespace: the code imports torch and nn itself
    return namespace["model"]


def first_tensor_shape(tree: object) -> tuple[int, ...]:
    while isinstance(tree, list) and tree and not isinstance(tree[0], int):
        tree = tree[0]
    return tuple(tree)


def assert_same_numbers(report: ModelReport, spec: NetworkSpec, device: str) -> None:
    result = propagate(spec, device)
    layers = [layer for layer in report.layers if layer.depth == 1]
    assert report.total_params == result.total_params
    assert report.flops == result.flops
    assert [first_tensor_shape(layer.output_shape) for layer in layers] == [s.output_shape for s in result.steps]
    assert [layer.flops for layer in layers] == [s.flops for s in result.steps]
    assert [layer.params_total for layer in layers] == [s.params for s in result.steps]


@pytest.mark.parametrize("style", ["sequential", "module"])
@pytest.mark.parametrize("name", ["mlp", "lenet5", "alexnet"])
def test_generated_code_builds_the_same_network(name, style):
    spec = template_spec(name)
    device = "meta" if name == "alexnet" else "cpu"  # meta: 61M parameters without allocating them
    code = generate_code(spec, style, propagate(spec, device))
    with torch.device(device):
        model = execute(code)
    report = inspect_model(model, input_size=spec.input_shape, device=device)
    assert_same_numbers(report, spec, device)
    assert ("class Network(nn.Module)" in code) == (style == "module")


@pytest.mark.parametrize("spec", [RECURRENT, TOKENS], ids=["recurrent-attention-bilinear", "tokens"])
def test_generated_module_for_layers_that_take_or_return_several_tensors(spec):
    code = generate_code(spec, "module")
    assert "x, _ = self.lstm1(x)" in code or "self.embedding1(x)" in code
    report = inspect_model(execute(code), input_size=spec.input_shape, input_dtype=spec.input_dtype, device="meta")
    assert_same_numbers(report, spec, "meta")


def test_sequential_refuses_layers_it_cannot_chain():
    with pytest.raises(InvalidArgumentError, match=r"layers\[0\] \(LSTM\).*returns a tuple"):
        generate_code(RECURRENT, "sequential")
    with pytest.raises(InspectorError, match="unknown code style"):
        generate_code(RECURRENT, "functional")


def test_build_network_names_layers_as_the_module_code_does():
    names = [name for name, _ in build_network(lenet5_spec(), "meta").named_children()]
    assert names[:4] == ["conv2d1", "sigmoid1", "avgpool2d1", "conv2d2"]
    assert f"self.{names[-1]} = nn.Linear" in generate_code(lenet5_spec(), "module")


# ── Spec documents: round trips and refusals ───────────────────────────────────────────────────────


def test_spec_document_format():
    data = json.loads(template_spec("lenet5").to_json())
    assert data["version"] == 1 and data["input_shape"] == [1, 1, 28, 28]
    assert data["layers"][0] == {"type": "Conv2d", "args": {
        "in_channels": 1, "out_channels": 6, "kernel_size": 5, "stride": 1, "padding": 2, "groups": 1,
        "bias": True, "dilation": 1}}  # fmt: skip
    assert "input_dtype" not in data and json.loads(TOKENS.to_json())["input_dtype"] == "int64"


def test_partial_args_are_defaulted_and_names_normalized():
    spec = NetworkSpec.from_dict(
        {
            "version": 1,
            "input_shape": [1, 3, 8, 8],
            "layers": [{"type": "nn.conv2d", "args": {"in_channels": 3, "kernel_size": "5,3"}}],
        }
    )
    assert spec.layers[0].type == "Conv2d" and spec.layers[0].args["kernel_size"] == (5, 3)


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_templates_round_trip_through_json_and_url(name):
    spec = template_spec(name)
    assert NetworkSpec.from_json(spec.to_json()) == spec
    token = to_url_token(spec)
    assert from_url_token(token) == spec
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(token) < 1_000 or name.startswith("alexnet")


@st.composite
def specs(draw) -> NetworkSpec:
    layers = []
    for _ in range(draw(st.integers(0, 6))):
        spec = LAYERS[draw(st.sampled_from(sorted(LAYERS)))]
        args = {
            arg.name: draw(st.integers(int(arg.minimum), min(int(arg.maximum), 4096)))
            for arg in spec.args
            if arg.kind == "int" and arg.minimum is not None
        }
        layers.append(layer_entry(spec.name, **args))
    shape = tuple(draw(st.lists(st.integers(1, 512), min_size=1, max_size=5)))
    return NetworkSpec(shape, tuple(layers), draw(st.sampled_from(["float32", "int64"])))


@settings(max_examples=60, deadline=None)
@given(spec=specs())
def test_any_spec_round_trips(spec):
    assert NetworkSpec.from_json(spec.to_json()) == spec
    assert NetworkSpec.from_json(spec.to_json(indent=None)) == spec
    assert from_url_token(to_url_token(spec)) == spec


def token_of(text: str) -> str:
    return base64.urlsafe_b64encode(zlib.compress(text.encode())).decode().rstrip("=")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        # the text is 49 characters long, so the missing value is at column 50
        ('{"version": 1, "input_shape": [1, 4], "layers": [', r"not valid JSON \(line 1, column 50\): Expecting value"),
        ('{"version": 2, "input_shape": [1, 4], "layers": []}', "version: this builder reads version 1, got 2"),
        ('{"input_shape": [1, 4], "layers": []}', "got None"),
        (
            '{"version": 1, "input_shape": [1, 4], "layers": [{"type": "ReLU"}, {"type": "Conv2"}]}',
            r"layers\[1\]: unknown layer type 'Conv2' — did you mean Conv2d",
        ),
        (
            '{"version": 1, "input_shape": [1, 4], "layers": [{"type": "Conv2d", "args": {"kernel_size": 0}}]}',
            r"layers\[0\] \(Conv2d\): kernel_size must be between 1 and 1,024, got 0",
        ),
        (
            '{"version": 1, "input_shape": [1, 4], "layers": [{"type": "Linear", "args": {"in_feature": 3}}]}',
            r"layers\[0\] \(Linear\): Linear has no argument in_feature",
        ),
        (
            '{"version": 1, "input_shape": [1, 4], "layers": [{"type": "Linear", "args": [3]}]}',
            r"layers\[0\] \(Linear\): args must be an object",
        ),
        ('{"version": 1, "input_shape": [1, 4], "layers": ["ReLU"]}', r"layers\[0\] must be an object"),
        ('{"version": 1, "input_shape": [1, 0], "layers": []}', "input_shape: .*between 1 and"),
        ('{"version": 1, "input_shape": "1,4", "layers": []}', "input_shape must be a list"),
        ('{"version": 1, "input_shape": [1, 4], "input_dtype": "complex", "layers": []}', "input_dtype: unknown"),
        ('{"version": 1, "input_shape": [1, 4], "layers": [], "extra": 1}', "unknown key 'extra'"),
        ("[1, 2]", "must be a JSON object"),
    ],
    ids=[
        "bad-json",
        "version",
        "no-version",
        "unknown-type",
        "out-of-range",
        "unknown-arg",
        "args-list",
        "layer-string",
        "zero-dim",
        "shape-string",
        "dtype",
        "extra-key",
        "not-object",
    ],
)
def test_malformed_specs_are_refused_naming_the_entry(document, message):
    with pytest.raises(InvalidArgumentError, match=message):
        NetworkSpec.from_json(document)
    with pytest.raises(InvalidArgumentError, match=message):
        from_url_token(token_of(document))


def test_huge_specs_are_refused():
    relu = '{"type": "ReLU", "args": {}}'
    many = '{"version": 1, "input_shape": [1, 4], "layers": [' + ", ".join([relu] * (MAX_LAYERS + 1)) + "]}"
    with pytest.raises(InvalidArgumentError, match=f"{MAX_LAYERS + 1} layers; the limit is {MAX_LAYERS}"):
        NetworkSpec.from_json(many)
    padded = '{"version": 1, "input_shape": [1, 4], "layers": []}' + " " * MAX_SPEC_BYTES
    with pytest.raises(InvalidArgumentError, match="bytes; the limit is"):
        NetworkSpec.from_json(padded)
    bomb = token_of(padded + " " * 20 * MAX_SPEC_BYTES)  # 21 · 256 KiB ≈ 5.5 MB of spaces
    assert len(bomb) < MAX_URL_TOKEN_CHARS  # short enough to be read, so inflating must stop early
    with pytest.raises(InvalidArgumentError, match="inflates past"):
        from_url_token(bomb)
    with pytest.raises(InvalidArgumentError, match="not a valid spec token"):
        from_url_token("not*base64")


def test_edits_return_new_specs_and_refuse_naming_the_layer():
    spec = lenet5_spec()
    assert with_layer(spec, 0, layer_entry("ReLU")).layers[0].type == "ReLU"
    assert without_layer(spec, 0).layers == spec.layers[1:]
    moved = with_layer_moved(spec, 0, 1)
    assert [e.type for e in moved.layers[:2]] == ["Sigmoid", "Conv2d"]
    assert with_layer_moved(spec, 0, -5) == spec  # clamped at the top
    assert with_args(spec, 7, {"out_features": "64"}).layers[7].args["out_features"] == 64
    with pytest.raises(InvalidArgumentError, match=r"layers\[7\] \(Linear\): out_features must be"):
        with_args(spec, 7, {"out_features": 0})
    with pytest.raises(InvalidArgumentError, match="out of range"):
        without_layer(spec, 12)


# ── The shape-flow chart ───────────────────────────────────────────────────────────────────────────


def test_flow_points_and_figure_mark_the_failing_layer():
    result = propagate(template_spec("alexnet_mistake"), "meta")
    points = flow_points(result)
    assert points[0].elements == 150_528  # 3 · 224 · 224
    assert points[15].elements == 9_216  # after Flatten (the input is point 0, layer i is point i + 1)
    assert points[17].status is StepStatus.FAILED and points[17].shape == (1, 9216)
    assert points[-1].running_params is None  # not reached
    figure = builder_flow_figure(result)
    assert len(figure.data) == 2 and figure.layout.annotations[0].text == "✗ does not fit"
