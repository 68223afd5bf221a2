"""English text that also names its catalogue message, so a page can show it in another language.

The engine writes its explanations (the shape doctor's reasons and fixes, forward failures) in English
as before; where such a text is a `Message`, it is still that very `str`, and carries the key of its
message in the catalogues (`locales/<lang>/doctor.toml`, …) and the params that fill it. A param may
itself be a `Message` (a sub-phrase) or an `InspectorError`, translated in turn by
`inspector.i18n.localize`; numbers, shapes, code and torch's own words are passed as they are.
"""

from __future__ import annotations


class Message(str):
    """A `str` (the English text, unchanged) with the catalogue `key` and `params` of its translation."""

    key: str | None
    params: dict[str, object]

    def __new__(cls, english: str, key: str | None = None, /, **params: object) -> Message:
        text = super().__new__(cls, english)
        text.key = key
        text.params = params
        return text

    def __getnewargs__(self) -> tuple[str]:  # copy and pickle rebuild the str; key and params come as state
        return (str(self),)


NONE = Message("")  # an optional sub-phrase that is not there, in every language
