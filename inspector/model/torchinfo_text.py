"""torchinfo's classic text summary of a model, for those who know it, leaving the model as found.

torchinfo moves the model to `device` and calls `model.train(mode)` on the root only, so per-module
modes would come back flattened; this wrapper records each module's mode and the tensors' device
and restores both in a `finally`, and turns torchinfo's failures into an InspectorError.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torchinfo import summary

from inspector.core.devices import resolve_device
from inspector.core.errors import ForwardError, InvalidArgumentError

COLUMNS = ("input_size", "output_size", "num_params", "mult_adds")


def _single_device(model: nn.Module) -> torch.device | None:
    devices = {tensor.device for tensor in [*model.parameters(), *model.buffers()]}
    return devices.pop() if len(devices) == 1 else None


def torchinfo_summary(
    model: nn.Module,
    input_size: Sequence[int] | Sequence[Sequence[int]],
    device: str | torch.device | None = None,
    dtypes: Sequence[torch.dtype] | None = None,
    depth: int = 3,
) -> str:
    """Return torchinfo's text table for `model` run on an input of `input_size` (batch included)."""
    if not isinstance(model, nn.Module):
        raise InvalidArgumentError("errors_a.not_module", type=type(model).__name__)
    if not isinstance(depth, int) or isinstance(depth, bool) or depth < 0:
        raise InvalidArgumentError("errors_a.bad_depth", value=repr(depth))
    target = resolve_device(device)
    modes = {name: module.training for name, module in model.named_modules()}
    home = _single_device(model)
    try:
        stats = summary(
            model,
            input_size=list(input_size),
            device=target,
            dtypes=list(dtypes) if dtypes else None,
            depth=depth,
            col_names=COLUMNS,
            verbose=0,
            mode="eval",
        )
        return str(stats)
    except Exception as error:  # torchinfo wraps any forward failure in a bare RuntimeError
        cause = error.__cause__ or error
        raise ForwardError("model.torchinfo_failed", model=type(model).__name__, torch_message=str(cause)) from None
    finally:
        if home is not None and _single_device(model) != home:
            model.to(home)
        for name, module in model.named_modules():
            module.training = modes[name]
