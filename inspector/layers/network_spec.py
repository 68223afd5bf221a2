"""A network spec: the builder's state as a JSON document, checked entry by entry.

    {"version": 1, "input_shape": [1, 1, 28, 28], "input_dtype": "float32",
     "layers": [{"type": "Conv2d", "args": {"in_channels": 1, "out_channels": 6, "kernel_size": 5}}, ...]}

Layer types and arguments are exactly the engine's registry (`layer_specs.LAYERS`), checked with
`normalize_args`; every refusal names the offending entry (`layers[3] (Conv2d): …`). The same
document travels in a URL as compressed base64url.
"""

from __future__ import annotations

import base64
import binascii
import json
import keyword
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from inspector.core.bounds import MAX_JSON_DEPTH, check_digits, json_depth
from inspector.core.dtypes import DType, dtype_name, resolve_dtype
from inspector.core.errors import InspectorError, InvalidArgumentError
from inspector.core.messages import msg
from inspector.core.shapes import validate_size
from inspector.layers.args import ArgValue, normalize_args
from inspector.layers.specs import LayerSpec, get_layer_spec

SPEC_VERSION = 1
MAX_LAYERS = 256
MAX_SPEC_BYTES = 256 * 1024  # a 256-layer spec with every argument written out is about 60 KiB
MAX_URL_TOKEN_CHARS = 16_000  # browsers and proxies start refusing URLs somewhere past 16–64 KB
_KEYS = frozenset({"version", "input_shape", "input_dtype", "layers"})


@dataclass(frozen=True)
class LayerEntry:
    """One layer of the network: its registry name and every constructor argument, checked."""

    type: str
    args: dict[str, ArgValue] = field(default_factory=dict)
    name: str = ""  # its attribute name, fixed at the first edit so inserting a layer renames no other

    @property
    def spec(self) -> LayerSpec:
        """Return the engine's registry entry for this layer."""
        return get_layer_spec(self.type)

    def to_dict(self) -> dict[str, object]:
        """Return the JSON form: tuples become lists."""
        data: dict[str, object] = {"type": self.type}
        if self.name:
            data["name"] = self.name
        data["args"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.args.items()}
        return data


@dataclass(frozen=True)
class NetworkSpec:
    """A network as the builder holds it: the input's shape and dtype, then the layers in order."""

    input_shape: tuple[int, ...]
    layers: tuple[LayerEntry, ...] = ()
    input_dtype: str = DType.FLOAT32.value  # a floating input follows the model's dtype; int64 is token ids

    @classmethod
    def from_dict(cls, data: object) -> NetworkSpec:
        """Return the spec in `data` (a parsed JSON document), or raise naming the bad entry."""
        if not isinstance(data, Mapping):
            raise InvalidArgumentError("errors_a.spec_not_object", type=type(data).__name__)
        unknown = sorted(set(data) - _KEYS)
        if unknown:
            raise InvalidArgumentError(
                "errors_a.spec_unknown_key", entry=repr(unknown[0]), allowed=", ".join(sorted(_KEYS))
            )
        version = data.get("version")
        if version != SPEC_VERSION or isinstance(version, bool):
            raise InvalidArgumentError("errors_a.spec_version", expected=SPEC_VERSION, value=repr(version))
        layers = data.get("layers", [])
        if not isinstance(layers, list):
            raise InvalidArgumentError("errors_a.layers_not_list", type=type(layers).__name__)
        if len(layers) > MAX_LAYERS:
            raise InvalidArgumentError("errors_a.too_many_layers", count=len(layers), limit=MAX_LAYERS)
        entries = tuple(_layer(index, raw) for index, raw in enumerate(layers))
        _check_unique([entry.name for entry in entries if entry.name])
        return cls(
            input_shape=_input_shape(data.get("input_shape")),
            layers=entries,
            input_dtype=_input_dtype(data.get("input_dtype", DType.FLOAT32.value)),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> NetworkSpec:
        """Return the spec in the JSON `text`, or raise saying where it is malformed."""
        if len(text) > MAX_SPEC_BYTES:
            raise InvalidArgumentError("errors_a.spec_too_large", size=f"{len(text):,}", limit=f"{MAX_SPEC_BYTES:,}")
        try:
            decoded = text.decode() if isinstance(text, bytes) else text
        except UnicodeDecodeError as error:
            raise InvalidArgumentError("errors_a.spec_not_utf8", reason=error.reason) from None
        what = msg("engine.errors_b.what.spec")
        depth = json_depth(decoded)  # json.loads recurses per level: refuse a deep one before it does
        if depth > MAX_JSON_DEPTH:
            raise InvalidArgumentError(
                "bounds.json_too_deep", what=what, depth=depth, limit=MAX_JSON_DEPTH, no_hint=True
            )
        try:
            data = json.loads(decoded, parse_int=lambda digits: int(check_digits(digits, what)))
        except json.JSONDecodeError as error:
            raise InvalidArgumentError(
                "errors_a.spec_bad_json", line=error.lineno, column=error.colno, reason=error.msg
            ) from None
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, object]:
        """Return the JSON document (input_dtype only when it is not the default float32)."""
        data: dict[str, object] = {"version": SPEC_VERSION, "input_shape": list(self.input_shape)}
        if self.input_dtype != DType.FLOAT32:
            data["input_dtype"] = self.input_dtype
        data["layers"] = [layer.to_dict() for layer in self.layers]
        return data

    def to_json(self, indent: int | None = 2) -> str:
        """Return the JSON text of `to_dict`."""
        separators = None if indent else (",", ":")
        return json.dumps(self.to_dict(), indent=indent, separators=separators, ensure_ascii=False)


