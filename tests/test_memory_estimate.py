"""The memory estimate against PyTorch itself: numel() · element_size(), a real optimizer's state,
and the tensors the autograd graph really saved; then the largest-batch search and bad input."""

from __future__ import annotations

import contextlib
import math

import pytest
import torch
from conftest import assert_same_state, model_state
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

from inspector.core.errors import DeviceUnavailableError, ForwardError, InvalidArgumentError, UnknownNameError
from inspector.planner.choices import LossName
from inspector.planner.estimate import estimate_training_memory
from inspector.planner.largest_batch import _search, largest_batch_size, parse_budget
from inspector.planner.subject import compute_loss, load_model, make_targets

SMALL_MLP = {"in_features": 20, "hidden": 16, "out_features": 5}  # 20·16 + 16 + 16·5 + 5 = 421 parameters
TINY_GPT = {"n_layer": 2, "n_head": 2, "n_embd": 32, "vocab_size": 50, "seq_len": 8}
GIB = 2**30
CPU = torch.device("cpu")


def real_model(
    name: str, options: dict, dtype: torch.dtype | None = None, batch_size: int = 2
) -> tuple[nn.Module, torch.Tensor]:
    """Return the zoo model built for real on the CPU, in train mode, and a batch for it (2 samples)."""
    torch.manual_seed(0)
    model, _label, token_dtype, sample = load_model(name, options, CPU, dtype)
    size = (batch_size, *sample)
    batch = torch.zeros(size, dtype=token_dtype) if token_dtype else torch.randn(size, dtype=dtype)
    return model.train(), batch


