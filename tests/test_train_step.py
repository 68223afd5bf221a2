"""Real training steps: timings and their arithmetic, the same-device rule with PyTorch's own error,
refusing what would not fit, and letting go of everything when a step fails."""

from __future__ import annotations

import gc
import math
import statistics
import weakref

import pytest
import torch
from torch import nn
from torch._subclasses.fake_tensor import is_fake

from inspector.core.errors import DeviceUnavailableError, ForwardError, InvalidArgumentError
from inspector.model.sources import model_source
from inspector.planner.choices import LossName
from inspector.planner.session import StepProgress
from inspector.planner.subject import compute_loss, load_model, make_targets
from inspector.planner.train_step import measure_training_step

SMALL_MLP = {"in_features": 20, "hidden": 16, "out_features": 5}  # 421 parameters
LIVE: weakref.WeakSet[nn.Module] = weakref.WeakSet()
CPU = torch.device("cpu")
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


class FailsOnRealDevice(nn.Module):
    """Fine on meta and fake tensors (the estimate), fails on real memory (the step)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 3)
        LIVE.add(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "meta" and not is_fake(x):
            raise RuntimeError("deliberate failure on real memory")
        return self.linear(x)


def step(**kwargs: object):
    arguments = {
        "model_name": "mlp",
        "options": SMALL_MLP,
        "batch_size": 8,
        "device": "cpu",
        "steps": 3,
        "warmup": 1,
        "dataset_size": 100,
        "epochs": 2,
        **kwargs,
    }
    return measure_training_step(**arguments)


def test_a_real_step_reports_times_memory_and_devices():
    result = step()
    assert len(result.step_seconds) == 3 and len(result.losses) == 3 and not result.stopped
    assert all(math.isfinite(loss) for loss in result.losses)
    assert result.seconds_per_step == statistics.median(result.step_seconds)
    assert result.samples_per_second == pytest.approx(8 / result.seconds_per_step)
    assert result.steps_per_epoch == 13  # ⌈100 / 8⌉ = 13
    assert result.epoch_seconds == pytest.approx(13 * result.seconds_per_step)
    assert result.total_seconds == pytest.approx(2 * result.epoch_seconds)
    placement = result.placement
    assert placement.same_device and placement.parameters == placement.gradients == placement.loss == ("cpu",)
    assert result.peak_approximate and result.measured_peak_bytes is not None
    expected = (result.measured_peak_bytes - result.estimate.total) / result.estimate.total * 100
    assert result.difference_percent == pytest.approx(expected)
    assert result.estimate.device == "cpu"  # the estimate followed the CPU's kernels
    assert result.to_dict()["placement"]["same_device"] is True


def test_the_learning_rate_and_optimizer_really_train():
    result = step(model_name="mlp", options=SMALL_MLP, lr=0.5, optimizer="sgd", steps=8, warmup=0)
    assert result.losses[-1] < result.losses[0]  # the same batch, eight SGD steps: the loss falls


@pytest.mark.parametrize("precision", ["bf16", "mixed"])
def test_lower_precisions_run(precision):
    result = step(precision=precision, steps=1, warmup=0)
    assert result.precision == precision and len(result.losses) == 1


def test_token_models_train_on_token_targets():
    options = {"n_layer": 1, "n_head": 2, "n_embd": 16, "vocab_size": 30, "seq_len": 6}
    result = step(model_name="gpt", options=options, batch_size=2, steps=1, warmup=0)
    assert result.estimate.output_shape == (2, 6, 30)
    assert result.losses[0] == pytest.approx(math.log(30), rel=0.2)  # about uniform over 30 tokens at first


def test_progress_and_stop():
    seen: list[StepProgress] = []
    finished = step(progress_callback=seen.append)
    assert [(p.done, p.total) for p in seen] == [(1, 4), (2, 4), (3, 4), (4, 4)]  # 1 warm-up + 3 measured
    assert [p.measured_done for p in seen] == [0, 1, 2, 3]  # the warm-up step is not a measured one
    assert seen[-1].step_seconds == finished.step_seconds and seen[-1].losses == finished.losses
    assert all(p.peak_bytes is not None for p in seen)  # cpu: the resident-set peak so far, every step
    stopped = step(should_stop=lambda: len(seen) >= 6, progress_callback=seen.append)
    assert stopped.stopped and len(stopped.step_seconds) == 1  # warm-up, one measured step, then stop
    assert seen[-1].step_seconds == stopped.step_seconds  # what a caller stopped there has already seen


def test_a_model_source_is_planned_and_measured_like_a_name():
    # A source already read (the planner page's pasted config or code) gives what its name gives.
    source = model_source("mlp", SMALL_MLP)
    by_source = step(model_name=source, options=None, steps=1, warmup=0)
    assert by_source.estimate == step(steps=1, warmup=0).estimate
    assert by_source.estimate.parameter_count == sum(
        p.numel() for p in load_model("mlp", SMALL_MLP, CPU)[0].parameters()
    )


@pytest.mark.parametrize("dtype", ["float64", "fp64"])
def test_float64_trains_and_counts_eight_bytes_a_weight(dtype):
    result = step(precision=dtype, steps=1, warmup=0)
    model = load_model("mlp", SMALL_MLP, CPU, torch.float64)[0]
    assert result.precision == "fp64"
    assert result.estimate.parameters == sum(p.numel() * p.element_size() for p in model.parameters())


def test_misplaced_input_gives_torchs_own_error_and_the_fix():
    result = step(misplace_input=True, steps=1, warmup=0)
    demo = result.misplaced
    other = torch.device("cuda:0") if torch.cuda.is_available() else torch.device("meta")
    model = load_model("mlp", SMALL_MLP, torch.device("cpu"))[0]
    with pytest.raises(RuntimeError) as caught:
        output = model(torch.randn(8, 20, device=other))
        compute_loss(output, make_targets(output, LossName.CROSS_ENTROPY, False), LossName.CROSS_ENTROPY, False)
    assert demo.torch_message == str(caught.value).splitlines()[0]
    assert (demo.model_device, demo.input_device) == ("cpu", str(other))
    assert demo.fix == 'x = x.to("cpu")'
    assert result.placement.same_device  # the real steps that follow have the input where it belongs


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"device": "cuda:7"}, DeviceUnavailableError, "cuda:7"),
        ({"device": "meta"}, InvalidArgumentError, "real device"),
        ({"steps": 0}, InvalidArgumentError, "steps"),
        ({"warmup": -1}, InvalidArgumentError, "warm-up"),
        ({"lr": 0}, InvalidArgumentError, "learning rate"),
        ({"lr": float("nan")}, InvalidArgumentError, "learning rate"),
        ({"lr": "fast"}, InvalidArgumentError, "learning rate"),
        ({"lr": 1e6}, InvalidArgumentError, "learning rate"),
        ({"dataset_size": 0}, InvalidArgumentError, "dataset size"),
        ({"dataset_size": "many"}, InvalidArgumentError, "dataset size"),
        ({"epochs": -3}, InvalidArgumentError, "epochs"),
        ({"batch_size": 10**9}, InvalidArgumentError, "batch size"),
        ({"loss": "hinge"}, InvalidArgumentError, "loss"),
    ],
)
def test_bad_arguments_are_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        step(**kwargs)


def test_too_big_for_the_machine_is_refused_before_allocating():
    with pytest.raises(InvalidArgumentError) as caught:  # ≈ 6.6B parameters: ~26 GiB per fp32 copy
        measure_training_step("gpt_7b", batch_size=1, device="cpu", steps=1)
    assert "estimate" in caught.value.message and "meta" in caught.value.hint
    assert "smaller batch" in caught.value.hint


def test_a_failing_step_leaves_nothing_behind():
    gc.collect()
    with pytest.raises(ForwardError, match="deliberate failure on real memory") as caught:
        measure_training_step("test_train_step:FailsOnRealDevice", input_size=(4,), batch_size=2, steps=1)
    gc.collect()
    # Even while the error is held (as a page holds it to show it), no model is left alive.
    assert caught.value.torch_message == "deliberate failure on real memory"
    assert len(LIVE) == 0


def test_a_loss_that_does_not_fit_the_output_is_refused():
    with pytest.raises(InvalidArgumentError, match="class dimension"):
        measure_training_step("torch.nn:Flatten", {"start_dim": 0}, input_size=(3,), batch_size=2, steps=1)


@pytest.mark.gpu
@cuda
def test_cuda_estimate_is_within_ten_percent_of_max_memory_allocated():
    result = measure_training_step("resnet18", batch_size=32, device="cuda:0", steps=2, warmup=1)
    assert not result.peak_approximate and result.peak_method == "torch.cuda.max_memory_allocated"
    assert abs(result.difference_percent) <= 10, (result.measured_peak_bytes, result.estimate.parts())


@pytest.mark.gpu
@cuda
def test_cuda_failing_step_frees_its_memory():
    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    with pytest.raises(ForwardError):
        measure_training_step("test_train_step:FailsOnRealDevice", input_size=(4,), device="cuda:0", steps=1)
    assert torch.cuda.memory_allocated() == before


@pytest.mark.gpu
@cuda
def test_cuda_misplaced_input_names_both_devices():
    result = step(device="cuda:0", misplace_input=True, steps=1, warmup=0)
    assert "cuda:0" in result.misplaced.torch_message and "cpu" in result.misplaced.torch_message
    assert result.placement.parameters == ("cuda:0",) and result.visible_gpus
