"""The two small modules from the notes: a one-hidden-layer MLP and a ParameterList chain."""

from __future__ import annotations

import torch
from torch import nn


class MLP(nn.Module):
    """One hidden layer (Linear + ReLU) followed by an output layer: (B, in) -> (B, out).

    The attribute names `hidden`, `act` and `output` are the notes' own, so the layer names an
    inspection prints match the text.
    """

    def __init__(self, in_features: int = 784, hidden: int = 256, out_features: int = 10) -> None:
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.act = nn.ReLU()
        self.output = nn.Linear(hidden, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(self.hidden(x))  # (B, hidden)
        return self.output(x)  # (B, out_features)


class ParameterListChain(nn.Module):
    """Multiplies the input by each parameter of a ParameterList in turn: (1, 4) -> (1, 1).

    Three 4×4 matrices and a final 4×1 column, 3·16 + 4 = 52 parameters. It shows that
    parameters held in an `nn.ParameterList` are registered (a plain Python list would hide them
    from `parameters()`), and that a module without layers still has a shape story.
    """

    def __init__(self) -> None:
        super().__init__()
        self.params = nn.ParameterList([nn.Parameter(torch.randn(4, 4)) for _ in range(3)])
        self.params.append(nn.Parameter(torch.randn(4, 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for p in self.params:
            x = torch.mm(x, p)  # (B, 4) for the square ones, (B, 1) after the column
        return x
