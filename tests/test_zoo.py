"""The zoo's models against PyTorch's own measurements: real shapes, numel() counts, FlopCounterMode."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from models import ZOO, ZooEntry, get_entry, zoo_names

# Models small enough for a real CPU forward in a fraction of a second; the rest run on meta,
# which still propagates shapes and FLOPs but allocates nothing.
REAL_CPU = {"mlp", "param_list", "lenet5", "resnet18", "mobilenet_v2"}


def build(entry: ZooEntry, device: str, **options: object) -> nn.Module:
    with torch.device(device):
        return entry.build(**options).eval()


def default_input(entry: ZooEntry, device: str, **options: object) -> torch.Tensor:
    size = entry.input_size_for(**options)
    if entry.input_dtype == torch.long:
        return torch.zeros(size, dtype=torch.long, device=device)  # token id 0 is valid in any vocab
    return torch.randn(size, device=device)


def device_for(name: str) -> str:
    return "cpu" if name in REAL_CPU else "meta"


def forward(entry: ZooEntry, **options: object) -> torch.Tensor:
    device = device_for(entry.name)
    model = build(entry, device, **options)
    with torch.no_grad():
        return model(default_input(entry, device, **options))


def num_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())  # parameters() yields a tied weight once


def test_zoo_names_in_registration_order() -> None:
    assert zoo_names() == [
        "mlp",
        "param_list",
        "lenet5",
        "alexnet",
        "vgg11",
        "vgg16",
        "resnet18",
        "resnet50",
        "mobilenet_v2",
        "gpt",
        "gpt2",
        "gpt_7b",
    ]
    assert list(ZOO) == zoo_names()


# (batch 1, what the last layer gives): the shapes come from the published architectures, not
# from our code; the forward below must produce them.
EXPECTED_OUTPUT = {
    "mlp": (1, 10),  # Linear(256, 10)
    "param_list": (1, 1),  # (1, 4) @ three (4, 4) @ (4, 1)
    "lenet5": (1, 10),  # Linear(84, 10): the ten digits
    "alexnet": (1, 1000),  # Linear(4096, 1000): ImageNet's 1000 classes, as for every torchvision model below
    "vgg11": (1, 1000),
    "vgg16": (1, 1000),
    "resnet18": (1, 1000),  # fc = Linear(512, 1000)
    "resnet50": (1, 1000),  # fc = Linear(2048, 1000)
    "mobilenet_v2": (1, 1000),  # Linear(1280, 1000)
    "gpt": (1, 1024, 50257),  # (B, T, vocab) for GPT-2's 1024 positions and 50257 tokens
    "gpt2": (1, 1024, 50257),
    "gpt_7b": (1, 2048, 32000),  # the 7B preset: 2048 positions, 32000 tokens
}


@pytest.mark.parametrize("name", list(EXPECTED_OUTPUT))
def test_default_forward_shape(name: str) -> None:
    assert tuple(forward(get_entry(name)).shape) == EXPECTED_OUTPUT[name]


# Small models carry their arithmetic; the torchvision ones are the counts torchvision publishes
# for its weights (an independent reference: writing out the sum over AlexNet's or ResNet-50's
# dozens of layers by hand would only repeat what the model code already says).
EXPECTED_PARAMS = {
    "mlp": 203_530,  # 784·256 + 256 + 256·10 + 10
    "param_list": 52,  # 3·(4·4) + 4·1
    # conv1 6·1·25 + 6 = 156, conv2 16·6·25 + 16 = 2,416, 400·120 + 120 = 48,120,
    # 120·84 + 84 = 10,164, 84·10 + 10 = 850; total 61,706
    "lenet5": 61_706,
    "alexnet": 61_100_840,  # torchvision docs: AlexNet_Weights.IMAGENET1K_V1 num_params
    "vgg11": 132_863_336,  # torchvision docs: VGG11_Weights.IMAGENET1K_V1 num_params
    "vgg16": 138_357_544,  # torchvision docs: VGG16_Weights.IMAGENET1K_V1 num_params
    "resnet18": 11_689_512,  # torchvision docs: ResNet18_Weights.IMAGENET1K_V1 num_params
    "resnet50": 25_557_032,  # torchvision docs: ResNet50_Weights.IMAGENET1K_V1 num_params
    "mobilenet_v2": 3_504_872,  # torchvision docs: MobileNet_V2_Weights.IMAGENET1K_V1 num_params
    # wte 50257·768 = 38,597,376 + wpe 1024·768 = 786,432 + ln_f 2·768 = 1,536
    # + 12 blocks · (ln 2·1536 + c_attn 768·2304 + 2304 + attn c_proj 768·768 + 768
    #   + c_fc 768·3072 + 3072 + mlp c_proj 3072·768 + 768 = 7,087,872) = 85,054,464
    # = 124,439,808, nanoGPT's "124.44M" including positions; lm_head is tied to wte
    "gpt": 124_439_808,
    "gpt2": 124_439_808,
    # wte 32000·4096 = 131,072,000 + wpe 2048·4096 = 8,388,608 + ln_f 4,096 (no biases)
    # + 32 blocks · (ln 2·4096 + 4096·12288 + 4096·4096 + 2·4096·16384 = 201,334,784)
    # = 6,582,177,792
    "gpt_7b": 6_582_177_792,
}


@pytest.mark.parametrize("name", list(EXPECTED_PARAMS))
def test_parameter_count(name: str) -> None:
    assert num_params(build(get_entry(name), "meta")) == EXPECTED_PARAMS[name]


# torchvision docs' GFLOPS column, which counts multiply-accumulates, at 1×3×224×224.
PUBLISHED_GMACS = {
    "alexnet": 0.71,
    "vgg11": 7.61,
    "vgg16": 15.47,
    "resnet18": 1.81,
    "resnet50": 4.09,
    "mobilenet_v2": 0.30,
}


@pytest.mark.parametrize("name", list(PUBLISHED_GMACS))
def test_macs_match_torchvision(name: str) -> None:
    entry = get_entry(name)
    model = build(entry, "meta")
    with FlopCounterMode(display=False) as counter:
        model(default_input(entry, "meta"))
    macs = counter.get_total_flops() / 2  # FlopCounterMode counts 2 FLOPs per multiply-add
    assert round(macs / 1e9, 2) == PUBLISHED_GMACS[name]


@pytest.mark.parametrize("name", ["lenet5", "alexnet", "vgg16", "resnet50", "mobilenet_v2"])
def test_num_classes_option(name: str) -> None:
    assert tuple(forward(get_entry(name), num_classes=10).shape) == (1, 10)


@pytest.mark.parametrize("name", ["alexnet", "vgg11", "resnet18", "resnet50", "mobilenet_v2"])
def test_image_size_option_shapes_input(name: str) -> None:
    entry = get_entry(name)
    assert entry.input_size_for(image_size=160) == (1, 3, 160, 160)
    assert tuple(forward(entry, image_size=160).shape) == (1, 1000)  # adaptive pooling: any size, 1000 classes


@pytest.mark.parametrize("name", ["alexnet", "vgg11", "resnet18", "resnet50", "mobilenet_v2"])
def test_minimum_image_size_runs(name: str) -> None:
    entry = get_entry(name)
    (side,) = [option.minimum for option in entry.options if option.name == "image_size"]
    assert tuple(forward(entry, image_size=side).shape) == (1, 1000)


def test_alexnet_below_minimum_image_size_fails() -> None:
    # At 62 the last max-pool gets 2×2, smaller than its 3×3 window; 63 is the smallest side that works.
    with pytest.raises(RuntimeError):
        forward(get_entry("alexnet"), image_size=62)


@pytest.mark.parametrize("name", list(ZOO))
def test_every_option_default_is_accepted_by_build(name: str) -> None:
    entry = get_entry(name)
    model = build(entry, "meta", **entry.defaults())
    assert num_params(model) == EXPECTED_PARAMS[name]
    assert entry.input_size_for() == entry.input_size


def test_input_size_for_rejects_unknown_option() -> None:
    with pytest.raises(TypeError, match="no option"):
        get_entry("mlp").input_size_for(image_size=32)


def test_get_entry_unknown_name_lists_names() -> None:
    with pytest.raises(KeyError, match="unknown model 'resnet999'; choose one of: mlp, param_list"):
        get_entry("resnet999")


def test_mlp_layers_are_the_notes() -> None:
    model = build(get_entry("mlp"), "cpu")
    assert model.hidden.weight.shape == (256, 784)  # nn.Linear stores (out_features, in_features)
    assert isinstance(model.act, nn.ReLU)
    assert model.output.weight.shape == (10, 256)
    assert get_entry("mlp").input_size_for(in_features=100) == (1, 100)
    assert tuple(forward(get_entry("mlp"), in_features=100, hidden=32, out_features=3).shape) == (1, 3)  # (B, out)


def test_param_list_registers_all_parameters() -> None:
    model = build(get_entry("param_list"), "cpu")
    assert [tuple(p.shape) for p in model.parameters()] == [(4, 4), (4, 4), (4, 4), (4, 1)]
    assert num_params(model) == 52  # 3·16 + 4


def test_lenet_activation_option() -> None:
    entry = get_entry("lenet5")
    assert isinstance(build(entry, "cpu").features[1], nn.Sigmoid)
    assert isinstance(build(entry, "cpu", activation="relu").features[1], nn.ReLU)


def test_mobilenet_width_mult_narrows_the_network() -> None:
    entry = get_entry("mobilenet_v2")
    narrow = build(entry, "meta", width_mult=0.5)
    assert num_params(narrow) < EXPECTED_PARAMS["mobilenet_v2"]
    assert narrow.features[0][0].out_channels == 16  # make_divisible(32 · 0.5) = 16
    assert narrow.classifier[1].in_features == 1280  # the last layer never narrows below 1280


def test_torchvision_module_names() -> None:
    # State-dict keys as torchvision writes them, so its checkpoints' layer names line up.
    keys = {
        "alexnet": ["features.0.weight", "classifier.6.weight"],
        "vgg16": ["features.28.weight", "classifier.6.bias"],
        "resnet18": ["layer2.0.downsample.0.weight", "layer4.1.bn2.running_var", "fc.weight"],
        "resnet50": ["layer1.0.downsample.1.weight", "layer3.5.conv3.weight", "fc.bias"],
        "mobilenet_v2": [
            "features.0.0.weight",
            "features.1.conv.1.weight",
            "features.18.1.bias",
            "features.17.conv.0.0.weight",
            "classifier.1.weight",
        ],
    }
    for name, expected in keys.items():
        state = build(get_entry(name), "meta").state_dict()
        assert set(expected) <= set(state), name


def test_gpt_ties_lm_head_to_token_embedding() -> None:
    model = build(get_entry("gpt2"), "meta")
    assert model.lm_head.weight is model.transformer.wte.weight


def test_gpt_overrides_and_seq_len() -> None:
    entry = get_entry("gpt")
    options = {"n_layer": 2, "n_head": 4, "n_embd": 64, "vocab_size": 100, "seq_len": 16}
    assert entry.input_size_for(**options) == (1, 16)
    assert entry.input_size_for(preset="7b") == (1, 2048)  # seq_len 0 takes the preset's block_size
    model = build(entry, "cpu", **options)
    assert model.transformer.wpe.weight.shape == (16, 64)  # (seq_len, n_embd): one row per position
    assert tuple(forward(entry, **options).shape) == (1, 16, 100)  # (B, T, vocab_size)


def test_gpt_attention_is_causal() -> None:
    torch.manual_seed(0)
    model = build(get_entry("gpt"), "cpu", n_layer=2, n_head=4, n_embd=64, vocab_size=100, seq_len=8)
    tokens = torch.randint(0, 100, (1, 8))
    changed = tokens.clone()
    changed[0, 5] = (tokens[0, 5] + 1) % 100
    with torch.no_grad():
        before, after = model(tokens), model(changed)
    torch.testing.assert_close(before[:, :5], after[:, :5])  # earlier positions cannot see token 5
    assert not torch.allclose(before[:, 5:], after[:, 5:])


def test_gpt_rejects_heads_that_do_not_divide_width() -> None:
    with pytest.raises(ValueError, match="divisible"):
        get_entry("gpt").build(n_embd=100, n_head=3)


def test_gpt_7b_builds_on_meta_without_memory() -> None:
    # How long the build takes is measured in benchmarks/, not here: tests never time.
    with torch.device("meta"):
        model = get_entry("gpt_7b").build()
    assert all(p.is_meta for p in model.parameters())  # 6.6 B parameters, none allocated
    assert num_params(model) == EXPECTED_PARAMS["gpt_7b"]
