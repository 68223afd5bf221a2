"""inspect_model against what PyTorch itself reports for the same model and input."""

from __future__ import annotations

import pytest
import torch
from conftest import assert_same_state, model_state
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from inspector import DeviceUnavailableError, ForwardError, InvalidArgumentError, inspect_model
from inspector.core.devices import available_devices
from inspector.core.flops import EXTRA_FORMULAS
from models import ZOO


def torch_flops(model: nn.Module, *inputs: torch.Tensor) -> dict[str, int]:
    """FlopCounterMode's own per-module totals, keyed like its table ('Global', 'MLP.hidden').

    With the attention fast path off, as inspection runs it (the fused op counts 0 FLOPs), and
    torch's attention formula for the CPU flash kernel (see inspector.core.flops.EXTRA_FORMULAS).
    """
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with FlopCounterMode(display=False, custom_mapping=EXTRA_FORMULAS) as counter, torch.no_grad():
            model(*inputs)
    finally:
        torch.backends.mha.set_fastpath_enabled(True)
    return {name: sum(ops.values()) for name, ops in counter.get_flop_counts().items()}


def torch_shapes(model: nn.Module, *inputs: torch.Tensor) -> dict[str, tuple[list[int] | None, list[int] | None]]:
    """Return {module name: (input shape, output shape)} from hooks on a real forward (first call).

    A shape is recorded where the module takes (returns) one tensor; None elsewhere.
    """
    seen: dict[str, tuple[list[int] | None, list[int] | None]] = {}

    def single(value: object) -> list[int] | None:
        if isinstance(value, tuple) and len(value) == 1:
            value = value[0]
        return list(value.shape) if isinstance(value, torch.Tensor) else None

    handles = []
    for name, module in model.named_modules():

        def record(_module: nn.Module, args: tuple, output: object, name: str = name) -> None:
            seen.setdefault(name, (single(args), single(output)))

        handles.append(module.register_forward_hook(record))
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return seen


def assert_layers_match_torch(report, model: nn.Module, *inputs: torch.Tensor) -> None:
    """Every layer's shapes and FLOPs in `report` are what torch gives for `model(*inputs)`."""
    shapes, flops, root = torch_shapes(model, *inputs), torch_flops(model, *inputs), type(model).__name__
    assert report.flops == flops["Global"]
    for layer in report.layers:
        torch_input, torch_output = shapes.get(layer.name, (None, None))
        if torch_output is not None:
            assert layer.output_shape == torch_output, layer.name
        if torch_input is not None:
            assert layer.input_shape == torch_input, layer.name
        assert layer.flops == flops.get(root + (f".{layer.name}" if layer.name else ""), 0), layer.name


def test_notes_mlp_matches_torch(notes_mlp):
    report = inspect_model(notes_mlp, input_size=(1, 784))
    assert report.total_params == sum(p.numel() for p in notes_mlp.parameters())
    # 784·256 + 256 + 256·10 + 10 = 203,530 (the notes' MLP)
    assert report.total_params == 203_530
    hidden = next(layer for layer in report.layers if layer.name == "hidden")
    assert hidden.weight_shapes["weight"] == list(notes_mlp.hidden.weight.shape) == [256, 784]
    assert hidden.output_shape == list(notes_mlp.hidden(torch.randn(1, 784)).shape) == [1, 256]
    assert report.output_shape == [1, 10]


def test_flops_equal_flop_counter_per_module_and_total(notes_mlp):
    report = inspect_model(notes_mlp, input_size=(2, 784))
    expected = torch_flops(notes_mlp, torch.randn(2, 784))
    assert report.flops == expected["Global"]
    assert report.macs == expected["Global"] // 2
    for layer in report.layers:
        key = "NotesMLP" + (f".{layer.name}" if layer.name else "")
        assert layer.flops == expected.get(key, 0), layer.name


