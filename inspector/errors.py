"""The error types every public entry point of `inspector` raises for bad input.

Each error carries what was wrong and, where there is one, the fix (`hint`), so the CLI can print
one line and the app can show a message instead of a traceback.
"""

from __future__ import annotations


class InspectorError(Exception):
    """Base of all user-facing errors: `message` says what was wrong, `hint` how to fix it.

    `key` optionally names the message in the catalogues (`engine.<key>.message`, `engine.<key>.hint`)
    and `params` fills its placeholders, so a page or the CLI can show it in another language; the
    English `message` and `hint` are still built by the raiser and used wherever no translation exists.
    """

    def __init__(
        self, message: str, hint: str | None = None, key: str | None = None, params: dict[str, object] | None = None
    ) -> None:
        self.message = message
        self.hint = hint
        self.key = key
        self.params = dict(params or {})
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
    """The model's forward pass failed; names the module, the shapes it received and torch's message."""

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        module_name: str | None = None,
        module_type: str | None = None,
        input_shape: object = None,
        torch_message: str | None = None,
        key: str | None = None,
        params: dict[str, object] | None = None,
    ) -> None:
        self.module_name = module_name
        self.module_type = module_type
        self.input_shape = input_shape
        self.torch_message = torch_message
        super().__init__(message, hint, key, params)