def graph_saved_bytes(loss: torch.Tensor, exclude: list[torch.Tensor]) -> int:
    """Return the bytes of every storage the autograd graph holds through grad_fn's `_saved_*` attributes.

    Independent of saved-tensor hooks: it walks the finished graph and asks each node what it saved.
    """
    skip = {t.untyped_storage().data_ptr() for t in exclude}
    storages: dict[int, int] = {}
    todo, done = [loss.grad_fn], set()
    while todo:
        node = todo.pop()
        if node is None or node in done:
            continue
        done.add(node)
        for attribute in dir(node):
            if attribute.startswith("_saved_"):
                value = getattr(node, attribute)
                for tensor in value if isinstance(value, (tuple, list)) else [value]:
                    if isinstance(tensor, torch.Tensor) and tensor.untyped_storage().data_ptr() not in skip:
                        storages[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
        todo.extend(next_node for next_node, _ in node.next_functions)
    return sum(storages.values())


def held_by_graph(name: str, options: dict, batch_size: int = 2, math_attention: bool = False) -> int:
    """Return what torch's autograd graph holds after a real cpu training forward and loss.

    `math_attention`: make scaled_dot_product_attention take its math path, as it does on meta.
    """
    model, batch = real_model(name, options, batch_size=batch_size)
    token_model = not batch.is_floating_point()
    with sdpa_kernel(SDPBackend.MATH) if math_attention else contextlib.nullcontext():
        output = model(batch)
    targets = make_targets(output, LossName.CROSS_ENTROPY, token_model)
    loss = compute_loss(output, targets, LossName.CROSS_ENTROPY, token_model)
    return graph_saved_bytes(loss, [*model.parameters(), *model.buffers(), batch, targets])


@pytest.mark.parametrize(
    ("name", "options"),
    [("mlp", SMALL_MLP), ("lenet5", {}), ("resnet18", {"image_size": 32}), ("gpt", TINY_GPT)],
)
def test_saved_activations_equal_what_the_autograd_graph_holds(name, options):
    estimate = estimate_training_memory(name, None, 2, device="cpu", options=options)
    assert estimate.activations == held_by_graph(name, options)
    assert sum(layer.bytes for layer in estimate.layers) == estimate.activations


def test_meta_estimate_is_what_torch_saves_with_the_same_kernels():
    # convolutions save the same tensors on every device: meta's estimate is what cpu's graph holds
    assert estimate_training_memory("lenet5", None, 2, device="meta").activations == held_by_graph("lenet5", {})
    # On meta attention takes the math path, which saves the (B, heads, T, T) attention weights:
    # torch on cpu, sent down the same path, holds exactly that; the CPU's flash attention saves
    # only a (B, heads, T) log-sum-exp, so the meta estimate is above what the flash path holds.
    meta_gpt = estimate_training_memory("gpt", None, 2, device="meta", options=TINY_GPT)
    assert meta_gpt.activations == held_by_graph("gpt", TINY_GPT, math_attention=True)
    assert meta_gpt.activations > held_by_graph("gpt", TINY_GPT)


def test_small_mlp_parts_by_hand():
    estimate = estimate_training_memory("mlp", None, 4, "fp32", "adam", options=SMALL_MLP)
    assert estimate.parameters == estimate.gradients == 421 * 4  # 1,684
    assert estimate.optimizer_state == 2 * 421 * 4 + 4 * 4  # exp_avg, exp_avg_sq + 4 step scalars = 3,384
    # ReLU saves its (4, 16) output: 4·16·4 = 256; log_softmax its (4, 5) output: 4·5·4 = 80; nll_loss
    # its 0-dim total weight: 4. The input, weights and targets are counted in their own parts.
    assert estimate.activations == 256 + 80 + 4
    assert [(layer.name, layer.bytes) for layer in estimate.layers] == [("act", 256), ("(loss)", 84)]
    assert estimate.inputs == 4 * 20 * 4 + 4 * 8  # float input (4, 20) + int64 targets (4,) = 352
    assert estimate.outputs == 4 * 5 * 4  # the logits (4, 5), not saved by anyone: 80
    assert estimate.total == sum(estimate.parts().values())


@pytest.mark.parametrize(
    ("precision", "dtype"),
    [
        ("fp32", torch.float32),
        ("fp64", torch.float64),
        ("bf16", torch.bfloat16),
        ("fp16", torch.float16),
        ("mixed", torch.bfloat16),
    ],
)
def test_parameter_and_gradient_bytes_are_numel_times_element_size(precision, dtype):
    model, batch = real_model("lenet5", {}, dtype)
    compute_loss(model(batch), torch.tensor([1, 2]), LossName.CROSS_ENTROPY, False).backward()
    estimate = estimate_training_memory("lenet5", None, 2, precision)
    assert estimate.parameters == sum(p.numel() * p.element_size() for p in model.parameters())
    assert estimate.gradients == sum(p.grad.numel() * p.grad.element_size() for p in model.parameters())
    # LeNet-5 as in the notes: 156 + 2,416 + 48,120 + 10,164 + 850 = 61,706 (tests/test_zoo.py spells each out)
    assert estimate.parameter_count == sum(p.numel() for p in model.parameters()) == 61_706
    if precision == "fp32":
        assert estimate.parameters == 61_706 * 4  # 246,824


def real_optimizer_state_bytes(optimizer_name: str, precision: str) -> tuple[int, int]:
    """Return (state bytes, master bytes) of a real torch optimizer after one real step on the small MLP."""
    dtype = {"fp32": torch.float32, "fp64": torch.float64, "bf16": torch.bfloat16, "mixed": torch.bfloat16}[precision]
    model, batch = real_model("mlp", SMALL_MLP, dtype)
    compute_loss(model(batch), torch.tensor([0, 3]), LossName.CROSS_ENTROPY, False).backward()
    params = list(model.parameters())
    if precision == "mixed":  # the optimizer updates fp32 copies; their gradients are the bf16 ones, widened
        params = [p.detach().float().requires_grad_() for p in params]
        for master, weight in zip(params, model.parameters(), strict=True):
            master.grad = weight.grad.float()
    optimizer = {
        "sgd": lambda: torch.optim.SGD(params, lr=0.1),
        "sgd_momentum": lambda: torch.optim.SGD(params, lr=0.1, momentum=0.9),
        "adam": lambda: torch.optim.Adam(params),
        "adamw": lambda: torch.optim.AdamW(params),
    }[optimizer_name]()
    optimizer.step()
    state = optimizer.state_dict()["state"].values()
    state_bytes = sum(t.numel() * t.element_size() for s in state for t in s.values() if isinstance(t, torch.Tensor))
    master_bytes = sum(p.numel() * p.element_size() for p in params) if precision == "mixed" else 0
    return state_bytes, master_bytes


@pytest.mark.parametrize("optimizer_name", ["sgd", "sgd_momentum", "adam", "adamw"])
@pytest.mark.parametrize("precision", ["fp32", "fp64", "bf16", "mixed"])
def test_optimizer_state_matches_a_real_optimizer_after_one_step(optimizer_name, precision):
    state_bytes, master_bytes = real_optimizer_state_bytes(optimizer_name, precision)
    estimate = estimate_training_memory("mlp", None, 2, precision, optimizer_name, options=SMALL_MLP)
    assert estimate.optimizer_state == state_bytes
    assert estimate.master_weights == master_bytes


def test_optimizer_state_by_hand():
    sgd = estimate_training_memory("mlp", None, 2, "fp32", "sgd", options=SMALL_MLP)
    momentum = estimate_training_memory("mlp", None, 2, "bf16", "sgd_momentum", options=SMALL_MLP)
    mixed = estimate_training_memory("mlp", None, 2, "mixed", "adamw", options=SMALL_MLP)
    assert sgd.optimizer_state == 0  # plain SGD keeps nothing
    assert momentum.optimizer_state == 421 * 2  # one bf16 momentum buffer per weight: 842
    assert mixed.master_weights == 421 * 4  # fp32 masters: 1,684
    assert mixed.optimizer_state == 2 * 421 * 4 + 4 * 4  # fp32 exp_avg, exp_avg_sq + 4 step scalars: 3,384
    assert mixed.parameters == mixed.gradients == 421 * 2  # bf16 weights and gradients: 842


@pytest.mark.parametrize("batch", [1, 3, 8])
def test_activations_at_each_batch_are_what_torch_saves(batch):
    # the largest-batch search fits a line through these: each must be what torch really holds
    assert estimate_training_memory("lenet5", None, batch, device="cpu").activations == held_by_graph(
        "lenet5", {}, batch
    )


def test_model_is_left_as_found(notes_mlp):
    notes_mlp.eval()
    notes_mlp.hidden.weight.requires_grad_(False)
    notes_mlp.output.register_forward_hook(lambda *_: None)
    before = model_state(notes_mlp)
    for device in ("meta", "cpu"):
        estimate = estimate_training_memory(notes_mlp, (784,), 4, "bf16", "adam", device)
        # The frozen hidden weight has no gradient: bias 256 + output 256·10 + 10 = 2,826 values, bf16.
        assert estimate.gradients == (256 + 256 * 10 + 10) * 2
    assert_same_state(before, model_state(notes_mlp))


def test_largest_batch_is_checked_on_either_side():
    per_batch = {b: estimate_training_memory("lenet5", None, b, "fp32", "adam").total for b in (40, 41)}
    budget = (per_batch[40] + per_batch[41]) // 2
    search = largest_batch_size("lenet5", None, budget, "fp32", "adam")
    assert search.largest_batch == 40
    assert search.bytes_at(40) == per_batch[40] <= budget < per_batch[41] == search.bytes_at(41)
    assert len(search.measured) <= 4  # batches 1 and 2 for the fit, then 40 and 41: never every batch


def test_largest_batch_for_a_preset_and_none_that_fits():
    search = largest_batch_size("resnet18", None, "24GB", options={"image_size": 64})
    assert search.bytes_at(search.largest_batch) <= 24 * GIB < search.bytes_at(search.largest_batch + 1)
    # ResNet-18 with Adam holds 4 × 46.8 MB of weights, gradients and state before any sample: 100 MiB is too little.
    none = largest_batch_size("resnet18", None, "100MB", options={"image_size": 64})
    assert none.largest_batch == 0 and none.bytes_at(1) > 100 * 2**20


@pytest.mark.parametrize("budget", [3, 1_000, 123_457])
def test_search_is_right_even_when_the_law_bends(budget):
    def total_at(batch: int) -> int:  # quadratic, not affine: the fit's guess is off, the bracket still finds it
        return 10 + batch + batch * batch // 7

    expected = max((b for b in range(0, 2_000) if b == 0 or total_at(b) <= budget), default=0)
    assert _search(total_at, budget)[0] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24GB", 24 * GIB),  # GB as GPU makers count it: 24 · 2**30 = 25,769,803,776
        ("24 GiB", 24 * GIB),
        ("80G", 80 * GIB),  # 85,899,345,920
        ("16", 16 * GIB),  # a bare number is GiB, as the presets
        ("512MB", 512 * 2**20),  # 536,870,912
        ("1.5TB", 3 * 2**39),  # 1.5 · 2**40 = 1,649,267,441,664
        (8 * GIB, 8 * GIB),  # bytes as a number
    ],
)
def test_budget_parsing(text, expected):
    assert parse_budget(text) == expected


