"""Reading checkpoints safely: every tensor's name, shape, dtype and size, never running their code.

`.safetensors` files are read through safetensors' own loader (header only: no tensor data is
read). Pickled files (`.pt`, `.pth`, `.bin`) go only through `torch.load(weights_only=True,
map_location="meta")`: the restricted unpickler refuses any object that is not a tensor or plain
container, and meta keeps the tensors' data on disk.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from inspector.core.dtypes import dtype_name
from inspector.core.errors import InvalidArgumentError

# Uploads and files larger than this are refused before reading (INSPECTOR_MAX_CHECKPOINT_MB).
DEFAULT_MAX_MB = 2048
SAFETENSORS_SUFFIXES = (".safetensors",)
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")
NESTED_KEYS = ("state_dict", "model", "model_state_dict", "module")


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of a checkpoint."""

    name: str
    shape: list[int]
    dtype: str
    numel: int
    bytes: int


@dataclass
class ModuleGroup:
    """A node of the module tree: its tensors' subtotals and its children by name."""

    name: str
    numel: int = 0
    bytes: int = 0
    tensors: list[TensorEntry] = field(default_factory=list)
    children: dict[str, ModuleGroup] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckpointReport:
    """Every tensor of a checkpoint, the totals, the module tree, and where the tensors were found."""

    path: str
    file_format: str
    container_key: str | None
    tensors: list[TensorEntry]
    total_numel: int
    total_bytes: int
    tree: ModuleGroup


def max_checkpoint_bytes() -> int:
    """Return the size limit in bytes (INSPECTOR_MAX_CHECKPOINT_MB, default 2048 MB)."""
    raw = os.environ.get("INSPECTOR_MAX_CHECKPOINT_MB", str(DEFAULT_MAX_MB))
    try:
        megabytes = float(raw)
    except ValueError:
        megabytes = DEFAULT_MAX_MB
    return int(megabytes * 2**20) if megabytes > 0 else DEFAULT_MAX_MB * 2**20


def _entry(name: str, shape: list[int], dtype: torch.dtype) -> TensorEntry:
    numel = 1
    for dim in shape:
        numel *= dim
    return TensorEntry(name, shape, dtype_name(dtype), numel, numel * dtype.itemsize)


def _read_safetensors(path: Path) -> list[TensorEntry]:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            entries = []
            for name in handle.keys():  # noqa: SIM118 - safe_open is not a mapping
                piece = handle.get_slice(name)
                dtype = _SAFETENSORS_DTYPES.get(piece.get_dtype())
                if dtype is None:
                    raise InvalidArgumentError(
                        f"tensor {name!r} has an unsupported dtype {piece.get_dtype()}",
                        key="errors_a.unsupported_dtype",
                        params={"name": repr(name), "dtype": piece.get_dtype()},
                    )
                entries.append(_entry(name, list(piece.get_shape()), dtype))
            return entries
    except (SafetensorError, OSError, ValueError) as error:
        raise InvalidArgumentError(
            f"{path.name} is not a readable safetensors file: {error}",
            "the file may be truncated or corrupt",
            key="errors_a.bad_safetensors",
            params={"name": path.name, "reason": str(error)},
        ) from None


_SAFETENSORS_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
    "BOOL": torch.bool, "F8_E4M3": torch.float8_e4m3fn, "F8_E5M2": torch.float8_e5m2,
}  # fmt: skip


def _load_pickle(path: Path) -> object:
    try:
        return torch.load(path, map_location="meta", weights_only=True)
    except pickle.UnpicklingError as error:
        raise InvalidArgumentError(
            f"{path.name} was refused: it holds objects other than tensors and plain containers, "
            f"which could run code when loaded ({_refused_global(str(error))})",
            "only load it with weights_only=False if you trust where it came from; re-save it as a state_dict "
            "or .safetensors",
            key="errors_a.pickle_refused",
            params={"name": path.name, "refused": _refused_global(str(error))},
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, AttributeError) as error:
        reason = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
        raise InvalidArgumentError(
            f"{path.name} is not a readable PyTorch checkpoint: {reason}",
            "the file may be truncated or corrupt",
            key="errors_a.bad_pickle",
            params={"name": path.name, "reason": reason},
        ) from None


