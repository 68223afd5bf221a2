"""A .safetensors file's header, read and checked on its own: names, shapes and dtypes, no tensor data.

The format is 8 bytes (the header's length, little-endian), a JSON object naming every tensor's dtype,
shape and byte range in the data that follows, then the data. Only the header is read, and every
field is checked before it is believed: a hostile header is refused with what was wrong in it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from inspector.core.errors import InvalidArgumentError
from inspector.core.messages import Message, msg

# Real headers take about 100 bytes a tensor: 16 MB is 160,000 tensors, far beyond any model's shard,
# and small enough that parsing the JSON costs little memory. (safetensors' own cap is 100 MB.)
MAX_HEADER_BYTES = 16 * 2**20
LENGTH_BYTES = 8
METADATA = "__metadata__"
DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U64": torch.uint64, "U32": torch.uint32, "U16": torch.uint16, "U8": torch.uint8,
    "BOOL": torch.bool, "F8_E4M3": torch.float8_e4m3fn, "F8_E5M2": torch.float8_e5m2, "C64": torch.complex64,
}  # fmt: skip


@dataclass(frozen=True)
class HeaderEntry:
    """One tensor as the header declares it."""

    name: str
    shape: list[int]
    dtype: torch.dtype


def _refuse(name: str, reason: Message) -> InvalidArgumentError:
    return InvalidArgumentError("errors_a.bad_safetensors", name=name, reason=reason)


def _read_header(path: Path, name: str) -> tuple[object, int]:
    """Return the parsed header and the length of the data section after it."""
    size = path.stat().st_size
    with path.open("rb") as stream:
        if size < LENGTH_BYTES:
            raise _refuse(name, msg("checkpoint.safetensors.too_short", size=size, needed=LENGTH_BYTES))
        length = int.from_bytes(stream.read(LENGTH_BYTES), "little")
        if not 2 <= length <= MAX_HEADER_BYTES:  # "{}" is the smallest header
            raise _refuse(name, msg("checkpoint.safetensors.header_size", size=length, limit=MAX_HEADER_BYTES))
        if LENGTH_BYTES + length > size:
            raise _refuse(name, msg("checkpoint.safetensors.header_past_end", size=length, available=size - 8))
        raw = stream.read(length)
    try:
        return json.loads(raw.decode("utf-8")), size - LENGTH_BYTES - length
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise _refuse(name, msg("checkpoint.safetensors.bad_json", reason=str(error) or type(error).__name__)) from None


def _is_index(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _entry(name: str, tensor: str, fields: object, data_bytes: int) -> tuple[HeaderEntry, int, int]:
    """Return the entry and its (begin, end) in the data, after checking every field against the others."""
    if not isinstance(fields, dict) or {"dtype", "shape", "data_offsets"} - set(fields):
        raise _refuse(name, msg("checkpoint.safetensors.not_an_entry", tensor=repr(tensor)))
    dtype, shape, offsets = fields["dtype"], fields["shape"], fields["data_offsets"]
    if dtype not in DTYPES:
        choices = ", ".join(DTYPES)
        raise _refuse(
            name, msg("checkpoint.safetensors.dtype", tensor=repr(tensor), dtype=repr(dtype), choices=choices)
        )
    if not isinstance(shape, list) or not all(_is_index(dim) for dim in shape):
        raise _refuse(name, msg("checkpoint.safetensors.shape", tensor=repr(tensor), shape=repr(shape)[:80]))
    if not (
        isinstance(offsets, list) and len(offsets) == 2 and all(map(_is_index, offsets)) and offsets[0] <= offsets[1]
    ):
        raise _refuse(name, msg("checkpoint.safetensors.offsets", tensor=repr(tensor), offsets=repr(offsets)[:80]))
    begin, end = offsets
    needed = math.prod(shape) * DTYPES[dtype].itemsize
    if end - begin != needed:
        raise _refuse(name, msg("checkpoint.safetensors.span", tensor=repr(tensor), span=end - begin, needed=needed))
    if end > data_bytes:
        raise _refuse(name, msg("checkpoint.safetensors.past_end", tensor=repr(tensor), end=end, length=data_bytes))
    return HeaderEntry(tensor, list(shape), DTYPES[dtype]), begin, end


def read_safetensors_header(path: Path, name: str) -> list[HeaderEntry]:
    """Return every tensor the header of the .safetensors file at `path` declares, in the header's order.

    Raises InvalidArgumentError, naming the file as `name`, when the header is too short or long, not
    JSON, or declares a tensor with an unknown dtype, a bad shape, or bytes outside or overlapping others.
    """
    header, data_bytes = _read_header(path, name)
    if not isinstance(header, dict):
        raise _refuse(name, msg("checkpoint.safetensors.not_an_object", kind=type(header).__name__))
    metadata = header.pop(METADATA, {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _refuse(name, msg("checkpoint.safetensors.metadata"))
    spans = [_entry(name, tensor, fields, data_bytes) for tensor, fields in header.items()]
    previous: tuple[str, int] = ("", 0)
    for entry, begin, end in sorted(spans, key=lambda span: (span[1], span[2])):
        if begin < previous[1]:
            raise _refuse(name, msg("checkpoint.safetensors.overlap", tensor=repr(entry.name), other=repr(previous[0])))
        previous = (entry.name, max(end, previous[1]))
    return [entry for entry, _begin, _end in spans]
