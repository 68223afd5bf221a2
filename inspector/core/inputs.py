"""Making the example inputs for a forward pass, and calling a model with them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch

from inspector.core.dtypes import resolve_dtype
from inspector.core.errors import InvalidArgumentError
from inspector.core.messages import msg
from inspector.core.shapes import numel, validate_size

# Inputs larger than this are refused on real devices (meta costs nothing): a typo such as
# 1,3,22400,22400 should get a message, not exhaust the machine.
MAX_INPUT_BYTES = 4 * 2**30


def _is_shape(value: object) -> bool:
    return (
        isinstance(value, Sequence)
        and not isinstance(value, (str, bytes))
        and all(isinstance(dim, int) and not isinstance(dim, bool) for dim in value)
    )


def _shapes(input_size: object) -> list[tuple[int, ...]]:
    if isinstance(input_size, torch.Size) or _is_shape(input_size):
        return [validate_size(input_size)]
    if isinstance(input_size, Sequence) and not isinstance(input_size, (str, bytes)) and input_size:
        return [
            validate_size(item, msg("engine.errors_b.what.input_size_n", index=index))
            for index, item in enumerate(input_size)
        ]
    raise InvalidArgumentError("errors_b.input_size_not_shape", value=repr(input_size))


def _new_tensor(shape: tuple[int, ...], device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    size = numel(shape) * torch.empty((), dtype=dtype).element_size()
    if device.type != "meta" and size > MAX_INPUT_BYTES:
        raise InvalidArgumentError(
            "input_too_large",
            shape=shape,
            size=f"{size / 2**30:.1f}",
            device=device,
            limit=f"{MAX_INPUT_BYTES / 2**30:.0f}",
        )
    if dtype.is_floating_point:
        return torch.randn(shape, device=device, dtype=dtype)
    # Zeros are a valid index for every embedding, whatever its vocabulary.
    return torch.zeros(shape, device=device, dtype=dtype)


def _place(value: object, device: torch.device, float_dtype: torch.dtype) -> object:
    if isinstance(value, torch.Tensor):
        return value.detach().to(device, float_dtype if value.is_floating_point() else None)
    if isinstance(value, Mapping):
        return {key: _place(item, device, float_dtype) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(_place(item, device, float_dtype) for item in value)
    return value


def make_inputs(
    input_size: object,
    input_data: object,
    device: torch.device,
    float_dtype: torch.dtype,
    input_dtype: str | torch.dtype | None = None,
) -> object:
    """Return the forward's input: random tensors of `input_size`, or `input_data` placed on `device`.

    The user's own tensors are copied, never moved. A list of sizes gives a list of positional
    inputs; integer `input_dtype`s give zeros (token ids that every vocabulary has).
    """
    if (input_size is None) == (input_data is None):
        raise InvalidArgumentError("errors_b.size_or_data")
    if input_data is not None:
        try:
            return _place(input_data, device, float_dtype)
        except (RuntimeError, MemoryError) as error:
            raise InvalidArgumentError("errors_b.could_not_place_input", device=device, error=str(error)) from None
    dtype = resolve_dtype(input_dtype, floating_only=False) if input_dtype is not None else float_dtype
    if dtype.is_floating_point and input_dtype is not None:
        dtype = float_dtype
    shapes = _shapes(input_size)
    try:
        tensors = [_new_tensor(shape, device, dtype) for shape in shapes]
    except (RuntimeError, MemoryError) as error:
        raise InvalidArgumentError("errors_b.could_not_allocate_input", device=device, error=str(error)) from None
    return tensors[0] if len(tensors) == 1 else tensors


def run_call(model: Callable, inputs: object, call: Callable | None = None) -> object:
    """Return `call(inputs)`: a dict is passed as keywords, a list/tuple as positional arguments."""
    call = call or model
    if isinstance(inputs, Mapping):
        return call(**inputs)
    if isinstance(inputs, (list, tuple)):
        return call(*inputs)
    return call(inputs)
