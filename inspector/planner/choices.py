"""The choices a training plan is made of, and the checks on counts: precision, optimizer, loss.

Each choice is a StrEnum with the table the estimate reads (compute dtype, optimizer state slots);
`parse_choice` and `check_count` turn what a user typed into a member or a whole number, or raise
saying what is allowed.
"""

from __future__ import annotations

import re
from enum import StrEnum

import torch

from inspector.core.errors import InvalidArgumentError
from inspector.core.messages import Message

MAX_BATCH_SIZE = 2**20  # far beyond any real batch; bigger is a typo


class Precision(StrEnum):
    """How weights and activations are stored; MIXED computes in bf16 and keeps fp32 master weights."""

    FP32 = "fp32"
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


_ALIASES = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16", "amp": "mixed", "crossentropy": "cross_entropy"}


def parse_choice(kind: type[StrEnum], value: object, what: str) -> StrEnum:
    """Return the member of `kind` named `value`, or raise listing the choices."""
    text = str(value).strip().lower().replace("-", "_") if isinstance(value, str) else None
    text = _ALIASES.get(text, text)
    if text in {member.value for member in kind}:
        return kind(text)
    raise InvalidArgumentError(
        f"unknown {what} {value!r}",
        f"choose one of: {', '.join(kind)}",
        key="errors_b.unknown_choice",
        params={"name": _what(what), "value": repr(value), "choices": ", ".join(kind)},
    )


def _what(what: str) -> Message:
    """Return the name of a checked value (`batch size`, `optimizer`) as a Message its catalogues may translate."""
    return Message(what, "engine.errors_b.what." + (re.sub(r"\W+", "_", what).strip("_") or "value"))


def check_count(value: object, what: str, maximum: int, minimum: int = 1) -> int:
    """Return `value` as a whole number in [minimum, maximum], or raise saying the range."""
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif (isinstance(value, float) and value.is_integer()) or (  # NaN and inf are not integers
        isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value)
    ):
        number = int(value)
    hint = f"give a whole number from {minimum:,} to {maximum:,}"
    if number is None:
        raise InvalidArgumentError(
            f"{what} must be a whole number, got {value!r}",
            hint,
            key="errors_b.count_not_whole",
            params={"what": _what(what), "value": repr(value), "minimum": f"{minimum:,}", "maximum": f"{maximum:,}"},
        )
    if not minimum <= number <= maximum:
        raise InvalidArgumentError(
            f"{what} must be between {minimum:,} and {maximum:,}, got {number:,}",
            hint,
            key="errors_b.count_out_of_range",
            params={"what": _what(what), "value": f"{number:,}", "minimum": f"{minimum:,}", "maximum": f"{maximum:,}"},
        )
    return number
