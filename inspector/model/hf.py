"""Hugging Face architectures from their `config.json`: built with `transformers`, no weights, no download.

A source is a name on the shelf of reference configs committed in `models/hf/` (`gpt2`, `llama-3-8b`, …),
a `config.json` file or a folder holding one, or a hub id (`org/name`), of which only `config.json` is
fetched, and only where the machine is online. The config is read as JSON data and never runs code:
`auto_map` and `trust_remote_code` are ignored, so only architectures that `transformers` itself ships
build. Models are built directly on the target device (on `meta` they allocate nothing) and take token ids
(`input_ids`, plus `decoder_input_ids` for encoder-decoders) or images (`pixel_values`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from inspector.core.bounds import shorten
from inspector.core.devices import resolve_device
from inspector.core.dtypes import resolve_dtype
from inspector.core.errors import InvalidArgumentError, UnknownNameError
from inspector.core.messages import msg
from inspector.core.report import ModelReport
from inspector.model.inspection import inspect_model
from inspector.model.zoo import _build_on

SHELF_DIR = Path(__file__).resolve().parents[2] / "models" / "hf"
PREFIX = "hf:"
MAX_CONFIG_BYTES = 1 << 20  # real config.json files are a few KB; 1 MiB leaves room for long label maps
MAX_SEQ_LEN = 1 << 20  # a million tokens: past any model's context; more is a typo
DEFAULT_SEQ_LEN = 128


class Head(StrEnum):
    """Which model class is built from a config: the bare model or one with a task head."""

    BASE = "base"
    CAUSAL_LM = "causal-lm"
    SEQ2SEQ = "seq2seq"
    SEQUENCE_CLASSIFICATION = "sequence-classification"
    IMAGE_CLASSIFICATION = "image-classification"


# The suffix of a config's `architectures` entry says which head its checkpoints were trained with.
_HEAD_BY_SUFFIX = {
    "ForCausalLM": Head.CAUSAL_LM,
    "LMHeadModel": Head.CAUSAL_LM,
    "ForConditionalGeneration": Head.SEQ2SEQ,
    "ForSequenceClassification": Head.SEQUENCE_CLASSIFICATION,
    "ForImageClassification": Head.IMAGE_CLASSIFICATION,
}


@dataclass(frozen=True)
class ShelfEntry:
    """A reference config committed in models/hf/: its file, the head it is built with, a title."""

    name: str
    file: str
    head: Head
    title: str


@dataclass(frozen=True)
class HFSource:
    """A config read from the shelf, a file or the hub, with the head to build and how to feed it."""

    name: str
    config: dict[str, object]
    head: Head

    @property
    def model_type(self) -> str:
        return str(self.config["model_type"])

    @property
    def is_vision(self) -> bool:
        return "image_size" in self.config and "vocab_size" not in self.config

    @property
    def is_encoder_decoder(self) -> bool:
        return bool(self.config.get("is_encoder_decoder", False))


@cache
def shelf() -> dict[str, ShelfEntry]:
    """Return the reference configs by name, in the order of models/hf/shelf.json."""
    index = json.loads((SHELF_DIR / "shelf.json").read_text())
    return {name: ShelfEntry(name, e["config"], Head(e["head"]), e["title"]) for name, e in index.items()}


class _AutoClass(Protocol):
    """What hf_factory uses of a transformers Auto class: building a model from a config."""

    def from_config(self, config: Any) -> nn.Module: ...


def _auto_class(head: Head) -> _AutoClass:
    import transformers  # imported here: a layer or zoo question never pays for transformers

    return {
        Head.BASE: transformers.AutoModel,
        Head.CAUSAL_LM: transformers.AutoModelForCausalLM,
        Head.SEQ2SEQ: transformers.AutoModelForSeq2SeqLM,
        Head.SEQUENCE_CLASSIFICATION: transformers.AutoModelForSequenceClassification,
        Head.IMAGE_CLASSIFICATION: transformers.AutoModelForImageClassification,
    }[head]


def _parse_config(text: str | bytes, label: str) -> dict[str, object]:
    if len(text) > MAX_CONFIG_BYTES:
        raise InvalidArgumentError("hf.config_too_large", name=label, size=len(text), limit=MAX_CONFIG_BYTES)
    try:
        config = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise InvalidArgumentError("hf.config_not_json", name=label, reason=shorten(error, 120)) from None
    if not isinstance(config, dict):
        raise InvalidArgumentError("hf.config_not_object", name=label, type=type(config).__name__)
    from transformers import CONFIG_MAPPING

    model_type = config.get("model_type")
    if not isinstance(model_type, str) or model_type not in CONFIG_MAPPING:
        raise UnknownNameError("hf.unknown_model_type", name=label, model_type=repr(shorten(model_type)))
    return config


def _read_file(path: Path, label: str) -> dict[str, object]:
    if path.is_dir():
        path = path / "config.json"
    if not path.is_file():
        raise InvalidArgumentError("hf.no_config_file", name=label)
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise InvalidArgumentError("hf.config_too_large", name=label, size=path.stat().st_size, limit=MAX_CONFIG_BYTES)
    return _parse_config(path.read_bytes(), label)


def _fetch_from_hub(repo_id: str) -> dict[str, object]:
    """Return the config.json of a hub repository: that one file, never weights; an error when offline."""
    try:
        from huggingface_hub import hf_hub_download

        path = hf_hub_download(repo_id, "config.json")
    except Exception as error:  # offline, unknown repo, gated: all answered the same way, with the reason
        raise InvalidArgumentError("hf.hub_unreachable", name=repo_id, reason=shorten(error, 200)) from None
    return _read_file(Path(path), repo_id)


def default_head(config: Mapping[str, object]) -> Head:
    """Return the head named by the config's `architectures` entry, else the bare model."""
    architectures = config.get("architectures") or []
    first = str(architectures[0]) if isinstance(architectures, list) and architectures else ""
    return next((head for suffix, head in _HEAD_BY_SUFFIX.items() if first.endswith(suffix)), Head.BASE)


