"""Every message the app shows, looked up by key in a per-language TOML catalogue.

`locales/<lang>.toml` holds keyed messages with `{placeholders}`; nested tables become dotted keys
(`[lab] title = …` → `lab.title`). A language may also keep sections in their own files,
`locales/<lang>/<section>.toml` (e.g. the CLI's and the engine errors' messages), merged into one
catalogue; a key defined twice is an error, so two files never silently disagree. A key missing from
a language falls back to English, so a partial translation still shows every message. Engine-written
text that knows its key (`inspector.core.messages.Message`: the shape doctor's reasons and fixes, layer notes)
is translated by `localize`. The catalogues are read once per process: they are files shipped with the
code, never changed while it runs.
"""

from __future__ import annotations

from inspector.core.catalogue import DEFAULT_LANG, LOCALES_DIR, catalogue, fill
from inspector.core.catalogue import placeholders as placeholders  # re-exported: the catalogue tests use it
from inspector.core.errors import InspectorError
from inspector.core.messages import Message


def available_languages() -> list[str]:
    """Return the languages that have a catalogue, English first."""
    found = {path.stem for path in LOCALES_DIR.glob("*.toml")}
    found |= {path.name for path in LOCALES_DIR.iterdir() if path.is_dir() and any(path.glob("*.toml"))}
    return sorted(sorted(found), key=lambda lang: lang != DEFAULT_LANG)


def language_for_locale(locale: str | None) -> str:
    """Return the catalogue language for a browser locale ('zh-CN', or an Accept-Language list), else English.

    Only the primary subtag counts: zh-TW and zh-HK get the Simplified Chinese catalogue, the only one.
    """
    languages = available_languages()
    for tag in (locale or "").split(","):
        primary = tag.split(";")[0].strip().replace("_", "-").split("-")[0].lower()
        if primary in languages:
            return primary
    return DEFAULT_LANG


def has_message(key: str, lang: str = DEFAULT_LANG) -> bool:
    """Return whether `key` has a message in `lang` or in English."""
    return key in catalogue(lang) or key in catalogue(DEFAULT_LANG)


def t(key: str, /, lang: str = DEFAULT_LANG, **params: object) -> str:  # `/`: a placeholder may be named key
    """Return the message `key` in `lang` (else English, else the key itself) with `params` filled in."""
    message = catalogue(lang).get(key)
    if message is None:
        message = catalogue(DEFAULT_LANG).get(key, key)
    return fill(message, params)


def t_or(key: str, lang: str, fallback: str) -> str:
    """Return message `key` in `lang` when that catalogue has it, else `fallback` (English text from the engine)."""
    return t(key, lang) if key in catalogue(lang) else fallback


def error_text(error: InspectorError, lang: str = DEFAULT_LANG) -> tuple[str, str | None]:
    """Return an InspectorError's message and hint in `lang` when its key has messages, else its English text.

    A param that is itself an InspectorError (an error wrapped with more context) is translated the same
    way, its hint offered as the param `<name>_hint`; a param that is a `Message` (e.g. a forward failure's
    diagnosis from the shape doctor) is translated by `localize`.
    """
    if lang == DEFAULT_LANG or f"engine.{error.key}.message" not in catalogue(lang):
        return error.message, error.hint
    params: dict[str, object] = {}
    for name, value in error.params.items():
        if isinstance(value, InspectorError):  # also offers its hint as `{name}_hint`
            params[name], params[f"{name}_hint"] = error_text(value, lang)
        else:
            params[name] = localize(value, lang)
    message = t(f"engine.{error.key}.message", lang, **params)
    hint = error.hint
    hint_key = error.hint_key or error.key
    if hint is not None and f"engine.{hint_key}.hint" in catalogue(lang):
        hint = t(f"engine.{hint_key}.hint", lang, **params)
    return message, hint


def localize(value: object, lang: str = DEFAULT_LANG) -> object:
    """Return `value` as shown in `lang`: a `Message` or an InspectorError translated where its key has a
    message in `lang` (its params translated the same way), anything else as it is.

    English always gets the engine's own text, byte for byte.
    """
    if isinstance(value, InspectorError):
        return error_text(value, lang)[0]
    if not isinstance(value, Message):
        return value
    if lang == DEFAULT_LANG or not value.key or value.key not in catalogue(lang):
        return str(value)
    return t(value.key, lang, **{name: localize(param, lang) for name, param in value.params.items()})


def localized(value: object, lang: str = DEFAULT_LANG) -> str:
    """Return `localize(value, lang)` as text, for a page."""
    return str(localize(value, lang))
