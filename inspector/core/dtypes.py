"""Names of the dtypes users may choose, and turning those names into torch dtypes."""

from __future__ import annotations

from enum import StrEnum

import torch

from inspector.core.errors import InvalidArgumentError


class DType(StrEnum):
    """The dtypes offered for parameters and inputs."""

    FLOAT32 = "float32"
    FLOAT64 = "float64"
    FLOAT16 = "float16"
    BFLOAT16 = "bfloat16"
    INT64 = "int64"
    INT32 = "int32"


_TORCH = {
    DType.FLOAT32: torch.float32,
    DType.FLOAT64: torch.float64,
    DType.FLOAT16: torch.float16,
    DType.BFLOAT16: torch.bfloat16,
    DType.INT64: torch.int64,
    DType.INT32: torch.int32,
}
_ALIASES = {
    "fp32": "float32",
    "float": "float32",
    "fp64": "float64",
    "double": "float64",
    "fp16": "float16",
    "half": "float16",
    "bf16": "bfloat16",
    "long": "int64",
    "int": "int32",
}
FLOATING = (DType.FLOAT32, DType.FLOAT64, DType.FLOAT16, DType.BFLOAT16)


def resolve_dtype(value: object, *, floating_only: bool = True) -> torch.dtype:  # object: it checks what arrives
    """Return the torch dtype for a name such as 'float32', 'bf16' or a torch.dtype."""
    allowed = FLOATING if floating_only else tuple(DType)
    if isinstance(value, torch.dtype):
        for choice in allowed:
            if _TORCH[choice] == value:
                return value
        raise InvalidArgumentError("dtype_unsupported", dtype=str(value), choices=", ".join(allowed))
    if not isinstance(value, str):
        raise InvalidArgumentError("core.dtype_not_text", type=type(value).__name__)
    text = value.strip().lower().removeprefix("torch.")
    text = _ALIASES.get(text, text)
    if text not in {choice.value for choice in allowed}:
        raise InvalidArgumentError("unknown_dtype", dtype=repr(value), choices=", ".join(allowed))
    return _TORCH[DType(text)]


def dtype_name(dtype: torch.dtype) -> str:
    """Return a dtype's short name: torch.float32 → 'float32'."""
    return str(dtype).removeprefix("torch.")