class TwiceThrough(nn.Module):
    """One Linear(8, 8) applied twice in one forward: its FLOPs are the sum of both calls."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.relu(self.linear(x)))


def test_a_module_called_twice_reports_both_calls():
    model = TwiceThrough()
    expected = torch_flops(model, torch.randn(1, 8))
    report = inspect_model(model, input_size=(1, 8))
    linear = next(layer for layer in report.layers if layer.name == "linear")
    assert linear.calls == 2
    assert linear.flops == expected["TwiceThrough.linear"]
    # 2 calls · (2 FLOPs per multiply-add · 1 row · 8 in · 8 out = 128) = 256; counting one call gives 128
    assert linear.flops == 256
    assert report.flops == expected["Global"] == 256


@pytest.mark.parametrize("name", ["lenet5", "resnet18", "mobilenet_v2"])
def test_zoo_flops_equal_flop_counter(name):
    entry = ZOO[name]
    model = entry.build().eval()
    x = torch.randn(entry.input_size)
    expected = torch_flops(model, x)
    report = inspect_model(model, input_data=x)
    assert report.flops == expected["Global"]
    root = type(model).__name__
    for layer in report.layers:
        key = root + (f".{layer.name}" if layer.name else "")
        assert layer.flops == expected.get(key, 0), layer.name


def test_rows_add_up_to_torchs_totals():
    model = ZOO["resnet18"].build()
    report = inspect_model(model, input_size=(1, 3, 64, 64), device="meta")
    total = sum(p.numel() for p in model.parameters())
    assert sum(layer.params for layer in report.layers) == total
    assert report.layers[0].params_total == total
    leaf_flops = sum(layer.flops for layer in report.layers if layer.is_leaf)
    # residual additions are not FLOPs for FlopCounterMode, so the leaves carry every counted op
    assert leaf_flops == torch_flops(model.eval(), torch.randn(1, 3, 64, 64))["Global"]


def test_tied_parameters_counted_once(tied):
    report = inspect_model(tied, input_size=(1, 5), input_dtype="int64")
    assert report.total_params == sum(p.numel() for p in tied.parameters())
    # one 100·16 table shared by embed and head = 1,600
    assert report.total_params == 1_600
    head = next(layer for layer in report.layers if layer.name == "head")
    assert head.params == 0 and head.tied == {"weight": "embed.weight"}
    assert head.weight_shapes == {"weight": [100, 16]}


def test_parameter_list_counted_without_running():
    model = ZOO["param_list"].build()
    report = inspect_model(model, input_size=(1, 4))
    # three 4×4 and one 4×1: 3·16 + 4 = 52
    assert report.total_params == sum(p.numel() for p in model.parameters()) == 52
    plist = next(layer for layer in report.layers if layer.type == "ParameterList")
    assert plist.params == 52 and plist.calls == 0 and plist.input_shape is None
    assert report.output_shape == list(model(torch.randn(1, 4)).shape)


def test_directly_registered_parameter_counted():
    class Scaled(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = nn.Parameter(torch.ones(3))
            self.unused = nn.Linear(3, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * self.scale

    model = Scaled()
    report = inspect_model(model, input_size=(2, 3))
    assert report.total_params == sum(p.numel() for p in model.parameters())  # 3 + 9 + 3 = 15
    assert report.layers[0].weight_shapes == {"scale": [3]}


def test_batchnorm_buffers_and_frozen_layers():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Linear(6, 2))
    model[0].requires_grad_(False)
    report = inspect_model(model, input_size=(2, 3, 8, 8))
    assert report.buffers == sum(b.numel() for b in model.buffers())  # 8 + 8 + 1
    frozen = sum(p.numel() for p in model[0].parameters())
    assert report.non_trainable_params == frozen
    assert report.trainable_params == sum(p.numel() for p in model.parameters() if p.requires_grad)
    bn = report.layers[2]
    assert bn.buffer_shapes == {k: list(v.shape) for k, v in model[1].named_buffers()}


def test_lstm_tuple_output():
    lstm = nn.LSTM(10, 20, num_layers=2)
    report = inspect_model(lstm, input_size=(5, 3, 10))
    output, (h, c) = lstm(torch.randn(5, 3, 10))
    assert report.output_shape == [list(output.shape), [list(h.shape), list(c.shape)]]
    assert report.total_params == sum(p.numel() for p in lstm.parameters())


def test_dict_inputs_and_outputs(dict_model):
    data = {"image": torch.randn(1, 3, 8, 8), "text": torch.randn(1, 12)}
    report = inspect_model(dict_model, input_data=data)
    out = dict_model(**data)
    assert report.output_shape == {key: list(value.shape) for key, value in out.items()}
    assert report.input_size == {"image": [1, 3, 8, 8], "text": [1, 12]}
    text = next(layer for layer in report.layers if layer.name == "text")
    assert text.input_shape == [1, 12]


def test_failing_forward_names_module_and_restores_state(notes_mlp):
    notes_mlp.train()
    notes_mlp.act.eval()
    notes_mlp.output.weight.requires_grad_(False)
    notes_mlp.register_forward_hook(lambda *args: None)
    before = model_state(notes_mlp)
    with pytest.raises(ForwardError) as caught:
        inspect_model(notes_mlp, input_size=(1, 700))
    error = caught.value
    assert error.module_name == "hidden" and error.module_type == "Linear"
    assert error.input_shape == [1, 700]
    with pytest.raises(RuntimeError) as torch_error:
        notes_mlp.hidden(torch.randn(1, 700))
    assert error.torch_message == str(torch_error.value).splitlines()[0]
    assert "in_features" in error.hint
    assert_same_state(before, model_state(notes_mlp))


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("dtype", [None, "bfloat16"])
def test_model_left_as_found(notes_mlp, device, dtype):
    notes_mlp.train()
    before = model_state(notes_mlp)
    inspect_model(notes_mlp, input_size=(1, 784), device=device, dtype=dtype)
    assert_same_state(before, model_state(notes_mlp))


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_every_layer_matches_torch_on_cpu_and_meta(device):
    model = ZOO["lenet5"].build()
    report = inspect_model(model, input_size=(1, 1, 28, 28), device=device)
    assert report.device == device
    assert_layers_match_torch(report, model, torch.randn(1, 1, 28, 28))  # torch's own cpu forward
    assert report.total_params == sum(p.numel() for p in model.parameters())


def test_dtype_changes_bytes(notes_mlp):
    report = inspect_model(notes_mlp, input_size=(1, 784), dtype="bf16")
    assert report.dtype == "bfloat16"
    assert report.param_bytes == sum(p.numel() for p in notes_mlp.parameters()) * torch.bfloat16.itemsize


def test_seven_billion_decoder_on_meta():
    entry = ZOO["gpt_7b"]
    with torch.device("meta"):
        model = entry.build()
    report = inspect_model(model, input_size=(1, 2048), device="meta", input_dtype="int64")
    assert report.total_params == sum(p.numel() for p in model.parameters())
    assert report.total_params == 6_582_177_792  # the 7B preset, spelled out in tests/test_zoo.py
    assert report.output_shape == [1, 2048, 32000]  # (B, T = the preset's 2048 positions, vocab 32,000)


def test_unavailable_device_lists_devices(notes_mlp):
    names = [info.name for info in available_devices()]
    with pytest.raises(DeviceUnavailableError) as caught:
        inspect_model(notes_mlp, input_size=(1, 784), device="tpu")
    assert str(caught.value).endswith(f"choose one of: {', '.join(names)}")
    with pytest.raises(DeviceUnavailableError) as caught:
        inspect_model(notes_mlp, input_size=(1, 784), device=f"cuda:{torch.cuda.device_count() + 7}")
    if torch.version.cuda is None:  # a CPU-only build says so, naming torch's own version string
        assert f"this torch ({torch.__version__}) is a CPU-only build" in caught.value.message
    else:
        assert ", ".join(names) in str(caught.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"input_size": (0, 784)},
        {"input_size": (-1, 784)},
        {"input_size": "1,784"},
        {"input_size": (1.5, 784)},
        {},
        {"input_size": (1, 784), "input_data": torch.zeros(1, 784)},
        {"input_size": (1, 784), "dtype": "float8"},
        {"input_size": (1, 784), "mode": "inference"},
        {"input_size": (100_000, 100_000, 1_000)},
    ],
)
def test_bad_input_is_a_clear_error(notes_mlp, kwargs):
    before = model_state(notes_mlp)
    with pytest.raises(InvalidArgumentError) as caught:
        inspect_model(notes_mlp, **kwargs)
    assert str(caught.value)
    assert_same_state(before, model_state(notes_mlp))


def test_not_a_module():
    with pytest.raises(InvalidArgumentError):
        inspect_model("resnet50", input_size=(1, 3, 224, 224))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_inspection_matches_torch(notes_mlp):
    cuda = inspect_model(notes_mlp, input_size=(4, 784), device="cuda")
    assert cuda.device.startswith("cuda")
    assert cuda.flops == torch_flops(notes_mlp, torch.randn(4, 784))["Global"]
    assert next(notes_mlp.parameters()).device.type == "cpu"


def test_gpt_flops_equal_flop_counter_per_module():
    # attention and layer norm are decomposed by FlopCounterMode; our memoized counter must agree
    model = ZOO["gpt"].build(n_layer=3, n_head=4, n_embd=64, vocab_size=500, seq_len=32).eval()
    tokens = torch.zeros(2, 32, dtype=torch.long)
    expected = torch_flops(model, tokens)
    report = inspect_model(model, input_data=tokens)
    assert report.flops == expected["Global"] > 0
    root = type(model).__name__
    for layer in report.layers:
        key = root + (f".{layer.name}" if layer.name else "")
        assert layer.flops == expected.get(key, 0), layer.name


def test_flops_on_meta_equal_cpu_for_transformer_layer():
    layer = nn.TransformerEncoderLayer(32, 4, 64, batch_first=True)
    cpu = inspect_model(layer, input_size=(2, 10, 32))
    meta = inspect_model(layer, input_size=(2, 10, 32), device="meta")
    # plain FlopCounterMode on meta decomposes attention into bmm: the independent reference
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            layer.to("meta").eval()(torch.randn(2, 10, 32, device="meta"))
    finally:
        torch.backends.mha.set_fastpath_enabled(True)
    assert cpu.flops == meta.flops == counter.get_total_flops() > 0
    assert torch.backends.mha.get_fastpath_enabled()  # the global switch is restored


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_meta_shortcuts_give_torchs_numbers_for_a_decoder(device):
    # on meta, repeated blocks reuse remembered output layouts: every shape and count must still
    # be what torch's real cpu forward gives
    model = ZOO["gpt"].build(n_layer=4, n_head=4, n_embd=64, vocab_size=300, seq_len=16).eval()
    report = inspect_model(model, input_size=(2, 16), input_dtype="int64", device=device)
    assert_layers_match_torch(report, model, torch.zeros(2, 16, dtype=torch.long))


def test_attention_switch_restored_when_inspections_overlap():
    # the app inspects different models from several threads; torch's fast-path switch is global
    # (one model instance is inspected by one thread at a time: its hooks are per instance)
    import threading

    errors = []

    def run() -> None:
        layer = nn.TransformerEncoderLayer(16, 2, 32, batch_first=True)
        try:
            for _ in range(5):
                inspect_model(layer, input_size=(1, 4, 16))
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and torch.backends.mha.get_fastpath_enabled()