def _input_shape(raw: object) -> tuple[int, ...]:
    if not isinstance(raw, list):
        raise InvalidArgumentError("errors_a.input_shape_not_list", value=repr(raw))
    try:
        return validate_size(raw, "input_shape")
    except InvalidArgumentError as error:
        raise InvalidArgumentError("errors_a.in_input_shape", error=error) from None


def _input_dtype(raw: object) -> str:
    try:
        return dtype_name(resolve_dtype(raw, floating_only=False))
    except InvalidArgumentError as error:
        raise InvalidArgumentError("errors_a.in_input_dtype", error=error) from None


def _layer(index: int, raw: object) -> LayerEntry:
    where = f"layers[{index}]"
    if not isinstance(raw, Mapping) or "type" not in raw:
        raise InvalidArgumentError("errors_a.layer_not_object", where=where, value=repr(raw))
    extra = sorted(set(raw) - {"type", "args", "name"})
    if extra:
        raise InvalidArgumentError("errors_a.layer_unknown_key", where=where, entry=repr(extra[0]))
    args = raw.get("args", {})
    try:
        spec = get_layer_spec(raw["type"])
        where = f"{where} ({spec.name})"
        if not isinstance(args, Mapping):
            raise InvalidArgumentError("errors_a.args_not_object", type=type(args).__name__)
        return LayerEntry(spec.name, normalize_args(spec.args, args, spec.name), _layer_name(raw.get("name", "")))
    except InspectorError as error:
        raise InvalidArgumentError("errors_a.in_layer", where=where, error=error) from None


def layer_entry(layer_type: str, **args: object) -> LayerEntry:
    """Return a checked LayerEntry: `layer_entry("Conv2d", in_channels=1, out_channels=6, kernel_size=5)`."""
    spec = get_layer_spec(layer_type)
    return LayerEntry(spec.name, normalize_args(spec.args, args, spec.name))


MAX_NAME_CHARS = 64


def _layer_name(raw: object) -> str:
    """Return a layer name from a document: "" (unnamed) or a Python identifier, as the generated code uses it."""
    if raw == "":
        return ""
    if not isinstance(raw, str) or len(raw) > MAX_NAME_CHARS or not raw.isidentifier() or keyword.iskeyword(raw):
        raise InvalidArgumentError(
            "builder.bad_layer_name", value=repr(raw)[: MAX_NAME_CHARS + 2], limit=MAX_NAME_CHARS
        )
    return raw


