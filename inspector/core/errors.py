"""The error types every public entry point of `inspector` raises for bad input.

A raise site names the message's catalogue key and its params; the wording lives only in
`locales/<lang>/*.toml` as `engine.<key>.message` and, where there is a fix, `engine.<key>.hint`:

    raise InvalidArgumentError("errors_b.kernel_too_big", size=5, kernel=7)

`message` and `hint` are the English text, filled in when the error is made, so the CLI can print one
line and the app can show a message instead of a traceback; `inspector.core.i18n.error_text` gives the
same error in another language from `key` and `params`.
"""

from __future__ import annotations

from collections.abc import Mapping

from inspector.core.catalogue import catalogue, english, fill, placeholders


def english_params(params: Mapping[str, object]) -> dict[str, object]:
    """Return `params` ready for an English template: an InspectorError gives its message as `name`
    and its hint as `name_hint`; a `Message` is already its English text."""
    filled: dict[str, object] = {}
    for name, value in params.items():
        if isinstance(value, InspectorError):
            filled[name], filled[f"{name}_hint"] = value.message, value.hint
        else:
            filled[name] = value
    return filled


def keyed_text(key: str, part: str, params: Mapping[str, object]) -> str | None:
    """Return `engine.<key>.<part>` in English filled with `params`; None when there is no such part, or
    when a placeholder it needs is None (an optional hint that a wrapped error does not have)."""
    template = catalogue("en").get(f"engine.{key}.{part}")
    if template is None or any(params.get(name, "") is None for name in placeholders(template)):
        return None
    return fill(template, params)


class InspectorError(Exception):
    """Base of all user-facing errors: `message` says what was wrong, `hint` how to fix it.

    `key` names the message in the catalogues and `params` fills its placeholders. `hint_key` takes the
    hint from another message (one error with several possible fixes); `no_hint` leaves it out.
    """

    message: str
    hint: str | None
    key: str
    params: dict[str, object]
    hint_key: str | None

    def __init__(self, key: str, /, *, hint_key: str | None = None, no_hint: bool = False, **params: object) -> None:
        # A key missing from locales/en is a programming error: english() raises KeyError naming it.
        self.key = key
        self.params = dict(params)
        filled = english_params(self.params)
        self.message = english(f"engine.{key}.message", filled)
        self.hint = None if no_hint else keyed_text(hint_key or key, "hint", filled)
        self.hint_key = None if no_hint else (hint_key or key)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class InvalidArgumentError(InspectorError, ValueError):
    """A size, shape or constructor argument is out of range or malformed."""


class UnknownNameError(InspectorError, KeyError):
    """A layer type, model name, scheme or format that does not exist."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return InspectorError.__str__(self)


class DeviceUnavailableError(InspectorError):
    """The requested device does not exist in this process."""


class ForwardError(InspectorError):
    """The model's forward pass failed; names the module, the shapes it received and torch's message.

    `module_name`, `module_type`, `input_shape` and `torch_message` are kept as attributes for the
    app and the doctor, and are also params of the message.
    """

    def __init__(
        self,
        key: str,
        /,
        *,
        module_name: str | None = None,
        module_type: str | None = None,
        input_shape: object = None,
        torch_message: str | None = None,
        hint_key: str | None = None,
        no_hint: bool = False,
        **params: object,
    ) -> None:
        self.module_name = module_name
        self.module_type = module_type
        self.input_shape = input_shape
        self.torch_message = torch_message
        fields = {
            "module_name": module_name,
            "module_type": module_type,
            "input_shape": input_shape,
            "torch_message": torch_message,
        }
        super().__init__(
            key,
            hint_key=hint_key,
            no_hint=no_hint,
            **{name: value for name, value in fields.items() if value is not None},
            **params,
        )
