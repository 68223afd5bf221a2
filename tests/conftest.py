"""Shared fixtures: small real models that exercise what inspection must get right."""

from __future__ import annotations

import pytest
import torch
from torch import nn


class NotesMLP(nn.Module):
    """The notes' MLP, written as they write it."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(784, 256)
        self.act = nn.ReLU()
        self.output = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.act(self.hidden(x)))


class TiedAutoencoder(nn.Module):
    """Decoder weight is the encoder's: one parameter, two owners."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(100, 16)
        self.head = nn.Linear(16, 100, bias=False)
        self.head.weight = self.embed.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(tokens))


class DictModel(nn.Module):
    """Keyword inputs in, a dict out."""

    def __init__(self) -> None:
        super().__init__()
        self.image = nn.Conv2d(3, 4, 3, padding=1)
        self.text = nn.Linear(12, 4)

    def forward(self, image: torch.Tensor, text: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"image": self.image(image), "text": self.text(text)}


@pytest.fixture
def notes_mlp() -> NotesMLP:
    torch.manual_seed(0)
    return NotesMLP()


@pytest.fixture
def tied() -> TiedAutoencoder:
    return TiedAutoencoder()


@pytest.fixture
def dict_model() -> DictModel:
    return DictModel()


def model_state(model: nn.Module) -> dict[str, object]:
    """Everything inspection promises to leave alone, in a comparable form."""
    return {
        "modes": [m.training for m in model.modules()],
        "devices": [str(t.device) for t in model.state_dict().values()],
        "dtypes": [str(t.dtype) for t in model.state_dict().values()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "hooks": [(len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks)) for m in model.modules()],
        "values": {k: v.clone() for k, v in model.state_dict().items()},
    }


def assert_same_state(before: dict[str, object], after: dict[str, object]) -> None:
    values_before, values_after = before.pop("values"), after.pop("values")
    assert before == after
    assert values_before.keys() == values_after.keys()
    for key, value in values_before.items():
        assert torch.equal(value, values_after[key]), key


@pytest.fixture(scope="module")
def streamlit_server() -> object:
    """A real `streamlit run app.py` on a free loopback port for one test module (see tests/server.py)."""
    from server import streamlit_server as start  # tests/ is on sys.path: pytest's rootdir-less test folder

    with start() as server:
        yield server
