"""The shape doctor's registry: what a rule sees (`FailureSite`), what it returns (`Finding`), and the
decorator that files it under the layer classes it knows.

Kept apart from `doctor`, which dispatches, so the rule modules can import it without a cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from inspector.core.messages import Message
from inspector.doctor.fixes import Fix
from inspector.layers.args import ArgValue


@dataclass(frozen=True)
class PreviousLayer:
    """A layer that ran before the failing one: its position, class, arguments and shapes."""

    index: int
    layer_class: type[nn.Module]
    args: Mapping[str, ArgValue]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]


@dataclass(frozen=True)
class FailureSite:
    """Where a layer failed and on what. Inside a spec, `index`, `previous` and the network input are known."""

    module: nn.Module
    input_shape: tuple[int, ...]
    input_dtype: torch.dtype | None = None
    index: int | None = None
    name: str = ""
    previous: tuple[PreviousLayer, ...] = ()
    network_input: tuple[int, ...] | None = None
    network_input_dtype: str | None = None
    torch_message: str = ""


@dataclass(frozen=True)
class Finding:
    """What a rule found: the reason (with both shapes), what the layer takes, and the fixes, best first."""

    reason: Message
    expected: str
    fixes: tuple[Fix, ...] = ()


Rule = Callable[[FailureSite], Finding | None]
RULES: dict[type[nn.Module], Rule] = {}


def diagnoses(*classes: type[nn.Module]) -> Callable[[Rule], Rule]:
    """Register the decorated function as the rule for these layer classes."""

    def register(function: Rule) -> Rule:
        for cls in classes:
            RULES[cls] = function
        return function

    return register


def rule_for(module: nn.Module) -> Rule | None:
    """Return the rule for `module`'s class or its nearest registered base class (via the MRO)."""
    return next((RULES[cls] for cls in type(module).__mro__ if cls in RULES), None)


def at_network_input(site: FailureSite) -> bool:
    """Return whether the failing layer is the first of a spec, so fixing its input means reshaping X."""
    return site.index == 0 and site.network_input is not None
