"""The choices a training plan is made of, and the checks on counts: precision, optimizer, loss.

Each choice is a StrEnum with the table the estimate reads (compute dtype, optimizer state slots);
`parse_choice` and `check_count` turn what a user typed into a member or a whole number, or raise
saying what is allowed.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TypeVar

import torch

from inspector.core.errors import InvalidArgumentError
from inspector.core.messages import Message, msg

MAX_BATCH_SIZE = 2**20  # far beyond any real batch; bigger is a typo


class Precision(StrEnum):
    """How weights and activations are stored; MIXED computes in bf16 and keeps fp32 master weights."""

    FP32 = "fp32"
    FP64 = "fp64"
    BF16 = "bf16"
    FP16 = "fp16"
    MIXED = "mixed"


class OptimizerName(StrEnum):
    """The optimizers the planner knows the state of."""

    SGD = "sgd"
    SGD_MOMENTUM = "sgd_momentum"
    ADAM = "adam"
    ADAMW = "adamw"


class LossName(StrEnum):
    """The losses a training step can use; targets are made to fit the model's output."""

    CROSS_ENTROPY = "cross_entropy"
    MSE = "mse"


COMPUTE_DTYPE = {
    Precision.FP32: torch.float32,
    Precision.FP64: torch.float64,
    Precision.BF16: torch.bfloat16,
    Precision.FP16: torch.float16,
    Precision.MIXED: torch.bfloat16,  # bf16 needs no loss scaling, unlike fp16
}
STATE_SLOTS = {
    OptimizerName.SGD: 0,  # plain SGD keeps nothing between steps
    OptimizerName.SGD_MOMENTUM: 1,  # momentum_buffer: one tensor like each parameter
    OptimizerName.ADAM: 2,  # exp_avg and exp_avg_sq
    OptimizerName.ADAMW: 2,  # the same two; decoupled weight decay adds none
}
ADAM_STEP_BYTES = 4  # Adam's `step` is one float32 scalar tensor per parameter tensor


Choice = TypeVar("Choice", bound=StrEnum)

_ALIASES = {
    "float32": "fp32",
    "float64": "fp64",
    "double": "fp64",
    "bfloat16": "bf16",
    "float16": "fp16",
    "amp": "mixed",
    "crossentropy": "cross_entropy",
}


def precision_for(dtype: str, mixed: bool = False) -> Precision:
    """Return the precision that trains in `dtype` (float32, float64, float16, bfloat16, or a precision's own
    name), or MIXED when `mixed`: bf16 compute with fp32 master weights, whatever the dtype."""
    return Precision.MIXED if mixed else parse_choice(Precision, dtype)


# The name each choice goes by in an error, as the catalogues translate it.
_CHOICE_NAMES = {
    Precision: msg("engine.errors_b.what.precision"),
    OptimizerName: msg("engine.errors_b.what.optimizer"),
    LossName: msg("engine.errors_b.what.loss"),
}


def parse_choice(kind: type[Choice], value: object) -> Choice:
    """Return the member of `kind` (Precision, OptimizerName, LossName) named `value`, or raise listing them."""
    if not isinstance(value, str):
        raise _unknown_choice(kind, value)
    text = value.strip().lower().replace("-", "_")
    text = _ALIASES.get(text, text)
    if text in {member.value for member in kind}:
        return kind(text)
    raise _unknown_choice(kind, value)


def _unknown_choice(kind: type[StrEnum], value: object) -> InvalidArgumentError:
    choices = ", ".join(kind)
    return InvalidArgumentError("errors_b.unknown_choice", name=_CHOICE_NAMES[kind], value=repr(value), choices=choices)


def check_count(value: object, what: Message | str, maximum: int, minimum: int = 1) -> int:
    """Return `value` as a whole number in [minimum, maximum], or raise saying the range.

    `what` names the value in the error: a Message from `engine.errors_b.what` (translated), or text
    that reads the same in every language.
    """
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif (isinstance(value, float) and value.is_integer()) or (  # NaN and inf are not integers
        isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value)
    ):
        number = int(value)
    low, high = f"{minimum:,}", f"{maximum:,}"
    if number is None:
        raise InvalidArgumentError("errors_b.count_not_whole", value=repr(value), what=what, minimum=low, maximum=high)
    if not minimum <= number <= maximum:
        raise InvalidArgumentError(
            "errors_b.count_out_of_range", value=f"{number:,}", what=what, minimum=low, maximum=high
        )
    return number
