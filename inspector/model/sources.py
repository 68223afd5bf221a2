"""Every model by one name: a zoo entry, `hf:` a Hugging Face config, `module:Class` or `path/to/file.py:Class`.

`model_source` reads a name into a `ModelSource` (how to build it and the input it takes by default)
without building anything; `resolve_model` builds it on a device. The Model Inspector, the planner,
checkpoint matching and the initialisation explorer all resolve names here, so `hf:llama-2-7b` or a
file path means the same model in every command and page.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from inspector.core.bounds import shorten
from inspector.core.devices import resolve_device
from inspector.core.dtypes import resolve_dtype
from inspector.core.errors import InvalidArgumentError, UnknownNameError
from inspector.core.memory_guard import reserve
from inspector.core.messages import Message, msg
from inspector.core.report import ModelReport
from inspector.model.graph import ModelGraph
from inspector.model.graph_trace import trace_graph
from inspector.model.hf import DEFAULT_SEQ_LEN, PREFIX, HFSource, hf_factory, hf_inputs, load_source
from inspector.model.inspection import inspect_model
from inspector.model.zoo import _build_on, _preflight, get_zoo_entry, import_model_class, zoo_options

HF_OPTIONS = ("head", "seq_len")  # what an hf: source takes in place of a zoo model's options
MAX_BATCH = 1 << 16  # as hf_inputs' limit
META_ABOVE_PARAMS = 1_000_000_000  # an hf: model this big runs on meta unless a device is asked for


class SourceKind(StrEnum):
    """Where a model comes from: the zoo, a Hugging Face config, or the user's own code."""

    ZOO = "zoo"
    HF = "hf"
    CODE = "code"


@dataclass(frozen=True)
class ModelSource:
    """A model named but not built: how to build it, and the input it takes when none is given."""

    label: str
    kind: SourceKind
    input_size: tuple[int, ...] | list[tuple[int, ...]] | None  # batch included; None: the caller must give one
    input_dtype: torch.dtype | None
    hf: HFSource | None = None
    code_factory: Callable[[], nn.Module] | None = None
    batch_size: int = 1
    seq_len: int = DEFAULT_SEQ_LEN

    def factory(self, device: str | torch.device | None = "meta") -> Callable[[], nn.Module]:
        """Return a function building the model for running on `device` (it builds in the caller's device)."""
        if self.hf is not None:
            return hf_factory(self.hf, device)
        assert self.code_factory is not None  # one of the two is always set by model_source
        return self.code_factory

    def build(self, device: str | torch.device | None = "meta", dtype: str | torch.dtype | None = None) -> nn.Module:
        """Return the model built directly on `device` (meta allocates nothing), after a size check."""
        target = resolve_device(device)
        cast = resolve_dtype(dtype) if dtype is not None else None
        return _build_on(self.factory(target), target, cast, self.label)

    def input_data(self, device: str | torch.device) -> dict[str, torch.Tensor] | None:
        """Return the keyword inputs of an hf: model on `device` (token ids or images); None for the others."""
        return None if self.hf is None else hf_inputs(self.hf, self.batch_size, self.seq_len, device)


class ResolvedModel(NamedTuple):
    """A model built on a device, with the source that says how to feed it."""

    module: nn.Module
    source: ModelSource


def import_model_target(path: str, shown: str | None = None) -> Callable[..., nn.Module]:
    """Return the class (or factory) named by 'package.module:Name' or 'path/to/file.py:Name'.

    `shown` names the file in messages in place of its path (a temporary file means nothing to a reader).
    """
    file_part, _, attribute = str(path).partition(":")
    if not file_part.endswith(".py"):
        return import_model_class(path)
    if not attribute:
        raise InvalidArgumentError("sources.bad_file_path", path=repr(shorten(path)))
    file = Path(file_part)
    if not file.is_file():
        raise UnknownNameError("sources.no_such_file", path=repr(shorten(file_part)))
    # A fresh module name per file: the file runs anew each time, and never replaces a module of the program.
    unique = "inspector_user_" + hashlib.sha256(str(file.resolve()).encode()).hexdigest()[:16]
    spec = importlib.util.spec_from_file_location(unique, file)
    if spec is None or spec.loader is None:
        raise InvalidArgumentError("sources.bad_file_path", path=repr(shorten(path)))
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique] = module  # dataclasses and typing look a class's module up by name while it is defined
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as error:  # the user's file ran and failed: its own code, not ours
        sys.modules.pop(unique, None)
        raise InvalidArgumentError(
            "sources.file_raised",
            path=repr(shorten(shown or file_part)),
            kind=type(error).__name__,
            reason=shorten(error, 200),
        ) from None
    target = getattr(module, attribute, None)
    if target is None:
        raise UnknownNameError("errors_a.no_attribute", module=repr(shown or file_part), attribute=repr(attribute))
    if not callable(target):
        raise InvalidArgumentError("errors_a.not_callable", path=path)
    return target


