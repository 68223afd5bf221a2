"""The shape doctor's fixes as data: small edits of a network spec, applied by one function."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from inspector.core.errors import InvalidArgumentError
from inspector.layers.args import ArgValue
from inspector.layers.network_spec import NetworkSpec, layer_entry, with_args, with_input, with_layer, without_layer


class EditKind(StrEnum):
    """What one edit changes."""

    SET_ARGS = "set_args"  # layer `index` gets `args`
    INSERT_LAYER = "insert_layer"  # a new `layer_type(**args)` goes before position `index`
    REMOVE_LAYER = "remove_layer"  # layer `index` goes
    SET_INPUT = "set_input"  # the network's input becomes `input_shape` / `input_dtype` (X.unsqueeze(0), X.long())


@dataclass(frozen=True)
class Edit:
    """One machine-applicable change of a spec. `index` is None where no spec is known (a user's model)."""

    kind: EditKind
    index: int | None = None
    args: tuple[tuple[str, ArgValue], ...] = ()
    layer_type: str | None = None
    input_shape: tuple[int, ...] | None = None
    input_dtype: str | None = None

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form (only the fields this kind uses)."""
        data: dict[str, object] = {"kind": self.kind.value, "index": self.index}
        if self.args or self.kind is EditKind.INSERT_LAYER:
            data["args"] = {name: list(v) if isinstance(v, tuple) else v for name, v in self.args}
        if self.layer_type:
            data["layer_type"] = self.layer_type
        if self.input_shape is not None:
            data["input_shape"] = list(self.input_shape)
        if self.input_dtype is not None:
            data["input_dtype"] = self.input_dtype
        return data


@dataclass(frozen=True)
class Fix:
    """A fix the doctor proposes: what it does in words, the PyTorch it amounts to, and its edits.

    The doctor's descriptions are `inspector.core.messages.Message`s (English `str`s that carry their catalogue
    key), so a page can show them in its language with `inspector.core.i18n.localize`.
    """

    description: str
    edits: tuple[Edit, ...]
    code: str = ""

    @property
    def applicable(self) -> bool:
        """Return whether every edit names its place in a spec (not so for a user's own model)."""
        return bool(self.edits) and all(e.index is not None or e.kind is EditKind.SET_INPUT for e in self.edits)

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form."""
        return {"description": self.description, "code": self.code, "edits": [e.to_dict() for e in self.edits]}


def set_args(index: int | None, **args: ArgValue) -> Edit:
    """Return the edit that sets `args` on layer `index`."""
    return Edit(EditKind.SET_ARGS, index, tuple(args.items()))


def insert_layer(index: int | None, layer_type: str, **args: ArgValue) -> Edit:
    """Return the edit that inserts `layer_type(**args)` before position `index`."""
    return Edit(EditKind.INSERT_LAYER, index, tuple(args.items()), layer_type=layer_type)


def remove_layer(index: int | None) -> Edit:
    """Return the edit that removes layer `index`."""
    return Edit(EditKind.REMOVE_LAYER, index)


def set_input(shape: Sequence[int] | None = None, dtype: str | None = None) -> Edit:
    """Return the edit that reshapes (or casts) the network's input."""
    return Edit(EditKind.SET_INPUT, input_shape=None if shape is None else tuple(shape), input_dtype=dtype)


def apply_fix(spec: NetworkSpec, fix: Fix) -> NetworkSpec:
    """Return `spec` with every edit of `fix` applied in order; the result is checked like an upload."""
    if not fix.edits:
        raise InvalidArgumentError("errors_a.fix_empty", fix=repr(fix.description))
    for edit in fix.edits:
        spec = _apply(spec, edit)
    return NetworkSpec.from_dict(spec.to_dict())  # the same checks as a loaded spec


def _apply(spec: NetworkSpec, edit: Edit) -> NetworkSpec:
    if edit.kind is EditKind.SET_INPUT:
        return with_input(spec, edit.input_shape or spec.input_shape, edit.input_dtype)
    if edit.index is None:
        raise InvalidArgumentError("errors_a.fix_no_layer")
    if edit.kind is EditKind.SET_ARGS:
        return with_args(spec, edit.index, dict(edit.args))
    if edit.kind is EditKind.INSERT_LAYER:
        return with_layer(spec, edit.index, layer_entry(edit.layer_type or "", **dict(edit.args)))
    return without_layer(spec, edit.index)
