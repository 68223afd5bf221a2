"""Limits on the text a user sends (length, digits, JSON nesting), checked before it is parsed.

Python's own parsers have limits that surface as crashes, not messages: `int()` refuses more than
4,300 digits with a ValueError, and `json.loads` recurses once per nesting level, raising
RecursionError near 1,000 levels. The checks here run first, with limits far below those, and say
what the allowed range is. `shorten` keeps a value that an error echoes short enough to read.
"""

from __future__ import annotations

import json
import re

from inspector.core.errors import InvalidArgumentError

# 2**63 has 19 digits and a float 17 significant ones: no size, count or option needs more.
MAX_DIGITS = 32
# Linux's PATH_MAX: no file path is longer, and sizes and JSON options are far shorter.
MAX_TEXT_CHARS = 4096
# A constructor's options are flat ({"num_classes": 10}); a few levels leave room for lists of lists.
MAX_JSON_DEPTH = 32
# How much of a value an error echoes: enough to recognise it, short enough to stay one line.
PREVIEW_CHARS = 40

# No word, number or identifier in our own messages is this long.
ECHO_RUN_CHARS = 120

_DIGIT_RUN = re.compile(r"\d+")
_LONG_RUN = re.compile(rf"\S{{{ECHO_RUN_CHARS + 1},}}")


def shorten(text: object, limit: int = PREVIEW_CHARS) -> str:
    """Return `text` as a string of at most `limit` characters, cut with an ellipsis when longer."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shorten_runs(text: object) -> str:
    """Return `text` with each run of more than ECHO_RUN_CHARS characters without a space shortened:
    in an error, such a run is a user's value echoed whole (a pasted size, a path, JSON), and the
    words around it should stay readable."""
    return _LONG_RUN.sub(lambda run: shorten(run.group(), 2 * PREVIEW_CHARS), str(text))


def check_length(text: str, what: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Return `text` when it has at most `limit` characters, else raise naming `what` and the limit."""
    if len(text) > limit:
        raise InvalidArgumentError(
            "bounds.too_long", what=what, length=len(text), limit=limit, value=repr(shorten(text))
        )
    return text


def longest_number(text: str) -> int:
    """Return how many digits the longest run of digits in `text` has (0 when there is none)."""
    return max((len(run) for run in _DIGIT_RUN.findall(text)), default=0)


def check_digits(text: str, what: str) -> str:
    """Return `text` when no number in it has more than MAX_DIGITS digits, else raise naming `what`."""
    digits = longest_number(text)
    if digits > MAX_DIGITS:
        raise InvalidArgumentError(
            "bounds.too_many_digits", what=what, digits=digits, limit=MAX_DIGITS, value=repr(shorten(text))
        )
    return text


def json_depth(text: str) -> int:
    """Return how deeply the arrays and objects in the JSON `text` nest (brackets inside strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def load_json(text: str, what: str) -> object:
    """Return the JSON `text` parsed, after the length, nesting and digit limits; a syntax error is
    raised as json.JSONDecodeError for the caller to word."""
    check_length(text, what)
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise InvalidArgumentError("bounds.json_too_deep", what=what, depth=depth, limit=MAX_JSON_DEPTH)
    return json.loads(text, parse_int=lambda digits: int(check_digits(digits, what)))