def _hf_source(name: str, options: Mapping[str, object], batch_size: int) -> ModelSource:
    unknown = sorted(set(options) - set(HF_OPTIONS))
    if unknown:
        raise InvalidArgumentError(
            "errors_a.unknown_option", model=name, unknown=", ".join(unknown), known=", ".join(HF_OPTIONS)
        )
    head = options.get("head")
    loaded = load_source(name, None if head is None else str(head))
    return hf_model_source(loaded, options.get("seq_len", DEFAULT_SEQ_LEN), batch_size)  # type: ignore[arg-type]


def hf_model_source(loaded: HFSource, seq_len: int = DEFAULT_SEQ_LEN, batch_size: int = 1) -> ModelSource:
    """Return a loaded Hugging Face config as a model source fed `batch_size` × `seq_len` tokens (or images)."""
    inputs = hf_inputs(loaded, batch_size, seq_len, "meta")  # checks both counts, allocates nothing
    size = tuple(next(iter(inputs.values())).shape)
    token = None if loaded.is_vision else torch.long
    return ModelSource(f"{PREFIX}{loaded.name}", SourceKind.HF, size, token, loaded, None, batch_size, seq_len)


def _with_batch(size: tuple[int, ...], batch_size: int) -> tuple[int, ...]:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_BATCH:
        raise InvalidArgumentError(
            "hf.bad_count", what=msg("hf.what.batch_size"), value=repr(batch_size), limit=MAX_BATCH
        )
    return (batch_size, *size[1:])


def model_source(
    name: str,
    options: Mapping[str, object] | None = None,
    *,
    input_size: tuple[int, ...] | list[tuple[int, ...]] | None = None,
    input_dtype: str | torch.dtype | None = None,
    batch_size: int = 1,
) -> ModelSource:
    """Return what `name` names, unbuilt: zoo options and `hf:` settings checked, a user's class imported.

    `options` are a zoo model's options, an hf: model's `head` and `seq_len`, or a class's keyword
    arguments. `input_size` replaces the default input; `batch_size` sets the batch of the default one
    (an hf: model takes `seq_len` and `batch_size` only); `input_dtype` the input's dtype (token ids: int64).
    """
    if not isinstance(name, str):
        raise InvalidArgumentError("errors_b.model_not_name", type=type(name).__name__)
    given = dict(options or {})
    dtype = resolve_dtype(input_dtype, floating_only=False) if input_dtype is not None else None
    if name.strip().startswith(PREFIX):
        if input_size is not None or dtype is not None:  # its inputs follow its config: ids or images
            raise InvalidArgumentError("sources.hf_input", model=name)
        return _hf_source(name.strip(), given, batch_size)
    if input_size is not None and batch_size != 1:  # the input size already says the batch
        raise InvalidArgumentError("sources.batch_and_size", model=name)
    if ":" in name:
        target = import_model_target(name)
        return ModelSource(name, SourceKind.CODE, input_size, dtype, code_factory=lambda: target(**given))
    entry = get_zoo_entry(name)
    values = zoo_options(entry, given)
    size = input_size if input_size is not None else _with_batch(entry.input_size_for(**values), batch_size)
    build = lambda: entry.build(**values)  # noqa: E731 - the factory every build calls
    return ModelSource(entry.name, SourceKind.ZOO, size, dtype or entry.input_dtype, code_factory=build)


def resolve_model(
    name: str,
    options: Mapping[str, object] | None = None,
    device: str | torch.device | None = "meta",
    dtype: str | torch.dtype | None = None,
    **settings: object,
) -> ResolvedModel:
    """Return the model `name` names built on `device`, with its source (default inputs, label)."""
    source = model_source(name, options, **settings)  # type: ignore[arg-type]  # model_source's keywords
    return ResolvedModel(source.build(device, dtype), source)


