"""A model definition given as text (the app's code box): loaded like `path/to/file.py:Class`, then inspected.

The text runs as Python, so the app calls these only in a worker process (`core.sandbox.run_limited`,
with its memory cap and deadline) and only after `check_code_allowed` passed in the server (started
with INSPECTOR_ALLOW_CODE=1).
The text goes to a private temporary file that is removed as soon as the class is loaded.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from inspector.core.dtypes import resolve_dtype
from inspector.core.errors import InvalidArgumentError
from inspector.core.report import ModelReport
from inspector.model.graph_dot import to_dot
from inspector.model.sources import ModelSource, SourceKind, import_model_target, inspect_source, source_graph

ALLOW_CODE_ENV = "INSPECTOR_ALLOW_CODE"
MAX_CODE_CHARS = 100_000  # a model definition is a few hundred lines; more is not a model
CODE_LABEL = "your_code"  # the file's name in messages: the temporary folder means nothing to the visitor


def code_allowed() -> bool:
    """Return whether this server runs visitors' code: only when started with INSPECTOR_ALLOW_CODE=1."""
    return os.environ.get(ALLOW_CODE_ENV, "").strip() == "1"


def check_code_allowed() -> None:
    """Raise unless this server runs visitors' code. Asked in the server, whose environment decides: a
    worker comes from a forkserver started earlier, with the environment of that moment."""
    if not code_allowed():
        raise InvalidArgumentError("sources.code_off", env=ALLOW_CODE_ENV)


def code_source(
    code: str,
    class_name: str,
    options: Mapping[str, object] | None,
    input_size: tuple[int, ...] | list[tuple[int, ...]],
    input_dtype: str | None = None,
) -> ModelSource:
    """Return the class `class_name` defined by `code` as a model source, labelled by the class's name."""
    if len(code) > MAX_CODE_CHARS:
        raise InvalidArgumentError("sources.code_too_long", size=len(code), limit=MAX_CODE_CHARS)
    if not class_name.isidentifier():
        raise InvalidArgumentError("sources.bad_class_name", name=repr(class_name[:80]))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{CODE_LABEL}.py"
        path.write_text(code)
        target = import_model_target(f"{path}:{class_name}", shown=path.name)
    kwargs = dict(options or {})
    dtype = resolve_dtype(input_dtype, floating_only=False) if input_dtype is not None else None
    return ModelSource(class_name, SourceKind.CODE, input_size, dtype, code_factory=lambda: target(**kwargs))


def inspect_code(
    code: str,
    class_name: str,
    options: Mapping[str, object] | None,
    input_size: tuple[int, ...] | list[tuple[int, ...]],
    input_dtype: str | None,
    device: str,
    dtype: str | None,
) -> ModelReport:
    """Return the report of one forward of the model the code defines (run this in a worker)."""
    return inspect_source(code_source(code, class_name, options, input_size, input_dtype), device, dtype)


def code_graph_dot(
    code: str,
    class_name: str,
    options: Mapping[str, object] | None,
    input_size: tuple[int, ...] | list[tuple[int, ...]],
    input_dtype: str | None,
    depth: int | None,
    lang: str,
) -> str:
    """Return the DOT text of the code's model graph at `depth`, traced on meta (run this in a worker)."""
    source = code_source(code, class_name, options, input_size, input_dtype)
    return to_dot(source_graph(source, depth), lang)
