"""The benchmark cases: which model, built how, on which device, with which input.

The full set is what issue 8 names: every zoo model at its default input on the real device and
on meta, ResNet-50 at batch 1 and 32, a ViT-B/16-sized encoder, and GPT-style decoders from
124M to 7B on meta at sequence 2048. `--quick` is a tiny subset for the test suite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import torch
from torch import nn

from benchmarks.vit import vit_b16
from inspector.model.zoo import build_zoo_model
from models import ZOO

META = "meta"
GPT_PRESETS = ("gpt2-124m", "gpt2-medium", "gpt2-large", "gpt2-xl", "7b")
GPT_SEQ_LEN = 2048
RESNET_BATCHES = (1, 32)
# 26 GB of fp32 weights: more than this 24 GB machine has. meta needs none of it.
TOO_BIG_FOR_HOST = {"gpt_7b": "its fp32 weights (≈26 GB) exceed host RAM; inspected on meta only"}
# Small enough for a test, yet a real GPT: embeddings, attention, MLP, tied lm_head.
QUICK_GPT = {"n_layer": 2, "n_head": 4, "n_embd": 128, "vocab_size": 1024, "seq_len": 128}


@dataclass(frozen=True)
class Case:
    """One model on one device with one input; `skip` says why it is not run, when it is not."""

    label: str
    device: str
    input_size: tuple[int, ...]
    input_dtype: torch.dtype
    build: Callable[[str], nn.Module] = field(repr=False, compare=False)
    skip: str | None = None

    @property
    def input_text(self) -> str:
        """Return the input as the table shows it, e.g. 1×3×224×224 float32."""
        return "×".join(map(str, self.input_size)) + " " + str(self.input_dtype).removeprefix("torch.")

    def make_model(self) -> nn.Module:
        """Return the model built directly on the case's device, in eval mode."""
        return self.build(self.device).eval()

    def make_input(self) -> torch.Tensor:
        """Return the one input every tool gets: random floats, or token ids 0 (valid in any vocabulary)."""
        if self.input_dtype.is_floating_point:
            return torch.randn(self.input_size, dtype=self.input_dtype, device=self.device)
        return torch.zeros(self.input_size, dtype=self.input_dtype, device=self.device)


def _zoo_build(name: str, options: dict[str, object], device: str) -> nn.Module:
    return build_zoo_model(name, options, device)


def _vit_build(device: str) -> nn.Module:
    with torch.device(device):
        return vit_b16()


def zoo_case(
    name: str, device: str, options: dict[str, object] | None = None, label: str | None = None, batch: int = 1
) -> Case:
    """Return the case of zoo model `name` at its default input (batch `batch`) on `device`."""
    entry = ZOO[name]
    options = dict(options or {})
    size = entry.input_size_for(**options)
    skip = TOO_BIG_FOR_HOST.get(name) if device != META else None
    return Case(label or name, device, (batch, *size[1:]), entry.input_dtype, partial(_zoo_build, name, options), skip)


def full_cases(device: str) -> list[Case]:
    """Return every case of the full benchmark, the real device `device` beside meta."""
    cases = []
    for target in dict.fromkeys((device, META)):  # once when the device is meta itself
        cases += [zoo_case(name, target) for name in ZOO]
        cases.append(zoo_case("resnet50", target, label=f"resnet50 b{RESNET_BATCHES[1]}", batch=RESNET_BATCHES[1]))
        cases.append(Case("vit_b16 encoder", target, (1, 3, 224, 224), torch.float32, _vit_build))
    for preset in GPT_PRESETS:
        options = {"preset": preset, "seq_len": GPT_SEQ_LEN}
        cases.append(zoo_case("gpt", META, options, label=f"gpt {preset} T{GPT_SEQ_LEN}"))
    return cases


def quick_cases(device: str) -> list[Case]:
    """Return the tiny set `--quick` runs: the MLP, LeNet-5 and a 2-layer GPT, on `device` and meta."""
    cases = []
    for target in dict.fromkeys((device, META)):
        cases += [zoo_case("mlp", target), zoo_case("lenet5", target)]
        cases.append(zoo_case("gpt", target, QUICK_GPT, label="gpt 2-layer"))
    return cases


def fresh_process_case(quick: bool) -> tuple[str, dict[str, object]]:
    """Return the zoo name and options that the fresh-process check inspects on meta."""
    return ("gpt", QUICK_GPT) if quick else ("gpt_7b", {})
