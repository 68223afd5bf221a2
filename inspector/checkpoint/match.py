"""Does a checkpoint fit a model? Missing and unexpected keys and shape mismatches, exactly."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from inspector.checkpoint.reader import MAX_NAME_CHARS, CheckpointReport, max_checkpoint_bytes, read_checkpoint
from inspector.core.bounds import shorten
from inspector.core.errors import InvalidArgumentError
from inspector.core.messages import NONE, msg
from inspector.model.sources import resolve_model
from inspector.model.zoo import build_zoo_model

WRAPPER_PREFIXES = ("module.", "_orig_mod.", "model.")


@dataclass(frozen=True)
class ShapeMismatch:
    """A key present in both, with different shapes."""

    name: str
    file_shape: list[int]
    model_shape: list[int]


@dataclass(frozen=True)
class CheckpointMatch:
    """The comparison of a checkpoint's tensors with a model's state_dict."""

    model: str
    fits: bool
    missing: list[str]
    unexpected: list[str]
    mismatched: list[ShapeMismatch]
    matched: int
    strip_prefix: str | None
    verdict: str


def _model_shapes(model: nn.Module) -> dict[str, list[int]]:
    return {name: list(tensor.shape) for name, tensor in model.state_dict().items()}


def _prefix_fix(file_keys: set[str], model_keys: set[str]) -> str | None:
    """Return a wrapper prefix (DataParallel's 'module.', torch.compile's '_orig_mod.') that, removed, fits."""
    for prefix in WRAPPER_PREFIXES:
        if file_keys and all(key.startswith(prefix) for key in file_keys):
            stripped = {key.removeprefix(prefix) for key in file_keys}
            if len(stripped & model_keys) > len(file_keys & model_keys):
                return prefix
    return None


def compare_shapes(checkpoint: CheckpointReport, model_shapes: Mapping[str, list[int]], model: str) -> CheckpointMatch:
    """Return how the checkpoint's tensors line up with `model_shapes` (name → shape)."""
    file_shapes = {entry.name: entry.shape for entry in checkpoint.tensors}
    prefix = _prefix_fix(set(file_shapes), set(model_shapes))
    if prefix:
        file_shapes = {name.removeprefix(prefix): shape for name, shape in file_shapes.items()}
    missing = sorted(set(model_shapes) - set(file_shapes))
    unexpected = sorted(set(file_shapes) - set(model_shapes))
    common = [name for name in model_shapes if name in file_shapes]
    mismatched = [
        ShapeMismatch(name, file_shapes[name], model_shapes[name])
        for name in common
        if file_shapes[name] != model_shapes[name]
    ]
    fits = not (missing or unexpected or mismatched)
    return CheckpointMatch(
        model=model,
        fits=fits,
        missing=missing,
        unexpected=unexpected,
        mismatched=mismatched,
        matched=len(common) - len(mismatched),
        strip_prefix=prefix,
        verdict=_verdict(model, fits, missing, unexpected, mismatched, prefix),
    )


def _verdict(
    model: str,
    fits: bool,
    missing: list[str],
    unexpected: list[str],
    mismatched: list[ShapeMismatch],
    prefix: str | None,
) -> str:
    if fits:
        note = msg("checkpoint_match.prefix_note", prefix=repr(prefix)) if prefix else NONE
        return msg("checkpoint_match.fits", model=model, note=note)
    reasons = []
    if mismatched:
        first = mismatched[0]
        file_shape, model_shape = tuple(first.file_shape), tuple(first.model_shape)
        count = len(mismatched)
        reasons.append(
            msg("checkpoint_match.mismatched", count=count, name=first.name, file=file_shape, model=model_shape)
        )
    if missing:
        reasons.append(msg("checkpoint_match.missing", count=len(missing), name=missing[0]))
    if unexpected:
        reasons.append(msg("checkpoint_match.unexpected", count=len(unexpected), name=unexpected[0]))
    listed = reasons[-1] if reasons else NONE
    for reason in reversed(reasons[:-1]):  # "a; b; c", one pair at a time
        listed = msg("checkpoint_match.then", first=reason, rest=listed)
    return msg("checkpoint_match.does_not_fit", model=model, reasons=listed)


def match_checkpoint(
    checkpoint: CheckpointReport, model_name: str, options: Mapping[str, object] | None = None
) -> CheckpointMatch:
    """Return whether the checkpoint fits the model `model_name` names (a zoo model, `hf:` config or user's
    class, resolved by `inspector.model.sources`), built on meta: nothing allocated."""
    model = resolve_model(model_name, options, device="meta").module
    return compare_shapes(checkpoint, _model_shapes(model), model_name)


def match_module(checkpoint: CheckpointReport, model: nn.Module, label: str | None = None) -> CheckpointMatch:
    """Return whether the checkpoint fits `model` (a user's module; only its state_dict's shapes are read)."""
    with torch.no_grad():
        shapes = _model_shapes(model)
    return compare_shapes(checkpoint, shapes, label or type(model).__name__)


def inspect_checkpoint_bytes(
    filename: str, data: bytes, against: str | None = None, options: Mapping[str, object] | None = None
) -> tuple[CheckpointReport, CheckpointMatch | None]:
    """Return the report (and the match with zoo model `against`) of an uploaded file's bytes.

    The bytes go to a private temporary file with the upload's suffix, which decides the reader, and
    are read in a sandboxed child (`read_checkpoint`); errors and the report name the upload's own
    name, never the temporary path. The file is removed afterwards.
    """
    name = shorten(filename, MAX_NAME_CHARS)
    if len(data) > max_checkpoint_bytes():
        size, limit = f"{len(data) / 2**20:,.0f}", f"{max_checkpoint_bytes() / 2**20:,.0f}"
        raise InvalidArgumentError("errors_a.upload_too_large", name=name, size=size, limit=limit)
    suffix = Path(str(filename)).suffix.lower()[:MAX_NAME_CHARS]  # the name itself never reaches the disk
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        report = read_checkpoint(path, name)
    return report, match_checkpoint(report, against, options) if against else None


def example_checkpoint(model_name: str, file_format: str = "safetensors") -> tuple[str, bytes]:
    """Return (filename, bytes) of a freshly initialised zoo model's state_dict, to try the page with."""
    model = build_zoo_model(model_name, device="cpu")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{model_name}.{'safetensors' if file_format == 'safetensors' else 'pt'}"
        if file_format == "safetensors":
            from safetensors.torch import save_file

            save_file({k: v.contiguous() for k, v in model.state_dict().items()}, path)
        else:
            torch.save(model.state_dict(), path)
        return path.name, path.read_bytes()
