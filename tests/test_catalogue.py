"""Every sentence is written once, in the catalogue: the code names keys, and the keys and the code agree.

The code is read with `ast`, never run: a key is named where it is the first argument of `t`, `tr`, `t_or`,
`has_message` or `msg`, the first argument of an error type (`engine.<key>.message`), or a `hint_key=`.
Each such key must exist in every language with the same placeholders. In the other direction a catalogue
key is used when a string in the code names it, or when it starts with the constant part of a key the code
builds (`f"model.col.{name}"`, `"engine.errors_b.what." + name`), a placeholder standing
for one dotted segment.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from inspector.core.i18n import available_languages, catalogue, placeholders

ROOT = Path(__file__).resolve().parent.parent
CODE = sorted(
    [
        ROOT / "app.py",
        *(ROOT / "inspector").rglob("*.py"),
        *(ROOT / "ui").rglob("*.py"),
        *(ROOT / "app_pages").glob("*.py"),
        *(ROOT / "models").glob("*.py"),
    ]
)
LOOKUPS = {"t", "tr", "t_or", "has_message", "msg"}
KEY = re.compile(r"[a-z_][a-z0-9_]*(\.[A-Za-z0-9_]+)*")  # "device_unavailable", "errors_a.spec_version"
ERROR_TYPES = {"InspectorError", "InvalidArgumentError", "UnknownNameError", "DeviceUnavailableError", "ForwardError"}


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _literals(node: ast.expr | None) -> list[str]:
    """Return the string constants an argument can be: `"key"`, or each branch of `"a" if c else "b"`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _literals(node.body) + _literals(node.orelse)
    return []


def _trees() -> Iterator[tuple[Path, ast.AST]]:
    for path in CODE:
        yield path, ast.parse(path.read_text(), filename=str(path))


def named_keys() -> dict[str, str]:
    """Return {catalogue key: where} for every key the code names literally in a lookup or an error."""
    named: dict[str, str] = {}
    for path, tree in _trees():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name, where = _called_name(node), f"{path.relative_to(ROOT)}:{node.lineno}"
            for literal in _literals(node.args[0] if node.args else None):
                if name in LOOKUPS:
                    named[literal] = where
                elif name in ERROR_TYPES and KEY.fullmatch(literal):
                    named[f"engine.{literal}.message"] = where
            for keyword in node.keywords:
                if keyword.arg == "hint_key" and isinstance(keyword.value, ast.Constant):
                    named[f"engine.{keyword.value.value}.hint"] = where
    return named


MECHANISM = {"errors.py", "i18n.py", "catalogue.py", "messages.py"}  # look up whatever key they are given
SEGMENT = r"[^.\s]+"  # what a `{placeholder}` inside a key stands for: one dotted segment


def _pattern(node: ast.JoinedStr | ast.BinOp) -> str | None:
    """Return a regex for the strings an f-string or `"constant." + name` builds, None if it starts unknown."""
    parts = node.values if isinstance(node, ast.JoinedStr) else [node.left, node.right]
    if not parts or not (isinstance(parts[0], ast.Constant) and isinstance(parts[0].value, str)):
        return None
    if not re.match(r"[a-z_][a-z0-9_]*\.", parts[0].value):
        return None
    return "".join(re.escape(p.value) if isinstance(p, ast.Constant) else SEGMENT for p in parts)


def strings_and_patterns() -> tuple[set[str], list[re.Pattern[str]]]:
    """Return every string constant in the code, and patterns for the keys it builds from parts."""
    strings: set[str] = set()
    patterns: set[str] = set()
    for path, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                strings.add(node.value)
            elif isinstance(node, (ast.JoinedStr, ast.BinOp)) and path.name not in MECHANISM:
                pattern = _pattern(node)
                if pattern:
                    patterns.add(pattern)
    return strings, [re.compile(pattern) for pattern in patterns]


def _is_used(key: str, strings: set[str], patterns: list[re.Pattern[str]]) -> bool:
    bare = key.removeprefix("engine.").removesuffix(".message").removesuffix(".hint")
    return key in strings or bare in strings or any(p.fullmatch(key) or p.fullmatch(bare) for p in patterns)


@pytest.mark.parametrize("lang", available_languages())
def test_every_key_the_code_names_exists(lang: str) -> None:
    messages = catalogue(lang)
    missing = {key: where for key, where in named_keys().items() if key not in messages}
    assert not missing, missing


def test_named_keys_have_the_same_placeholders_in_every_language() -> None:
    english = catalogue("en")
    for lang in available_languages():
        other = catalogue(lang)
        differ = {
            key for key in named_keys() if key in other and placeholders(other[key]) != placeholders(english[key])
        }
        assert not differ, (lang, sorted(differ))


def test_no_catalogue_key_is_unused() -> None:
    strings, patterns = strings_and_patterns()
    unused = sorted(key for key in catalogue("en") if not _is_used(key, strings, patterns))
    assert not unused, unused


def test_errors_and_messages_are_made_from_keys() -> None:
    # An error type or msg() whose first argument is text built in code (an f-string, a sentence) would
    # carry English written in code; a key, a choice of keys or a variable holding one is fine.
    written_in_code = []
    for path, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _called_name(node) in ERROR_TYPES | {"msg", "Message"} and node.args:
                first = node.args[0]
                literals = _literals(first)
                built = isinstance(first, ast.JoinedStr) and any(
                    isinstance(part, ast.Constant) and re.search(r"\s", str(part.value)) for part in first.values
                )  # f"hf.what.{name}" builds a key; f"{name} must be …" builds a sentence
                is_key = all(KEY.fullmatch(text) for text in literals) and not built
                allowed = path.name in {"messages.py", "errors.py"}  # the two constructors themselves
                if not is_key and not allowed:
                    written_in_code.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not written_in_code, written_in_code


def _has_words(node: ast.expr) -> bool:
    """Return whether an argument is text with a space in it (a sentence, not a name or a key); the calls
    inside it (an argument's own `help=`) are not looked into."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(re.search(r"\s", node.value))
    if isinstance(node, (ast.Call, ast.Lambda)):
        return False
    return any(_has_words(child) for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr))


TEXT_CARRIERS = {"ZooEntry", "_image_entry", "_gpt_entry", "LayerSpec", "_conv", "_pool", "_rnn"}


def test_zoo_entries_and_layer_specs_carry_no_sentences() -> None:
    # A zoo model's title and description (`zoo.<name>.*`) and a layer's math line (`layer_math.<Layer>`) live
    # in the catalogues; the registries name the model or layer and nothing more. Option and argument help
    # (a keyword `help=`) is not checked here.
    written_in_code = []
    for path, tree in _trees():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _called_name(node) in TEXT_CARRIERS):
                continue
            if any(_has_words(argument) for argument in node.args):
                written_in_code.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not written_in_code, written_in_code


def test_no_sentence_is_written_both_in_code_and_in_the_catalogue() -> None:
    # Text of four words or more that is also an English message is a second copy of a sentence. Shorter
    # strings may be both: a CSV column ("W mean") stays English whatever the language of its table heading.
    english = {text: key for key, text in catalogue("en").items() if len(text.split()) >= 4}
    copies = [
        f"{path.relative_to(ROOT)}:{node.lineno} ({english[node.value]})"
        for path, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in english
    ]
    assert not copies, copies
