"""Inspecting leaves the user's model exactly as it was: attributes a forward replaces, buffers it
updates in place, hooks, requires_grad and train/eval flags.

Each test compares the inspected model with what it was before (or with a twin never inspected)
using torch's own equality, dtype and device.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from inspector import InspectorError, inspect_model


class CachedAnchors(nn.Module):
    """Caches plain tensors (not buffers) and moves them to the input's device in forward, as
    torchvision's AnchorGenerator does with `cell_anchors`."""

    def __init__(self) -> None:
        super().__init__()
        self.cell_anchors = [torch.arange(4.0), torch.arange(6.0).reshape(2, 3)]
        self.scale = torch.tensor(2.0)
        self.by_level = {"p2": torch.ones(3)}
        self.linear = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.cell_anchors = [anchor.to(dtype=x.dtype, device=x.device) for anchor in self.cell_anchors]
        self.scale = self.scale.to(x.device)
        self.by_level["p2"] = self.by_level["p2"].to(x.device)
        self.last_input = x  # a cache the forward adds
        return self.linear(x + self.cell_anchors[0]) * self.scale + self.by_level["p2"].sum()


def snapshot(model: nn.Module) -> dict[str, tuple[torch.Tensor, torch.dtype, torch.device, bool]]:
    """Return every parameter and buffer as (a copy, dtype, device, requires_grad)."""
    tensors = dict(model.named_parameters())
    tensors.update(model.named_buffers())
    return {
        name: (tensor.detach().clone(), tensor.dtype, tensor.device, tensor.requires_grad)
        for name, tensor in tensors.items()
    }


def assert_same(before: dict, model: nn.Module) -> None:
    after = snapshot(model)
    assert after.keys() == before.keys()
    for name, (value, dtype, device, requires_grad) in before.items():
        now, now_dtype, now_device, now_requires_grad = after[name]
        assert (now_dtype, now_device, now_requires_grad) == (dtype, device, requires_grad), name
        assert torch.equal(now, value), name


def test_cached_tensors_return_to_cpu_after_a_meta_inspection():
    torch.manual_seed(0)
    model = CachedAnchors()
    twin = CachedAnchors()
    twin.load_state_dict(model.state_dict())
    report = inspect_model(model, input_size=(2, 4), device="meta")
    assert report.output_shape == [2, 4]
    assert all(anchor.device.type == "cpu" for anchor in model.cell_anchors)
    assert model.scale.device.type == "cpu" and model.by_level["p2"].device.type == "cpu"
    assert not hasattr(model, "last_input")
    x = torch.randn(2, 4)
    assert torch.equal(model(x), twin(x))  # without the restore: "Tensor on device meta is not on the expected device"


def test_cached_tensors_are_restored_when_the_forward_fails():
    model = CachedAnchors()
    anchors = model.cell_anchors
    with pytest.raises(InspectorError):
        inspect_model(model, input_size=(2, 5), device="meta")  # Linear(4, 4) refuses 5 features
    assert model.cell_anchors is anchors and all(a.device.type == "cpu" for a in anchors)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batchnorm_statistics_are_restored_bit_for_bit(mode):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU())
    with torch.no_grad():  # non-default statistics, so a reset to defaults would also be caught
        model[1].running_mean.uniform_(-1, 1)
        model[1].running_var.uniform_(0.5, 2)
        model[1].num_batches_tracked.fill_(7)
    model.eval()
    before = snapshot(model)
    inspect_model(model, input_size=(4, 3, 8, 8), device="cpu", mode=mode)
    assert_same(before, model)
    assert model[1].num_batches_tracked.item() == 7  # train mode's forward adds 1; it was put back
    assert not any(module.training for module in model.modules())


def test_train_mode_forward_really_updates_statistics():
    """The control for the test above: the same forward outside the inspector changes the statistics."""
    model = nn.BatchNorm2d(8)
    before = model.running_mean.clone()
    model.train()
    model(torch.randn(4, 8, 5, 5))
    assert not torch.equal(model.running_mean, before) and model.num_batches_tracked.item() == 1


def test_hooks_requires_grad_and_modes_are_unchanged():
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 2))
    model[0].weight.requires_grad_(False)
    model.train()
    model[1].eval()  # mixed flags must come back mixed
    seen = []
    handle = model[2].register_forward_hook(lambda module, args, output: seen.append(output.shape))
    before = snapshot(model)
    hooks = [(dict(m._forward_hooks), dict(m._forward_pre_hooks)) for m in model.modules()]
    inspect_model(model, input_size=(3, 4), device="meta", mode="eval")
    assert_same(before, model)
    assert [(dict(m._forward_hooks), dict(m._forward_pre_hooks)) for m in model.modules()] == hooks
    assert [m.training for m in model.modules()] == [True, True, False, True]
    assert seen == [torch.Size([3, 2])]  # the user's own hook ran once, and is still registered
    handle.remove()


def test_a_buffer_the_forward_reassigns_is_put_back():
    class Counter(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("steps", torch.zeros((), dtype=torch.long))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.steps = self.steps + 1  # a new tensor into the buffer slot
            return x * 2

    model = Counter()
    original = model.steps
    inspect_model(model, input_size=(2,), device="cpu")
    assert model.steps is original and model.steps.item() == 0
