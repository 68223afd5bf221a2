"""Hostile checkpoints, made here in tmp_path: each is refused with one clear line, and nothing runs.

Bombs (a 40-byte pickle asking bytearray for 2 GB, a deflated data.pkl that inflates past the cap,
millions of opcodes), pickles that would run a command in every container torch reads (zip .pt,
legacy .pt, raw pickle), broken files, odd paths and odd safetensors headers.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from inspector.checkpoint.reader import read_checkpoint
from inspector.cli import main
from inspector.core.errors import InvalidArgumentError

ROOT = Path(__file__).resolve().parent.parent


class Call:
    """Pickles as `fn(*args)`: the pickler writes the call, nothing calls it here."""

    def __init__(self, fn: Callable[..., object], *args: object) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return self.fn, self.args


def payloads(marker: Path) -> dict[str, tuple[object, str]]:
    """Return {label: (object to pickle, the global the refusal must name)}."""
    return {
        "bytearray": (Call(bytearray, 2**31), "builtins.bytearray"),  # 2**31 bytes = 2 GB if it ran
        "system": (Call(os.system, f"touch {marker}"), f"{os.system.__module__}.system"),
        "popen": (Call(subprocess.Popen, ["touch", str(marker)]), "subprocess.Popen"),
    }


def save(path: Path, container: str, content: object) -> Path:
    if container == "zip":
        torch.save(content, path)
    elif container == "legacy":
        torch.save(content, path, _use_new_zipfile_serialization=False)
    else:  # a raw pickle, protocol 4: its globals come by STACK_GLOBAL
        path.write_bytes(pickle.dumps(content, protocol=4))
    return path


def torch_zip(path: Path, data_pkl: bytes, compression: int = zipfile.ZIP_STORED) -> Path:
    """Write a torch.save archive (a real one's records) whose data.pkl is `data_pkl`."""
    real = io.BytesIO()
    torch.save({"w": torch.zeros(2)}, real)
    with zipfile.ZipFile(real) as source, zipfile.ZipFile(path, "w") as target:
        for member in source.infolist():
            is_pickle = member.filename.endswith("data.pkl")
            target.writestr(member.filename, data_pkl if is_pickle else source.read(member), compression)
    return path


def declare_size(path: Path, size: int) -> Path:
    """Rewrite the central directory's uncompressed size of data.pkl: what zip readers believe."""
    blob = bytearray(path.read_bytes())
    at = blob.find(b"PK\x01\x02")
    while at != -1:
        name_length = int.from_bytes(blob[at + 28 : at + 30], "little")
        if blob[at + 46 : at + 46 + name_length].endswith(b"data.pkl"):
            blob[at + 24 : at + 28] = size.to_bytes(4, "little")
        at = blob.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(blob))
    return path


FLOOD = b"\x80\x02" + b"N0" * 3_000_000 + b"N."  # PROTO, 3,000,000 × (NONE, POP), NONE, STOP: 6,000,003 opcodes
STACK_TRICK = (  # pushes posix/system, then two harmless strings, pops them: STACK_GLOBAL would get posix.system
    b"\x80\x04\x8c\x05posix\x8c\x06system\x8c\x0bcollections\x8c\x0bOrderedDict00\x93)R."
)


def safetensors(path: Path, header: object, data: bytes = b"", raw: bytes | None = None) -> Path:
    encoded = raw if raw is not None else json.dumps(header).encode()
    path.write_bytes(len(encoded).to_bytes(8, "little") + encoded + data)
    return path


