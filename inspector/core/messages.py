"""Engine text that names its catalogue message, so a page can show it in any language.

The shape doctor's reasons and fixes, layer notes and other explanations are `Message`s made by
`msg(key, **params)`: the English wording comes from `locales/en` (the only place it is written), and
the key and params travel with it so `inspector.core.i18n.localize` can show it in another language. A
param may itself be a `Message` (a sub-phrase) or an `InspectorError`, translated in turn; numbers,
shapes, code and torch's own words are passed as they are.
"""

from __future__ import annotations

from inspector.core.catalogue import english
from inspector.core.errors import english_params


class Message(str):
    """A `str` (the English text) with the catalogue `key` and `params` it was made from."""

    key: str | None
    params: dict[str, object]

    def __new__(cls, english_text: str, key: str | None = None, /, **params: object) -> Message:
        text = super().__new__(cls, english_text)
        text.key = key
        text.params = params
        return text

    def __getnewargs__(self) -> tuple[str]:  # copy and pickle rebuild the str; key and params come as state
        return (str(self),)


def msg(key: str, /, **params: object) -> Message:
    """Return message `key` as a `Message`: its English text from `locales/en`, filled with `params`."""
    return Message(english(key, english_params(params)), key, **params)


NONE = Message("")  # an optional sub-phrase that is not there, in every language
