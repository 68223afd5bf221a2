"""Every message the app shows, looked up by key in a per-language TOML catalogue.

`locales/<lang>.toml` holds keyed messages with `{placeholders}`; nested tables become dotted keys
(`[lab] title = …` → `lab.title`). A key missing from a language falls back to English, so a
partial translation still shows every message. The catalogues are read once per process: they are
files shipped with the code, never changed while it runs.
"""

from __future__ import annotations

import string
import tomllib
from functools import cache
from pathlib import Path

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DEFAULT_LANG = "en"


def _flatten(table: dict[str, object], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Return the messages of `lang` keyed by dotted key ({} when the language has no catalogue)."""
    path = LOCALES_DIR / f"{lang}.toml"
    if not lang.isidentifier() or not path.is_file():  # a lang from a URL never names another file
        return {}
    with path.open("rb") as handle:
        return _flatten(tomllib.load(handle))


def available_languages() -> list[str]:
    """Return the languages that have a catalogue, English first."""
    found = sorted(path.stem for path in LOCALES_DIR.glob("*.toml"))
    return sorted(found, key=lambda lang: lang != DEFAULT_LANG)


def has_message(key: str, lang: str = DEFAULT_LANG) -> bool:
    """Return whether `key` has a message in `lang` or in English."""
    return key in catalogue(lang) or key in catalogue(DEFAULT_LANG)


class _KeepMissing(dict):
    """Leaves an unfilled `{placeholder}` visible instead of raising in the middle of a page."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def placeholders(message: str) -> set[str]:
    """Return the names of the `{placeholders}` in `message`."""
    return {name for _, name, _, _ in string.Formatter().parse(message) if name}


def t(key: str, lang: str = DEFAULT_LANG, **params: object) -> str:
    """Return the message `key` in `lang` (else English, else the key itself) with `params` filled in."""
    message = catalogue(lang).get(key)
    if message is None:
        message = catalogue(DEFAULT_LANG).get(key, key)
    return message.format_map(_KeepMissing(params)) if params else message
