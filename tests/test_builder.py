"""The Model Builder's engine: specs and their round trips, propagation, templates, and code out → code in."""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from inspector.builder.build import StepStatus, build_network, fit_new_layer, module_names, propagate
from inspector.builder.charts import builder_flow_figure, flow_points
from inspector.builder.code import generate_code
from inspector.builder.templates import TEMPLATES, alexnet_spec, lenet5_spec, mlp_spec, template_spec
from inspector.core.errors import InspectorError, InvalidArgumentError
from inspector.core.flops import EXTRA_FORMULAS
from inspector.core.i18n import t
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


@dataclass(frozen=True)
class TorchLayer:
    """What torch says of one top-level layer of a real network: its output, parameters and FLOPs."""

    output_shape: tuple[int, ...]
    params: int
    flops: int


def first_tensor(value: object) -> torch.Tensor:
    while isinstance(value, (tuple, list)):
        value = value[0]
    return value


def record_child_outputs(model: nn.Module) -> tuple[dict[str, tuple[int, ...]], list]:
    """Hook each child to note its (first) output tensor's shape; return the notes and the hook handles."""
    shapes: dict[str, tuple[int, ...]] = {}
    handles = []
    for name, child in model.named_children():

        def record(_module: nn.Module, _inputs: object, output: object, name: str = name) -> None:
            shapes.setdefault(name, tuple(first_tensor(output).shape))

        handles.append(child.register_forward_hook(record))
    return shapes, handles


def torch_layers(model: nn.Module, spec: NetworkSpec) -> tuple[list[TorchLayer], int]:
    """Return torch's numbers per child of `model`, in order, for one forward of the spec's input; and total FLOPs.

    Shapes from forward hooks (a layer returning a tuple: its first tensor), parameters from
    numel(), FLOPs from FlopCounterMode's per-module table (attention unfused, as inspection runs it).
    """
    device = next(model.parameters()).device
    tokens = spec.input_dtype == "int64"
    x = torch.zeros(spec.input_shape, dtype=torch.long) if tokens else torch.randn(spec.input_shape)
    x = x.to(device)
    shapes, handles = record_child_outputs(model)
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with FlopCounterMode(display=False, custom_mapping=EXTRA_FORMULAS) as counter, torch.no_grad():
            model.eval()(x)
    finally:
        torch.backends.mha.set_fastpath_enabled(True)
        for handle in handles:
            handle.remove()
    flops = {key: sum(ops.values()) for key, ops in counter.get_flop_counts().items()}
    root = type(model).__name__
    layers = [
        TorchLayer(shapes[name], sum(p.numel() for p in child.parameters()), flops.get(f"{root}.{name}", 0))
        for name, child in model.named_children()
    ]
    return layers, flops["Global"]


def step_numbers(result) -> list[TorchLayer]:
    return [TorchLayer(step.output_shape, step.params, step.flops) for step in result.steps]


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
        zoo = ZOO["alexnet"].build()
        with FlopCounterMode(display=False) as counter:
            zoo(torch.randn(1, 3, 224, 224))
    # torchvision's published AlexNet count (tests/test_zoo.py)
    assert result.total_params == sum(p.numel() for p in zoo.parameters()) == 61_100_840
    assert result.flops == counter.get_total_flops() == 2 * 714_188_480  # 2 FLOPs per multiply-add


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_lenet_steps_are_torchs_numbers(device):
    result = propagate(lenet5_spec(), device)
    truth, total_flops = torch_layers(build_network(lenet5_spec(), "cpu"), lenet5_spec())
    assert result.device == device
    assert step_numbers(result) == truth
    assert result.flops == total_flops


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_gives_torchs_numbers_and_finds_the_same_misfit():
    cuda = propagate(lenet5_spec(), "cuda")
    assert cuda.device == "cuda:0" and cuda.fits
    assert step_numbers(cuda) == torch_layers(build_network(lenet5_spec(), "cpu"), lenet5_spec())[0]
    # layers[16] is Linear(4096, 4096), reached by 256·6·6 = 9,216 features
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


def assert_propagation_is_torchs(model: nn.Module, spec: NetworkSpec, device: str) -> None:
    """The builder's numbers for `spec` are what torch gives for `model` (the generated code, executed)."""
    result = propagate(spec, device)
    truth, total_flops = torch_layers(model, spec)
    assert result.total_params == sum(p.numel() for p in model.parameters())
    assert result.flops == total_flops
    assert step_numbers(result) == truth


@pytest.mark.parametrize("style", ["sequential", "module"])
@pytest.mark.parametrize("name", ["mlp", "lenet5", "alexnet"])
def test_generated_code_builds_the_same_network(name, style):
    spec = template_spec(name)
    device = "meta" if name == "alexnet" else "cpu"  # meta: 61M parameters without allocating them
    code = generate_code(spec, style, propagate(spec, device))
    with torch.device(device):
        model = execute(code)
    assert_propagation_is_torchs(model, spec, device)
    assert ("class Network(nn.Module)" in code) == (style == "module")


@pytest.mark.parametrize(
    ("spec", "call"),
    [(RECURRENT, "x, _ = self.lstm1(x)"), (TOKENS, "x = self.embedding1(x)")],
    ids=["recurrent-attention-bilinear", "tokens"],
)
def test_generated_module_for_layers_that_take_or_return_several_tensors(spec, call):
    code = generate_code(spec, "module")
    assert call in code  # the LSTM's (output, state) is unpacked; token ids go straight into the embedding
    with torch.device("meta"):
        model = execute(code)
    assert_propagation_is_torchs(model, spec, "meta")


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
    assert len(token) < 1_000  # every template's link stays short (AlexNet's 22 layers: under 500 characters)


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
    # the remaining layers keep their types, arguments and names (sigmoid1 stays sigmoid1)
    kept = without_layer(spec, 0).layers
    assert [(e.type, e.args) for e in kept] == [(e.type, e.args) for e in spec.layers[1:]]
    assert [e.name for e in kept] == module_names(spec)[1:]
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
    assert points[15].elements == 9_216  # 256 · 6 · 6 after Flatten (the input is point 0, layer i is point i + 1)
    assert points[17].status is StepStatus.FAILED and points[17].shape == (1, 9216)
    assert points[-1].running_params is None  # not reached
    figure = builder_flow_figure(result)
    assert (
        len(figure.data) == 2
        and figure.layout.annotations[0].text == t("builder.chart.fails_here", "en") == "does not fit"
    )