def _refused_global(message: str) -> str:
    """Return the line of torch's refusal that names the forbidden object, e.g. 'GLOBAL posix.system'."""
    for line in message.splitlines():
        if "unsupported" in line.lower() and ("GLOBAL" in line or "global" in line or "operand" in line):
            return line.strip().removeprefix("WeightsUnpickler error: ")[:200]
    return "unsupported content"


def _state_dict(content: object, name: str) -> tuple[Mapping[str, torch.Tensor], str | None]:
    if isinstance(content, Mapping):
        if content and all(isinstance(value, torch.Tensor) for value in content.values()):
            return content, None
        for key in NESTED_KEYS:
            inner = content.get(key)
            if isinstance(inner, Mapping) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
                return inner, key
    raise InvalidArgumentError(
        f"{name} holds no state dict (a mapping of names to tensors, also under "
        f"{', '.join(repr(key) for key in NESTED_KEYS)})",
        "save one with torch.save(model.state_dict(), path)",
        key="errors_a.no_state_dict",
        params={"name": name, "keys": ", ".join(repr(key) for key in NESTED_KEYS)},
    )


def _tree(entries: list[TensorEntry]) -> ModuleGroup:
    root = ModuleGroup("")
    for entry in entries:
        node = root
        node.numel += entry.numel
        node.bytes += entry.bytes
        for part in entry.name.split(".")[:-1]:
            child_name = f"{node.name}.{part}" if node.name else part
            node = node.children.setdefault(part, ModuleGroup(child_name))
            node.numel += entry.numel
            node.bytes += entry.bytes
        node.tensors.append(entry)
    return root


def read_checkpoint(path: str | os.PathLike[str]) -> CheckpointReport:
    """Return every tensor of a checkpoint file with totals and a module tree, loading no code."""
    file = Path(path)
    if not file.is_file():
        raise InvalidArgumentError(f"no such file: {file}", key="errors_a.no_such_file", params={"path": str(file)})
    size, limit = file.stat().st_size, max_checkpoint_bytes()
    if size > limit:
        raise InvalidArgumentError(
            f"{file.name} is {size / 2**20:,.0f} MB, over the {limit / 2**20:,.0f} MB limit",
            "raise INSPECTOR_MAX_CHECKPOINT_MB if you trust the file and have the memory",
            key="errors_a.checkpoint_too_large",
            params={"name": file.name, "size": f"{size / 2**20:,.0f}", "limit": f"{limit / 2**20:,.0f}"},
        )
    suffix = file.suffix.lower()
    if suffix in SAFETENSORS_SUFFIXES:
        entries, file_format, key = _read_safetensors(file), "safetensors", None
    elif suffix in PICKLE_SUFFIXES:
        state, key = _state_dict(_load_pickle(file), file.name)
        entries = [_entry(name, list(t.shape), t.dtype) for name, t in state.items()]
        file_format = "pytorch"
    else:
        raise InvalidArgumentError(
            f"unknown checkpoint type {suffix or '(no suffix)'!r}",
            f"use one of {', '.join(SAFETENSORS_SUFFIXES + PICKLE_SUFFIXES)}",
            key="errors_a.unknown_checkpoint_type",
            params={
                "suffix": repr(suffix or "(no suffix)"),
                "choices": ", ".join(SAFETENSORS_SUFFIXES + PICKLE_SUFFIXES),
            },
        )
    return CheckpointReport(
        path=str(file),
        file_format=file_format,
        container_key=key,
        tensors=entries,
        total_numel=sum(e.numel for e in entries),
        total_bytes=sum(e.bytes for e in entries),
        tree=_tree(entries),
    )