def load_source(source: str, head: str | None = None) -> HFSource:
    """Return the config named by `source` (with or without `hf:`): shelf name, file, folder or hub id."""
    name = str(source).removeprefix(PREFIX).strip()
    if not name:
        raise InvalidArgumentError("hf.empty_source", choices=", ".join(shelf()))
    if name in shelf():
        entry = shelf()[name]
        config, chosen = _read_file(SHELF_DIR / entry.file, name), entry.head
    elif Path(name).exists():
        config = _read_file(Path(name), Path(name).name)
        chosen = default_head(config)
    elif name.count("/") == 1 and not name.startswith((".", "/")) and not name.endswith(".json"):
        config = _fetch_from_hub(name)
        chosen = default_head(config)
    else:
        raise UnknownNameError("hf.unknown_source", name=repr(shorten(name)), choices=", ".join(shelf()))
    return HFSource(name, config, chosen if head is None else parse_head(head))


def parse_head(head: str) -> Head:
    """Return the Head named `head`, or raise listing the choices."""
    try:
        return Head(head)
    except ValueError:
        raise InvalidArgumentError("hf.bad_head", value=repr(shorten(head)), choices=", ".join(Head)) from None


def hf_factory(source: HFSource, device: str | torch.device | None = "meta") -> Callable[[], nn.Module]:
    """Return a function that builds the model of `source` for running on `device` (in the caller's device)."""
    from transformers import AutoConfig

    target = resolve_device(device)
    # Any: a config is JSON from the Hub, and for_model takes each field as a keyword of its own type.
    settings: dict[str, Any] = {
        key: value for key, value in source.config.items() if key not in {"auto_map", "trust_remote_code"}
    }
    try:
        config = AutoConfig.for_model(**settings)
    except (ValueError, TypeError, KeyError) as error:
        raise InvalidArgumentError("hf.bad_config", name=source.name, reason=shorten(error, 200)) from None
    # On meta, transformers' causal-mask helpers read tensor values unless a cache is passed along,
    # and a meta tensor has none; with a cache they take the shape-only path.
    config.use_cache = target.type == "meta"
    auto = _auto_class(source.head)
    return lambda: auto.from_config(config)


def source_from_text(text: str | bytes, label: str, head: str | None = None) -> HFSource:
    """Return the source of a config.json given as text (pasted or uploaded), checked as a file's would be."""
    config = _parse_config(text, label)
    return HFSource(label, config, default_head(config) if head is None else parse_head(head))


def build_hf_model(source: HFSource, device: str | torch.device | None = "meta", dtype: str | None = None) -> nn.Module:
    """Return the model of `source` built directly on `device` (on meta: no memory), after a size check."""
    target = resolve_device(device)
    cast = resolve_dtype(dtype) if dtype is not None else None
    return _build_on(hf_factory(source, target), target, cast, f"{PREFIX}{source.name}")


def hf_inputs(
    source: HFSource, batch_size: int = 1, seq_len: int = DEFAULT_SEQ_LEN, device: str | torch.device = "meta"
) -> dict[str, torch.Tensor]:
    """Return the forward's keyword inputs: token ids of (batch, seq_len), or images of the config's size."""
    for value, what, limit in ((batch_size, "batch_size", 1 << 16), (seq_len, "seq_len", MAX_SEQ_LEN)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
            raise InvalidArgumentError(
                "hf.bad_count", what=msg(f"hf.what.{what}"), value=shorten(repr(value)), limit=limit
            )
    target = resolve_device(device)
    if source.is_vision:
        size = int(source.config.get("image_size", 224))  # type: ignore[call-overload]  # JSON number
        channels = int(source.config.get("num_channels", 3))  # type: ignore[call-overload]  # JSON number
        return {"pixel_values": torch.zeros(batch_size, channels, size, size, device=target)}
    ids = torch.zeros(batch_size, seq_len, dtype=torch.long, device=target)  # id 0 exists in every vocabulary
    return {"input_ids": ids, "decoder_input_ids": ids.clone()} if source.is_encoder_decoder else {"input_ids": ids}


def inspect_hf_model(
    source: str | HFSource,
    head: str | None = None,
    batch_size: int = 1,
    seq_len: int = DEFAULT_SEQ_LEN,
    device: str | None = "meta",
    dtype: str | None = None,
) -> ModelReport:
    """Return the report of one forward of a Hugging Face architecture, built from its config on `device`."""
    loaded = source if isinstance(source, HFSource) else load_source(source, head)
    model = build_hf_model(loaded, device, dtype)
    inputs = hf_inputs(loaded, batch_size, seq_len, device or "cpu")
    return inspect_model(model, input_data=inputs, device=device, dtype=dtype, name=f"{PREFIX}{loaded.name}")