def f32(shape: list[int], begin: int, end: int, dtype: str = "F32") -> dict[str, object]:
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def hostile_files(folder: Path, marker: Path) -> list[tuple[Path, str, str]]:
    """Return (file, the error's key, a fragment the message must hold) for every hostile file."""
    cases = []
    for container in ("zip", "legacy", "raw"):
        for label, (content, refused) in payloads(marker).items():
            path = save(folder / f"{container}_{label}.pt", container, {"weight": content})
            cases.append((path, "errors_a.pickle_refused", refused))
    real = io.BytesIO()
    torch.save({"w": torch.zeros(1000)}, real)
    cases += [
        (folder / "stack_trick.pt", "errors_a.pickle_refused", "computed on the stack"),
        # 48 MB of pickle deflated to a few hundred KB; and a header that claims 4,000,000,000 bytes
        (torch_zip(folder / "bomb.pt", b"N" * 48 * 2**20, zipfile.ZIP_DEFLATED), "checkpoint.member_too_large", ""),
        (declare_size(torch_zip(folder / "bomb4g.pt", FLOOD), 4_000_000_000), "checkpoint.member_too_large", ""),
        (torch_zip(folder / "flood.pt", FLOOD, zipfile.ZIP_DEFLATED), "checkpoint.too_many_opcodes", "2,000,000"),
        (folder / "flood_legacy.pt", "checkpoint.too_many_opcodes", "2,000,000"),
        (folder / "truncated.pt", "checkpoint.bad_zip", ""),
        (folder / "empty.pth", "checkpoint.empty", "empty"),
        (folder / "notes.pt", "checkpoint.not_a_pickle", "hello"),
        (folder / "folder.pt", "checkpoint.is_directory", "is a directory"),
        (folder / "zero.pt", "checkpoint.not_regular", "not a regular file"),
        (folder / "link.pt", "errors_a.pickle_refused", "system"),
        (folder / "dangling.pt", "errors_a.no_such_file", "no such file"),
    ]
    (folder / "stack_trick.pt").write_bytes(STACK_TRICK)
    (folder / "flood_legacy.pt").write_bytes(FLOOD)
    (folder / "truncated.pt").write_bytes(real.getvalue()[: len(real.getvalue()) // 3])
    (folder / "empty.pth").write_bytes(b"")
    (folder / "notes.pt").write_text("hello, these are my notes\n")
    (folder / "folder.pt").mkdir()
    (folder / "zero.pt").symlink_to("/dev/zero")
    (folder / "link.pt").symlink_to(folder / "zip_system.pt")
    (folder / "dangling.pt").symlink_to(folder / "gone.pt")
    return cases + odd_safetensors(folder)


def odd_safetensors(folder: Path) -> list[tuple[Path, str, str]]:
    bad = "errors_a.bad_safetensors"
    (folder / "short.safetensors").write_bytes(b"\x01\x02")
    (folder / "huge.safetensors").write_bytes((2**63).to_bytes(8, "little") + b"{}")  # a 2**63-byte header
    return [
        (folder / "short.safetensors", bad, "fewer than the 8"),
        (folder / "huge.safetensors", bad, "9,223,372,036,854,775,808-byte header"),  # 2**63 with separators
        (safetensors(folder / "json.safetensors", None, raw=b"{not json"), bad, "not JSON"),
        (safetensors(folder / "deep.safetensors", None, raw=b"[" * 100_000), bad, "not JSON"),
        (safetensors(folder / "list.safetensors", [1, 2]), bad, "JSON list"),
        (safetensors(folder / "negative.safetensors", {"w": f32([1], -4, 0)}, b"\0" * 4), bad, "data_offsets"),
        (
            safetensors(folder / "overlap.safetensors", {"a": f32([2], 0, 8), "b": f32([2], 4, 12)}, b"\0" * 12),
            bad,
            "overlap",
        ),
        (safetensors(folder / "dtype.safetensors", {"w": f32([1], 0, 4, "X99")}, b"\0" * 4), bad, "'X99'"),
        (safetensors(folder / "shape.safetensors", {"w": f32(["a"], 0, 4)}, b"\0" * 4), bad, "shape"),
        (safetensors(folder / "span.safetensors", {"w": f32([3], 0, 4)}, b"\0" * 4), bad, "need 12"),  # 3 · 4 = 12
        (safetensors(folder / "cut.safetensors", {"w": f32([1], 0, 4)}), bad, "data ends at byte 4"),
        (safetensors(folder / "meta.safetensors", {"__metadata__": {"a": 1}}), bad, "__metadata__"),
    ]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[tuple[Path, str, str]], Path]:
    folder = tmp_path_factory.mktemp("hostile")
    marker = folder / "pwned"
    return hostile_files(folder, marker), marker


def test_every_hostile_file_is_one_clear_keyed_error(corpus):
    cases, marker = corpus
    for path, key, fragment in cases:
        with pytest.raises(InvalidArgumentError) as caught:
            read_checkpoint(path)
        error = caught.value
        assert (error.key, path.name) == (key, path.name) and path.name in error.message, str(error)
        assert fragment in str(error) and error.hint, str(error)
    assert not marker.exists()  # no command ran


def test_cli_says_one_line_and_exits_2_for_every_hostile_file(corpus, capsys):
    cases, marker = corpus
    for path, _key, _fragment in cases:
        assert main(["checkpoint", str(path)]) == 2, path
        captured = capsys.readouterr()
        assert captured.out == "" and captured.err.count("\n") == 1 and path.name in captured.err, captured.err
        assert captured.err.startswith("error: ") and "Traceback" not in captured.err
    assert not marker.exists()


def test_a_path_of_5000_characters_is_a_short_clear_error(tmp_path):
    path = tmp_path / ("x" * 5000 + ".pt")
    with pytest.raises(InvalidArgumentError) as caught:
        read_checkpoint(path)
    assert caught.value.key == "checkpoint.unreadable" and "File name too long" in caught.value.message
    assert len(str(caught.value)) < 300  # the path is shortened to 120 characters in the message


PEAK_SCRIPT = """
import ctypes, json, os, resource, subprocess, sys
ctypes.CDLL(None).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: the CLI's sandbox children are reaped (and counted) here
runs = [subprocess.run([sys.executable, "-m", "inspector", "checkpoint", f], capture_output=True, text=True)
        for f in sys.argv[1:]]
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({"peak": peak, "runs": [[r.returncode, r.stderr] for r in runs]}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl and ru_maxrss in kB are Linux's")
def test_cli_process_tree_stays_small_on_bombs(corpus):
    cases, marker = corpus
    chosen = [path for path, _key, _fragment in cases if path.stem in ("zip_bytearray", "bomb", "flood", "raw_system")]
    result = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, *map(str, chosen)], capture_output=True, text=True, cwd=ROOT, timeout=600
    )
    report = json.loads(result.stdout)
    for (status, stderr), path in zip(report["runs"], chosen, strict=True):
        assert status == 2 and stderr.count("\n") == 1 and path.name in stderr, stderr
    # the largest process of the tree (the CLI, the forkserver, each child) stays under 1.2 GB
    assert report["peak"] < 1.2 * 2**30, report["peak"]
    assert not marker.exists()


def test_page_names_the_upload_and_shows_markdown_names_literally(tmp_path):
    from markdown_it import MarkdownIt
    from safetensors.torch import save_file
    from streamlit.testing.v1 import AppTest

    page = AppTest.from_file(str(ROOT / "app_pages" / "checkpoint.py"), default_timeout=120).run()
    evil = io.BytesIO()
    torch.save({"p": Call(os.system, "true")}, evil)
    page.file_uploader(key="ckpt.upload").upload("my ![x](http://host/t.png) weights.pt", evil.getvalue()).run()
    shown = page.error[0].value
    unescaped = re.sub(r"\\(.)", r"\1", shown)  # Markdown shows `\[` as `[`
    assert "my ![x](http://host/t.png) weights.pt was refused" in unescaped and "upload.pt" not in unescaped
    names = ["![x](http://host/track.png)", "[Click here](http://host/x)"]
    save_file({name: torch.zeros(2) for name in names}, tmp_path / "names.safetensors")
    upload = (tmp_path / "names.safetensors").read_bytes()
    page.file_uploader(key="ckpt.upload").upload("names.safetensors", upload).run()
    page.selectbox(key="ckpt.against").set_value("mlp").run()
    assert not page.exception and "does not fit mlp" in page.error[0].value
    for markdown in (page.error[0].value, shown):  # as Markdown, the text makes no link and no image
        html = MarkdownIt("commonmark").render(markdown)
        assert "<img" not in html and "<a " not in html, html
    assert "http://" not in page.error[0].value  # escaped, so no bare-URL autolink either
    cells = page.dataframe[-1].value
    assert sorted(cells.iloc[:, 0]) == sorted(names)  # the names as written, in cells
    assert list(cells.iloc[:, 3]) == ["2", "2"]
