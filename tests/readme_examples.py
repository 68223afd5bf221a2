"""The README's examples, found, run and compared with what the program prints.

A block is an example when the line before its opening fence is one of these markers:

- `<!-- example -->` before a console block: each `$ command` line is run from the repository root (`python`
  is this interpreter) and the lines after it, up to the next `$`, are what it must print (stdout, then
  stderr). A line `…` stands for any number of lines, so an abridged output is still checked where shown.
- `<!-- example: json $ command -->` before a ```json block: the command's output, parsed as JSON, must
  equal the block's document (so it may be laid out for reading).
- `<!-- example: python -->` before a ```python block: the code runs in a fresh interpreter and must exit 0.

`python -m tests.readme_examples --write` rewrites the console and JSON blocks from the real output (an
abridged block keeps its first lines and its `…`); `python -m tests.readme_examples` only reports drift.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MARKER = re.compile(r"<!-- example(?::\s*(\w+))?(?:\s+\$ (.+?))? -->")
ELLIPSIS = "…"
TIMEOUT_S = 600  # one command on a loaded 2-core machine, far above any example's real time


@dataclass
class Example:
    kind: str  # "console", "json" or "python"
    first_line: int  # index in README lines of the first line inside the fence
    body: list[str]  # the lines inside the fence
    command: str = ""  # a JSON example's command, from its marker

    @property
    def where(self) -> str:
        return f"README.md:{self.first_line + 1}"


def find_examples(text: str) -> list[Example]:
    """Return every marked example block of `text`, in order."""
    lines = text.splitlines()
    examples = []
    for index, line in enumerate(lines[:-1]):
        marker = MARKER.fullmatch(line.strip())
        if not marker or not lines[index + 1].startswith("```"):
            continue
        end = next(i for i in range(index + 2, len(lines)) if lines[i].startswith("```"))
        examples.append(Example(marker.group(1) or "console", index + 2, lines[index + 2 : end], marker.group(2) or ""))
    return examples


def run(command: str) -> str:
    """Return what `command` prints (stdout, then stderr), run from the repository root."""
    argv = shlex.split(command)
    if argv[0] == "python":
        argv[0] = sys.executable
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    return done.stdout + done.stderr


def commands(example: Example) -> list[tuple[str, list[str]]]:
    """Return each `$ command` of a console block with the lines it must print."""
    steps: list[tuple[str, list[str]]] = []
    for line in example.body:
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    return steps


def matches(expected: list[str], actual: list[str]) -> bool:
    """Return whether `actual` is `expected`, each `…` line standing for any run of lines."""
    pattern = "\n".join(".*?" if line == ELLIPSIS else re.escape(line.rstrip()) for line in expected)
    return re.fullmatch(pattern.replace("\n.*?\n", "(?:\n.*?)?\n"), "\n".join(actual), re.DOTALL) is not None


def _printed(command: str) -> list[str]:
    return [line.rstrip() for line in run(command).rstrip("\n").splitlines()]


def check(example: Example) -> list[str]:
    """Return the differences between an example and what the program does (empty: it matches)."""
    if example.kind == "python":
        done = subprocess.run(
            [sys.executable, "-c", "\n".join(example.body)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
        return [] if done.returncode == 0 else [f"{example.where}: the code exits {done.returncode}: {done.stderr}"]
    if example.kind == "json":
        expected = json.loads("\n".join(example.body))
        actual = json.loads(run(example.command))
        return [] if actual == expected else [f"{example.where}: {example.command}\n{json.dumps(actual, indent=2)}"]
    problems = []
    for command, expected in commands(example):
        actual = _printed(command)
        if not matches(expected, actual):
            problems.append(f"{example.where}: $ {command}\n" + "\n".join(actual))
    return problems


def _abridged(expected: list[str], actual: list[str]) -> list[str]:
    if ELLIPSIS not in expected:
        return actual
    head = expected.index(ELLIPSIS)
    return [*actual[:head], ELLIPSIS]


def rewritten(example: Example) -> list[str]:
    """Return the block's lines as the program prints them now."""
    if example.kind == "json":
        document = json.loads(run(example.command))
        return json.dumps(document, indent=2, ensure_ascii=False).splitlines()
    lines = []
    for command, expected in commands(example):
        lines += [f"$ {command}", *_abridged(expected, _printed(command))]
    return lines


def write() -> None:
    """Rewrite every console and JSON example of README.md from the real output.

    The commands run first; the README is read again just before writing and each block is replaced by
    its old text, so an edit made elsewhere in the file meanwhile is kept.
    """
    replacements = []
    for example in find_examples(README.read_text()):
        if example.kind != "python":
            replacements.append(("\n".join(example.body), "\n".join(rewritten(example))))
    text = README.read_text()
    for old, new in replacements:
        text = text.replace(old, new, 1)
    README.write_text(text)


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        write()
    drift = [problem for example in find_examples(README.read_text()) for problem in check(example)]
    print("\n\n".join(drift) or "every README example matches")
    sys.exit(1 if drift else 0)
