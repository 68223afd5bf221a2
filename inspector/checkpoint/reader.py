"""Reading checkpoints safely: every tensor's name, shape, dtype and size, never running their code.

Three walls. The file is parsed in a child process with a memory cap and a deadline (`core.sandbox`),
never in the caller (the app's server). `.safetensors` files are read by their header alone, every
field checked (`safetensors_header`). Pickled files (`.pt`, `.pth`, `.bin`, `.ckpt`) are first walked
opcode by opcode without running anything, refusing bombs and any global a state dict does not need
(`guard`); only then does `torch.load(weights_only=True, map_location="meta")` read them, and meta
keeps the tensors' data on disk.
"""

from __future__ import annotations

import os
import pickle
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from inspector.checkpoint.guard import check_pickled_checkpoint
from inspector.checkpoint.safetensors_header import read_safetensors_header
from inspector.core.bounds import shorten
from inspector.core.dtypes import dtype_name
from inspector.core.errors import InspectorError, InvalidArgumentError
from inspector.core.sandbox import SandboxError, run_limited

# Uploads and files larger than this are refused before reading (INSPECTOR_MAX_CHECKPOINT_MB).
DEFAULT_MAX_MB = 2048
SAFETENSORS_SUFFIXES = (".safetensors",)
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")
NESTED_KEYS = ("state_dict", "model", "model_state_dict", "module")
MAX_NAME_CHARS = 120  # how much of a file's name an error echoes (a path may be thousands of characters)


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


def _load_pickle(path: Path, name: str) -> object:
    """Return torch.load's result on meta, after the guard; whatever torch raises becomes one keyed error."""
    check_pickled_checkpoint(path, name)
    try:
        return torch.load(path, map_location="meta", weights_only=True)
    except MemoryError:  # the sandbox reports it with its limit
        raise
    except pickle.UnpicklingError as error:  # the guard is stricter, so torch refusing is a second net
        raise InvalidArgumentError("errors_a.pickle_refused", name=name, refused=str(error)) from None
    except Exception as error:  # torch raises anything on a malformed file: RuntimeError, IndexError, KeyError…
        reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        raise InvalidArgumentError("errors_a.bad_pickle", name=name, reason=reason) from None


def _state_dict(content: object, name: str) -> tuple[Mapping[str, torch.Tensor], str | None]:
    if isinstance(content, Mapping):
        if content and all(isinstance(value, torch.Tensor) for value in content.values()):
            return content, None
        for key in NESTED_KEYS:
            inner = content.get(key)
            if isinstance(inner, Mapping) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
                return inner, key
    raise InvalidArgumentError("errors_a.no_state_dict", name=name, keys=", ".join(repr(key) for key in NESTED_KEYS))


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


def check_file(file: Path, name: str) -> None:
    """Raise InvalidArgumentError unless `file` is a regular, non-empty file of a known suffix under the limit."""
    try:
        status = file.stat()
    except FileNotFoundError:
        raise InvalidArgumentError("errors_a.no_such_file", path=name) from None
    except OSError as error:  # a name too long, a loop of links, a folder in the path that is a file
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise InvalidArgumentError("checkpoint.unreadable", name=name, reason=reason) from None
    if stat.S_ISDIR(status.st_mode):
        raise InvalidArgumentError("checkpoint.is_directory", name=name)
    if not stat.S_ISREG(status.st_mode):  # /dev/zero, a pipe: reading would never end
        raise InvalidArgumentError("checkpoint.not_regular", name=name)
    if status.st_size == 0:
        raise InvalidArgumentError("checkpoint.empty", name=name)
    limit = max_checkpoint_bytes()
    if status.st_size > limit:
        size_mb, limit_mb = f"{status.st_size / 2**20:,.0f}", f"{limit / 2**20:,.0f}"
        raise InvalidArgumentError("errors_a.checkpoint_too_large", name=name, size=size_mb, limit=limit_mb)
    suffix = file.suffix.lower()
    if suffix not in SAFETENSORS_SUFFIXES + PICKLE_SUFFIXES:
        choices = ", ".join(SAFETENSORS_SUFFIXES + PICKLE_SUFFIXES)
        shown = repr(shorten(suffix, MAX_NAME_CHARS) or "(no suffix)")
        raise InvalidArgumentError("errors_a.unknown_checkpoint_type", suffix=shown, choices=choices)


def parse_checkpoint(path: str, name: str) -> CheckpointReport:
    """Return the report of the checkpoint at `path`, reading it in this process; `name` is shown in errors.

    This is what the sandboxed child runs: call `read_checkpoint` instead, which checks the file first
    and keeps this parsing out of the calling process.
    """
    file = Path(path)
    try:
        if file.suffix.lower() in SAFETENSORS_SUFFIXES:
            declared = read_safetensors_header(file, name)
            entries, file_format, key = [_entry(e.name, e.shape, e.dtype) for e in declared], "safetensors", None
        else:
            state, key = _state_dict(_load_pickle(file, name), name)
            entries, file_format = [_entry(tensor, list(t.shape), t.dtype) for tensor, t in state.items()], "pytorch"
    except (InspectorError, MemoryError):
        raise
    except OSError as error:
        raise InvalidArgumentError("checkpoint.unreadable", name=name, reason=error.strerror or str(error)) from None
    except Exception as error:  # zipfile and json raise their own kinds on odd input: each is still one message
        raise InvalidArgumentError(
            "checkpoint.unreadable", name=name, reason=f"{type(error).__name__}: {error}"
        ) from None
    return CheckpointReport(
        path=name,
        file_format=file_format,
        container_key=key,
        tensors=entries,
        total_numel=sum(e.numel for e in entries),
        total_bytes=sum(e.bytes for e in entries),
        tree=_tree(entries),
    )


def read_checkpoint(
    path: str | os.PathLike[str], name: str | None = None, cancelled: Callable[[], bool] | None = None
) -> CheckpointReport:
    """Return every tensor of a checkpoint file with totals and a module tree, loading no code.

    The file is checked here (a regular file, not empty, under the size limit, a known suffix) and
    parsed in a child process under a memory cap and a deadline (`inspector.core.sandbox`): nothing
    of the file is unpickled in this process. `name` is how errors and the report call the file (an
    upload's own name); it defaults to the path. `cancelled` stops the child when it returns True.
    """
    name = shorten(name if name is not None else str(path), MAX_NAME_CHARS)
    check_file(Path(path), name)
    try:
        return run_limited(parse_checkpoint, str(path), name, cancelled=cancelled)
    except SandboxError as error:
        if error.key == "sandbox.cancelled":
            raise
        raise InvalidArgumentError("checkpoint.stopped", name=name, error=error) from None
