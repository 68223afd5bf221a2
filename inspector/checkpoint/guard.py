"""Refusing hostile pickled checkpoints before torch reads a byte of them: bombs and foreign objects.

torch's `weights_only` unpickler is the second line. It allows `builtins.bytearray` (a 40-byte pickle
asks for 2 GB), inflates a deflated `data.pkl` whole, and walks millions of trivial opcodes. So first
we read the zip's declared sizes, and walk the pickle's opcodes with `pickletools.genops`, which
parses and never executes, refusing every global a state dict does not need.
"""

from __future__ import annotations

import _compat_pickle
import pickletools
import zipfile
from pathlib import Path
from typing import IO

import torch

from inspector.core.errors import InvalidArgumentError

# torch.save writes about 120 bytes and 34 opcodes of pickle per tensor (ResNet-50: 320 tensors, 39 KB,
# 10,898 opcodes). 32 MB is a quarter of a million tensors, 2,000,000 opcodes some 58,000: far above any
# real state dict with its optimizer, yet the scan of that many opcodes ends within seconds.
MAX_PICKLE_BYTES = 32 * 2**20
MAX_OPCODES = 2_000_000
MAX_ZIP_MEMBERS = 200_000  # one record per storage, plus a few: a real file has thousands at most
ZIP_MAGIC = b"PK\x03\x04"  # what torch looks for to read a file as a zip archive
LEGACY_PICKLES = 5  # torch's legacy format: magic number, protocol, system info, the object, storage keys

_REBUILDERS = ("_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter")
# What torch.save emits for a state dict, a nested checkpoint ({'state_dict': …, 'epoch': 3}) and an
# optimizer's state, nothing more; dtypes and storage types come from torch's own namespace.
ALLOWED_GLOBALS = frozenset(
    {"collections.OrderedDict", "_codecs.encode", "builtins.set", "builtins.complex"}
    | {"torch.Size", "torch.device", "torch.storage.UntypedStorage"}
    | {f"torch._utils.{name}" for name in (*_REBUILDERS, "_rebuild_parameter_with_state")}
    | {f"torch.{name}" for name, value in vars(torch).items() if isinstance(value, torch.dtype)}
    | {f"torch.{name}" for name, value in vars(torch).items() if isinstance(value, type) and name.endswith("Storage")}
)
_STRING_PUSHES = frozenset(
    {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8"}
)
_MEMO_GETS = frozenset({"GET", "BINGET", "LONG_BINGET"})
_MEMO_PUTS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})
_STACK_NEUTRAL = frozenset({"FRAME", "PROTO"})


def _python3_name(module: str, name: str = "") -> str:
    """Return `module.name` as Python 3 spells it: protocol 2 writes `__builtin__` for `builtins`."""
    module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
    return f"{_compat_pickle.IMPORT_MAPPING.get(module, module)}.{name}"


class _OpcodeScan:
    """Walks pickles' opcodes, counting them and checking every global against ALLOWED_GLOBALS.

    STACK_GLOBAL takes its module and name from the stack. We follow the two values on top only while
    each came from a string push or a memo read of one; any other opcode forgets them, so a name built
    any other way is refused rather than guessed.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.opcodes = 0
        self.recent: list[str | None] = [None, None]
        self.memo: dict[int, str | None] = {}

    def scan(self, stream: IO[bytes]) -> None:
        """Walk one pickle, up to its STOP; raise InvalidArgumentError on a refused global or too many opcodes."""
        try:
            for opcode, argument, _position in pickletools.genops(stream):
                self.opcodes += 1
                if self.opcodes > MAX_OPCODES:
                    raise InvalidArgumentError("checkpoint.too_many_opcodes", name=self.name, limit=MAX_OPCODES)
                self._step(opcode.name, argument)
        except InvalidArgumentError:
            raise
        except (ValueError, EOFError, UnicodeDecodeError, OverflowError) as error:
            raise InvalidArgumentError("checkpoint.bad_pickle_stream", name=self.name, reason=str(error)) from None

    def _step(self, opcode: str, argument: object) -> None:
        if opcode in ("GLOBAL", "INST"):
            self._check(_python3_name(*str(argument).split(" ", 1)))
        elif opcode == "STACK_GLOBAL":
            module, name = self.recent
            self._check(_python3_name(module, name) if module is not None and name is not None else None)
        elif opcode.startswith("EXT"):
            self._check(f"copyreg extension {argument}")
        if opcode in _STRING_PUSHES:
            self.recent = [self.recent[1], str(argument)]
        elif opcode in _MEMO_GETS:
            self.recent = [self.recent[1], self.memo.get(int(argument))]  # type: ignore[call-overload]
        elif opcode == "MEMOIZE":
            self.memo[len(self.memo)] = self.recent[1]
        elif opcode in _MEMO_PUTS:
            self.memo[int(argument)] = self.recent[1]  # type: ignore[call-overload]
        elif opcode not in _STACK_NEUTRAL:
            self.recent = [None, None]

    def _check(self, qualified: str | None) -> None:
        if qualified not in ALLOWED_GLOBALS:
            refused = qualified or "a global whose name is computed on the stack"
            raise InvalidArgumentError("errors_a.pickle_refused", name=self.name, refused=refused)


def _check_zip(path: Path, name: str) -> None:
    with zipfile.ZipFile(path) as archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise InvalidArgumentError(
                "checkpoint.too_many_members", name=name, count=len(members), limit=MAX_ZIP_MEMBERS
            )
        for member in members:
            # torch inflates a pickle or a record (byteorder, version) whole; tensor data it stores
            # uncompressed, and with map_location="meta" never reads
            inflated = member.filename.endswith(".pkl") or member.compress_type != zipfile.ZIP_STORED
            if inflated and member.file_size > MAX_PICKLE_BYTES:
                raise InvalidArgumentError(
                    "checkpoint.member_too_large",
                    name=name,
                    member=member.filename,
                    size=member.file_size,
                    stored=member.compress_size,
                    limit=MAX_PICKLE_BYTES,
                )
        pickles = [member for member in members if member.filename.endswith(".pkl")]
        if not pickles:
            raise InvalidArgumentError("checkpoint.no_data_pkl", name=name)
        scan = _OpcodeScan(name)
        for member in pickles:
            with archive.open(member) as stream:  # inflates as genops reads, never past the declared size
                scan.scan(stream)


def _check_legacy(path: Path, name: str) -> None:
    with path.open("rb") as stream:
        start = stream.read(16)
        if not start.startswith(b"\x80"):  # torch.save's pickles open with PROTO (protocol 2 or more)
            raise InvalidArgumentError("checkpoint.not_a_pickle", name=name, start=repr(start))
        stream.seek(0)
        scan = _OpcodeScan(name)
        for _ in range(LEGACY_PICKLES):
            if not stream.read(1):
                return  # a raw pickle holds one object; torch says what it misses afterwards
            stream.seek(-1, 1)
            scan.scan(stream)


def check_pickled_checkpoint(path: Path, name: str) -> None:
    """Raise InvalidArgumentError when the pickled checkpoint at `path` is a bomb or names a refused global.

    `name` is what the user calls the file (an upload's own name), used in every message. A file that
    starts like a zip is read as one, as torch decides; anything else as torch's legacy pickles.
    """
    with path.open("rb") as stream:
        is_zip = stream.read(4) == ZIP_MAGIC
    if is_zip:
        try:
            _check_zip(path, name)
        except zipfile.BadZipFile as error:
            raise InvalidArgumentError("checkpoint.bad_zip", name=name, reason=str(error)) from None
    else:
        _check_legacy(path, name)