def _check_unique(names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InvalidArgumentError("builder.duplicate_layer_name", name=name)
        seen.add(name)


def layer_names(spec: NetworkSpec) -> list[str]:
    """Return each layer's name: its own, else the type and a count (conv2d1, relu1, conv2d2), never a taken one."""
    taken = {entry.name for entry in spec.layers if entry.name}
    counts: dict[str, int] = {}
    names = []
    for entry in spec.layers:
        if entry.name:
            names.append(entry.name)
            continue
        base = entry.type.lower()
        while True:
            counts[base] = counts.get(base, 0) + 1
            candidate = f"{base}{counts[base]}"
            if candidate not in taken:
                break
        taken.add(candidate)
        names.append(candidate)
    return names


def _named(spec: NetworkSpec) -> tuple[LayerEntry, ...]:
    """Return the layers with their current names written in, so later edits cannot shift them."""
    return tuple(replace(entry, name=name) for entry, name in zip(spec.layers, layer_names(spec), strict=True))


def _fresh_name(layers: tuple[LayerEntry, ...], layer_type: str) -> str:
    """Return the next unused name for a new layer of `layer_type`: one past the highest number in use."""
    base = layer_type.lower()
    names = [entry.name for entry in layers]
    numbers = [int(name[len(base) :]) for name in names if name.startswith(base) and name[len(base) :].isdigit()]
    return f"{base}{max(numbers, default=0) + 1}"


# Editing: each returns a new spec; the builder page calls these and nothing else changes a spec.


def with_layer(spec: NetworkSpec, index: int, entry: LayerEntry) -> NetworkSpec:
    """Return `spec` with `entry` inserted before position `index` (at the end when index = len)."""
    if len(spec.layers) >= MAX_LAYERS:
        raise InvalidArgumentError("errors_a.layers_full", limit=MAX_LAYERS)
    index = _position(spec, index, allow_end=True)
    layers = _named(spec)
    if not entry.name or entry.name in {layer.name for layer in layers}:
        entry = replace(entry, name=_fresh_name(layers, entry.type))
    return replace(spec, layers=(*layers[:index], entry, *layers[index:]))


def without_layer(spec: NetworkSpec, index: int) -> NetworkSpec:
    """Return `spec` without layer `index`."""
    index = _position(spec, index)
    layers = _named(spec)
    return replace(spec, layers=layers[:index] + layers[index + 1 :])


def with_layer_moved(spec: NetworkSpec, index: int, offset: int) -> NetworkSpec:
    """Return `spec` with layer `index` moved by `offset` places (clamped to the ends)."""
    index = _position(spec, index)
    target = min(max(index + offset, 0), len(spec.layers) - 1)
    if target == index:  # clamped at an end: nothing moves
        return spec
    layers = list(_named(spec))
    layers.insert(target, layers.pop(index))
    return replace(spec, layers=tuple(layers))


def with_args(spec: NetworkSpec, index: int, changes: Mapping[str, object]) -> NetworkSpec:
    """Return `spec` with arguments of layer `index` changed; refuses values the registry refuses."""
    index = _position(spec, index)
    entry = spec.layers[index]
    try:
        args = normalize_args(entry.spec.args, {**entry.args, **changes}, entry.type)
    except InspectorError as error:
        raise InvalidArgumentError("errors_a.in_layer", where=f"layers[{index}] ({entry.type})", error=error) from None
    layers = list(spec.layers)
    layers[index] = replace(entry, args=args)
    return replace(spec, layers=tuple(layers))


def with_input(spec: NetworkSpec, input_shape: object, input_dtype: object | None = None) -> NetworkSpec:
    """Return `spec` with a new input shape (and dtype, when given), checked."""
    shape = _input_shape(list(input_shape) if isinstance(input_shape, tuple) else input_shape)
    dtype = spec.input_dtype if input_dtype is None else _input_dtype(input_dtype)
    return replace(spec, input_shape=shape, input_dtype=dtype)


def _position(spec: NetworkSpec, index: int, allow_end: bool = False) -> int:
    last = len(spec.layers) if allow_end else len(spec.layers) - 1
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index <= last:
        raise InvalidArgumentError("errors_a.position_out_of_range", index=repr(index), count=len(spec.layers))
    return index


# URL form: the compact JSON, zlib-compressed, base64url without padding.


def to_url_token(spec: NetworkSpec) -> str:
    """Return the spec as a URL-safe token (compressed base64url of its compact JSON)."""
    packed = zlib.compress(spec.to_json(indent=None).encode("utf-8"), 9)
    token = base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")
    if len(token) > MAX_URL_TOKEN_CHARS:
        raise InvalidArgumentError("errors_a.url_too_large", size=f"{len(token):,}", limit=f"{MAX_URL_TOKEN_CHARS:,}")
    return token


def from_url_token(token: str) -> NetworkSpec:
    """Return the spec carried in a URL token, or raise saying what is wrong with it."""
    if not isinstance(token, str) or len(token) > MAX_URL_TOKEN_CHARS:
        raise InvalidArgumentError("errors_a.url_token_too_long", limit=f"{MAX_URL_TOKEN_CHARS:,}")
    try:
        packed = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        inflater = zlib.decompressobj()
        text = inflater.decompress(packed, MAX_SPEC_BYTES + 1)  # bounded: a tiny token cannot inflate to gigabytes
    except (binascii.Error, ValueError, zlib.error):  # not base64url, or not zlib
        raise InvalidArgumentError("errors_a.url_bad_token") from None
    if len(text) > MAX_SPEC_BYTES or inflater.unconsumed_tail:
        raise InvalidArgumentError("errors_a.url_inflates", limit=f"{MAX_SPEC_BYTES:,}")
    if not inflater.eof:  # cut short
        raise InvalidArgumentError("errors_a.url_bad_token")
    return NetworkSpec.from_json(text)
