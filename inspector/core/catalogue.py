"""The message catalogues on disk, and the English text of a keyed message.

`locales/<lang>.toml` and `locales/<lang>/<section>.toml` hold keyed messages with `{placeholders}`;
nested tables become dotted keys (`[lab] title = …` → `lab.title`). A key defined twice in one language
is an error, so two files never silently disagree. This module imports nothing from `inspector`, so the
error types and `Message` can take their English wording from `locales/en` at the moment they are made:
the catalogue is the only place a sentence is written.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path

LOCALES_DIR = Path(__file__).resolve().parents[2] / "locales"
DEFAULT_LANG = "en"


def _flatten(table: Mapping[str, object], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


def catalogue_files(lang: str) -> list[Path]:
    """Return the files that make up `lang`'s catalogue: `<lang>.toml`, then `<lang>/*.toml` in name order."""
    single = LOCALES_DIR / f"{lang}.toml"
    return ([single] if single.is_file() else []) + sorted((LOCALES_DIR / lang).glob("*.toml"))


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Return the messages of `lang` keyed by dotted key ({} when the language has no catalogue)."""
    if not lang.isidentifier():  # a lang from a URL never names another file
        return {}
    merged: dict[str, str] = {}
    for path in catalogue_files(lang):
        with path.open("rb") as handle:
            messages = _flatten(tomllib.load(handle))
        twice = sorted(set(messages) & set(merged))
        if twice:
            raise ValueError(f"{path} defines keys already defined for {lang!r}: {', '.join(twice)}")
        merged.update(messages)
    return merged


class _KeepMissing(dict[str, object]):
    """Leaves an unfilled `{placeholder}` visible instead of raising in the middle of a page."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def placeholders(message: str) -> set[str]:
    """Return the names of the `{placeholders}` in `message` (`{size:,}` names `size`)."""
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(message) if name}


def fill(message: str, params: Mapping[str, object]) -> str:
    """Return `message` with `params` filled in; a missing placeholder stays visible as `{name}`."""
    return message.format_map(_KeepMissing(params)) if params else message


def english(key: str, params: Mapping[str, object] | None = None) -> str:
    """Return message `key` in English with `params` filled in; KeyError when `locales/en` lacks the key.

    A missing key is a programming error (the catalogue test keeps every key the code names in every
    language), so it fails loudly here instead of showing a key to a user.
    """
    return fill(catalogue(DEFAULT_LANG)[key], params or {})
