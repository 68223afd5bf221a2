"""The input first: for a whole model that failed, the corrected input that makes it run, proven.

A model fed an unbatched image, a channels-last image or a size it was not made for fails deep
inside, and the layer rules then fit that layer to the wrong shape ("replace bn1 with
nn.BatchNorm1d(112)"). The real fix is at the input, so before any layer rule the doctor tries the
corrected inputs in turn (add the batch dimension, put channels first, the model's own default
size) and names the first one with which the whole forward runs. Each is proven by running the
model on the meta device with stand-ins for its weights (`functional_call`), the model left as found.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call

from inspector.core.collect import kept_as_found
from inspector.core.messages import Message, msg
from inspector.core.shapes import format_shape_tree

META = torch.device("meta")


@dataclass(frozen=True)
class InputCandidate:
    """A corrected input: its size, the code that makes it from the given one (or None), and why."""

    size: tuple[int, ...]
    code: str | None
    why: Message


def first_in_channels(model: nn.Module) -> int | None:
    """Return the in_channels of the model's first layer that has one (a convolution), or None."""
    for module in model.modules():
        channels = getattr(module, "in_channels", None)
        if isinstance(channels, int):
            return channels
    return None


def _channels_first(given: tuple[int, ...]) -> tuple[int, ...]:
    return (given[0], given[-1], *given[1:-1])


def input_candidates(
    given: tuple[int, ...], in_channels: int | None, default_size: tuple[int, ...] | None
) -> Iterator[InputCandidate]:
    """Yield the corrected inputs worth trying for `given`, the most likely first.

    Channels last is only suspected when the last dimension is the first layer's in_channels and
    dimension 1 is not (an image (N, H, W, C) as loaded by PIL or NumPy).
    """
    shape = format_shape_tree(list(given))
    yield InputCandidate((1, *given), "x.unsqueeze(0)", msg("doctor.input.unbatched", given=shape))
    channels_last = in_channels is not None and len(given) >= 3 and given[-1] == in_channels
    if channels_last and given[1] != in_channels:
        order = ", ".join(str(dim) for dim in (0, len(given) - 1, *range(1, len(given) - 1)))
        why = msg("doctor.input.channels_last", given=shape, channels=in_channels)
        yield InputCandidate(_channels_first(given), f"x.permute({order})", why)
    if channels_last and given[0] not in (1, in_channels):  # unbatched and channels last: (H, W, C)
        order = ", ".join(str(dim) for dim in (len(given) - 1, *range(len(given) - 1)))
        why = msg("doctor.input.unbatched_channels_last", given=shape, channels=in_channels)
        yield InputCandidate(_channels_first((1, *given)), f"x.permute({order}).unsqueeze(0)", why)
    if default_size is not None and tuple(default_size) != given:
        why = msg("doctor.input.default_size", given=shape, size=format_shape_tree(list(default_size)))
        yield InputCandidate(tuple(default_size), None, why)


def runs_with(model: nn.Module, size: tuple[int, ...], dtype: torch.dtype, mode: str) -> bool:
    """Return whether the whole forward of `model` runs on an input of `size`, checked on meta.

    The weights are stand-ins on meta (no memory, no arithmetic); the model is left as found.
    """
    if any(dim < 1 for dim in size):
        return False
    tensors: dict[str, torch.Tensor] = dict(model.named_parameters())
    tensors.update(model.named_buffers())
    try:
        state = {name: tensor.detach().to(META) for name, tensor in tensors.items()}
        with kept_as_found(model), torch.no_grad():
            model.train(mode == "train")
            functional_call(model, state, (torch.empty(size, dtype=dtype, device=META),))
    except Exception:  # any failure means this input does not fit; the user's own forward may raise anything
        return False
    return True


@dataclass(frozen=True)
class WholeModel:
    """A whole model's failed forward as the doctor sees it: the model and the one input it was given."""

    model: nn.Module
    given: tuple[int, ...]
    dtype: torch.dtype
    mode: str = "eval"
    default_size: tuple[int, ...] | None = None  # the size the model was made for, when known (zoo models)


def input_fix(whole: WholeModel) -> Message | None:
    """Return the fix at the input for `whole.model` failing on `whole.given`, or None.

    The fix names the code that corrects the input and the corrected size; it is only given once
    the whole forward has run with that size.
    """
    for candidate in input_candidates(whole.given, first_in_channels(whole.model), whole.default_size):
        if runs_with(whole.model, candidate.size, whole.dtype, whole.mode):
            size = format_shape_tree(list(candidate.size))
            flag = ",".join(str(dim) for dim in candidate.size)
            if candidate.code is None:
                return msg("doctor.input.use_size", why=candidate.why, size=size, flag=flag)
            return msg("doctor.input.use_code", why=candidate.why, code=candidate.code, size=size, flag=flag)
    return None