def test_device_budget_is_the_real_total():
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        total_kib = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:"))
    assert parse_budget("device", "cpu") == total_kib * 1024
    with pytest.raises(InvalidArgumentError, match="meta has no memory"):
        parse_budget("device", "meta")


@pytest.mark.parametrize(
    "bad", ["0", "0GB", "-5GB", "abc", "nan", "inf", "", "10 PB", "2000000TB", float("nan"), -1, 0, 2**60, True, None]
)
def test_bad_budgets_are_refused(bad):
    with pytest.raises(InvalidArgumentError, match="budget"):
        parse_budget(bad)


@pytest.mark.parametrize("bad", [0, -1, 2.5, "x", float("nan"), float("inf"), 10**9, True, None])
def test_bad_batch_sizes_are_refused(bad):
    with pytest.raises(InvalidArgumentError, match="batch size"):
        estimate_training_memory("mlp", None, bad)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"precision": "fp8"}, InvalidArgumentError, "precision"),
        ({"optimizer": "lion"}, InvalidArgumentError, "optimizer"),
        ({"loss": "hinge"}, InvalidArgumentError, "loss"),
        ({"device": "cuda:7"}, DeviceUnavailableError, "cuda:7"),
        ({"model_name_or_module": "resnet1000"}, UnknownNameError, "resnet1000"),
        (
            {"model_name_or_module": "torch.nn:Linear", "options": {"in_features": 4, "out_features": 2}},
            InvalidArgumentError,
            "input size",
        ),
        ({"input_size": (3, 0, 5)}, InvalidArgumentError, "between 1"),
        ({"input_size": (1, 28, 28), "model_name_or_module": "resnet18"}, ForwardError, "training forward failed"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, error, match):
    arguments = {"model_name_or_module": "lenet5", "batch_size": 2, **kwargs}
    with pytest.raises(error, match=match):
        estimate_training_memory(**arguments)


def test_a_loss_that_does_not_fit_the_output():
    squeezed = nn.Sequential(nn.Linear(4, 1), nn.Flatten(0))  # (B, 4) → (B,): no class dimension
    with pytest.raises(InvalidArgumentError, match="class dimension") as caught:
        estimate_training_memory(squeezed, (4,), 3, loss="cross_entropy")
    assert "mse" in caught.value.hint
    assert estimate_training_memory(squeezed, (4,), 3, loss="mse").activations > 0
    assert math.isfinite(estimate_training_memory(squeezed, (4,), 3, loss="mse").total)