def source_graph(source: ModelSource, depth: int | None = None) -> ModelGraph:
    """Return the dataflow graph of one forward of `source` on meta (nothing allocated), as shown at `depth`."""
    if source.input_size is None:
        raise InvalidArgumentError("errors_a.no_input_size", name=source.label)
    model = source.build("meta")
    data = source.input_data("meta")
    size = None if data is not None else source.input_size
    graph = trace_graph(model, size, data, "meta", input_dtype=source.input_dtype, name=source.label)
    return graph.view(depth)


def parameter_count(source: ModelSource) -> int:
    """Return the parameter count of `source`, built on meta (nothing allocated; each tied tensor once)."""
    return sum(p.numel() for p in source.build("meta").parameters())


def default_device(source: ModelSource, device: str | None) -> tuple[str, Message | None]:
    """Return the device to inspect on: the one asked for, else meta for an hf: model over a billion
    parameters (with the notice that says so), else cpu."""
    if device is not None:
        return device, None
    if source.kind is SourceKind.HF:
        count = parameter_count(source)
        if count > META_ABOVE_PARAMS:
            return "meta", msg("sources.meta_notice", model=source.label, params=count, limit=META_ABOVE_PARAMS)
    return "cpu", None


def inspect_source(
    source: ModelSource, device: str | None = "cpu", dtype: str | None = None, mode: str = "eval"
) -> ModelReport:
    """Return the report of one forward of `source` on `device`; refused before building when it cannot fit."""
    if source.input_size is None:
        raise InvalidArgumentError("errors_a.no_input_size", name=source.label)
    target = resolve_device(device)
    cast = resolve_dtype(dtype) if dtype is not None else None
    plan = 0
    if target.type != "meta":
        size, kind = source.input_size, source.input_dtype
        plan = _preflight(source.factory("meta"), source.label, size, target, cast, kind, mode)  # type: ignore[assignment]
    with reserve(plan, target, source.label):  # refused before anything real is built
        model = source.build(target, dtype)
        data = source.input_data(target)
        input_size = None if data is not None else source.input_size
        return inspect_model(
            model, input_size, data, device=target, input_dtype=source.input_dtype, name=source.label, mode=mode
        )


class TensorOutput(nn.Module):
    """A Hugging Face model called with one tensor and giving one: what a training step scores.

    The planner feeds a model positional tensors and scores a tensor; an hf: model takes keywords
    (and an encoder-decoder a second sequence) and returns a ModelOutput, whose logits (or last hidden
    state, for a bare model) this returns.
    """

    def __init__(self, model: nn.Module, source: HFSource) -> None:
        super().__init__()
        self.model = model
        self.vision = source.is_vision
        self.encoder_decoder = source.is_encoder_decoder

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.vision:
            output = self.model(pixel_values=inputs)
        else:
            # On meta the causal-mask helpers need a cache (see hf.hf_factory); under FakeTensorMode none is needed.
            keywords = {"input_ids": inputs, "use_cache": inputs.device.type == "meta"}
            output = self.model(**keywords, **({"decoder_input_ids": inputs} if self.encoder_decoder else {}))
        logits = getattr(output, "logits", None)
        return logits if isinstance(logits, torch.Tensor) else output.last_hidden_state


def training_model(
    name: str | ModelSource,
    options: Mapping[str, object] | None,
    device: torch.device,
    dtype: torch.dtype | None = None,
) -> tuple[nn.Module, str, torch.dtype | None, tuple[int, ...] | None]:
    """Return the model `name` built on `device` for a training step (one tensor in, one out), its label,
    the dtype of token inputs (None: float inputs) and one sample's default shape (None: unknown).
    A ModelSource (a pasted config, your code) is used as it is; `options` then play no part."""
    source = name if isinstance(name, ModelSource) else model_source(name, options)
    module = source.build(device, dtype)
    if source.hf is not None:
        module = TensorOutput(module, source.hf)
    token = source.input_dtype if source.input_dtype is not None and not source.input_dtype.is_floating_point else None
    sample = tuple(source.input_size[1:]) if isinstance(source.input_size, tuple) else None
    return module, source.label, token, sample
