"""Stand-in tensors and per-module counts shared by `inspection` and `graph_trace`.

Owns: the floating dtype a model's inputs take (`float_dtype`), the stand-in parameters and buffers
a forward runs with on another device or dtype (`converted_state`), a model's parameters or buffers
by name from one walk of its modules (`named_tensors`), and each module's parameter count with its
children's (`subtree_params`).
"""

from __future__ import annotations

from collections import defaultdict

import torch
from torch import nn

from inspector.core.errors import InvalidArgumentError


def float_dtype(model: nn.Module) -> torch.dtype:
    """Return the dtype of the model's first floating parameter, else torch's default."""
    for tensor in model.parameters():
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.get_default_dtype()


def converted_state(
    model: nn.Module, target: torch.device, cast: torch.dtype | None, named: list[tuple[str, nn.Module]] | None = None
) -> dict[str, torch.Tensor] | None:
    """Return stand-in parameters and buffers on `target`/`cast`, or None when the model fits as is.

    Stand-ins go through `functional_call`, so the user's module is never moved or cast; on meta
    they cost no memory. `named` is `list(model.named_modules())` when the caller has it.
    """
    # One name per tensor: functional_call re-ties shared parameters itself (tie_weights=True) and
    # refuses a stand-in given under both names of a tied weight.
    named = list(model.named_modules()) if named is None else named
    tensors = named_tensors(named, "_parameters")
    tensors.update(named_tensors(named, "_buffers"))

    def fits(tensor: torch.Tensor) -> bool:
        same_dtype = cast is None or not tensor.is_floating_point() or tensor.dtype == cast
        return tensor.device == target and same_dtype

    if all(fits(tensor) for tensor in tensors.values()):
        return None
    try:
        return {
            key: tensor.detach().to(target, cast if cast is not None and tensor.is_floating_point() else None)
            for key, tensor in tensors.items()
        }
    except (RuntimeError, MemoryError) as error:
        raise InvalidArgumentError("errors_b.could_not_place_weights", device=target, error=str(error)) from None


def named_tensors(named: list[tuple[str, nn.Module]], slot: str) -> dict[str, torch.Tensor]:
    """Return `model.named_parameters()` (slot `_parameters`) or `named_buffers()` (`_buffers`) from one walk.

    As torch names them: each tensor once, under the first module that holds it.
    """
    seen: set[int] = set()
    found = {}
    for prefix, module in named:
        for short, tensor in getattr(module, slot).items():
            if tensor is None or id(tensor) in seen:
                continue
            seen.add(id(tensor))
            found[f"{prefix}.{short}" if prefix else short] = tensor
    return found


def subtree_params(model: nn.Module) -> dict[str, int]:
    """Return each module's parameter count with its children's, a shared one once per subtree.

    One pass over the parameters, adding each to its owners' prefixes: asking every module for
    `parameters()` would walk each subtree again, which dominates on deep models.
    """
    seen: dict[str, set[int]] = defaultdict(set)
    totals: dict[str, int] = defaultdict(int)
    for full, param in model.named_parameters(remove_duplicate=False):
        parts = full.split(".")[:-1]
        for prefix in ("", *(".".join(parts[: i + 1]) for i in range(len(parts)))):
            if id(param) not in seen[prefix]:
                seen[prefix].add(id(param))
                totals[prefix] += param.numel()
    return totals
