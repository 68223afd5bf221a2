"""The command line: `python -m inspector [--lang en|zh] zoo | devices | layers | model | layer`.

A report goes to stdout and exit status 0. Whatever the input, an error is one line on stderr, never
a traceback: exit 2 for a problem with the input (what was wrong, the allowed range, the fix), exit 3
for an internal error (a bug to report). Every argument is checked for length and digits before it
is parsed. `--lang` (before or after the subcommand) sets the language of the readable output and of
the error line; JSON keys stay English.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from inspector.core.bounds import check_digits, check_length, shorten, shorten_runs
from inspector.core.devices import available_devices, cuda_visible_devices
from inspector.core.errors import InspectorError, InvalidArgumentError
from inspector.core.formatting import OutputFormat, parse_format, render_report
from inspector.core.i18n import DEFAULT_LANG, available_languages, error_text, localize, t, t_or
from inspector.core.messages import msg
from inspector.core.report import ModelReport
from inspector.core.shapes import parse_sizes
from inspector.lab.formatting import render_layer
from inspector.lab.inspection import inspect_layer
from inspector.layers.args import ArgSpec
from inspector.layers.specs import LAYERS, get_layer_spec
from inspector.model.sources import default_device, inspect_source, model_source
from inspector.model.zoo import parse_kwargs
from models import ZOO

USER_ERROR = 2
INTERNAL_ERROR = 3  # not 1, which is what Python itself exits with after an uncaught traceback

# Subcommands that live in their own modules. Each module defines
# `add_command(commands: argparse._SubParsersAction, lang: str) -> None` (help texts in `lang`), whose parser calls
# `set_defaults(handler=...)` with a function `(args: argparse.Namespace) -> str` returning the output.
EXTRA_COMMANDS: tuple[str, ...] = (
    "inspector.init.cli",
    "inspector.builder.cli",
    "inspector.planner.cli",
    "inspector.checkpoint.cli",
    "inspector.model.graph_cli",
)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line and exit 2, without the usage block, and whose help
    is in `lang`: our texts from the catalogue (`cli_help.*`), and argparse's own words ("usage: ",
    "options", "positional arguments", -h's help) too, as argparse writes them in English."""

    lang = DEFAULT_LANG  # the subcommands' parsers are made by argparse: their class carries the language

    def __init__(self, *args: Any, lang: str | None = None, **kwargs: Any) -> None:
        lang = lang or self.lang
        prefix = t("cli_help.argparse.usage", lang)

        class Formatter(argparse.HelpFormatter):
            def add_usage(self, usage: Any, actions: Any, groups: Any, prefix_: str | None = None) -> None:
                super().add_usage(usage, actions, groups, prefix if prefix_ is None else prefix_)

        kwargs.setdefault("formatter_class", Formatter)
        super().__init__(*args, **kwargs)
        self.lang = lang
        self._positionals.title = t("cli_help.argparse.positionals", lang)
        self._optionals.title = t("cli_help.argparse.options", lang)
        for action in self._actions:
            if isinstance(action, argparse._HelpAction):
                action.help = t("cli_help.argparse.help", lang)

    @staticmethod
    def in_language(lang: str) -> type[_Parser]:
        """Return the parser class whose help is in `lang` (what argparse builds the subcommands with)."""

        class Localized(_Parser):
            pass

        Localized.lang = lang
        return Localized

    def error(self, message: str) -> NoReturn:
        raise _UsageError(f"{self.prog}: {message}")


class _UsageError(Exception):
    pass


def _common(parser: argparse.ArgumentParser, lang: str, depth: bool = False) -> None:
    parser.add_argument("--input-size", help=t("cli_help.common.input_size", lang))
    parser.add_argument("--device", default="cpu", help=t("cli_help.common.device", lang))
    parser.add_argument("--dtype", default=None, help=t("cli_help.common.dtype", lang))
    formats = ", ".join(OutputFormat)
    parser.add_argument("--format", default="table", help=t("cli_help.common.format", lang, formats=formats))
    if depth:
        parser.add_argument("--depth", type=int, default=None, help=t("cli_help.model.depth", lang))


def _model_source_flags(parser: argparse.ArgumentParser, lang: str) -> None:
    # No default device: an hf: model over a billion parameters then runs on meta (see sources.default_device).
    parser.set_defaults(device=None)
    parser.add_argument("--input-dtype", default=None, help=t("cli_help.common.input_dtype", lang))
    parser.add_argument("--head", default=None, help=t("cli_help.common.head", lang))
    parser.add_argument("--seq-len", type=int, default=None, help=t("cli_help.common.seq_len", lang))
    parser.add_argument("--batch-size", type=int, default=1, help=t("cli_help.common.batch_size", lang))


def _inspect_named(args: argparse.Namespace, sizes: tuple[int, ...] | list[tuple[int, ...]] | None) -> ModelReport:
    """Return the report of `model NAME`: the source resolved, hf: settings given as its options."""
    options = parse_kwargs(args.kwargs)
    hf_settings = {"head": args.head, "seq_len": args.seq_len}
    options.update({key: value for key, value in hf_settings.items() if value is not None})
    source = model_source(
        args.name, options, input_size=sizes, input_dtype=args.input_dtype, batch_size=args.batch_size
    )
    device, notice = default_device(source, args.device)
    if notice is not None:  # on stderr: the report on stdout stays a clean table or document
        sys.stderr.write(f"{localize(notice, args.lang)}\n")
    return inspect_source(source, device, args.dtype, args.mode)


def build_parser(lang: str = DEFAULT_LANG) -> argparse.ArgumentParser:
    """Return the top-level parser, its help in `lang` (layer arguments are parsed in a second pass, per layer type)."""
    parser = _Parser(prog="python -m inspector", description=t("cli_help.description", lang), lang=lang)
    languages = available_languages()
    lang_help = t("cli_help.lang", lang, languages=t("cli_help.or", lang).join(languages), default=DEFAULT_LANG)
    parser.add_argument("--lang", choices=languages, default=DEFAULT_LANG, help=lang_help)
    # Not required: `python -m inspector` alone names the commands instead of argparse's bare error.
    commands = parser.add_subparsers(dest="command", parser_class=_Parser.in_language(lang))
    for name in ("zoo", "devices", "layers"):
        sub = commands.add_parser(name, help=t(f"cli_help.command.{name}", lang))
        sub.add_argument("--format", default="table", help=t("cli_help.format_table_json", lang))
    model = commands.add_parser("model", help=t("cli_help.command.model", lang))
    model.add_argument("name")
    model.add_argument("--kwargs", default=None, help=t("cli_help.model.kwargs", lang))
    model.add_argument("--mode", default="eval", help=t("cli_help.model.mode", lang))
    _common(model, lang, depth=True)
    _model_source_flags(model, lang)
    # --help lists the layer's own flags
    layer = commands.add_parser("layer", help=t("cli_help.command.layer", lang), add_help=False)
    layer.add_argument("type", nargs="?")
    layer.add_argument("-h", "--help", action="store_true", help=t("cli_help.layer.help", lang))
    _common(layer, lang)
    for module_name in EXTRA_COMMANDS:
        importlib.import_module(module_name).add_command(commands, lang)
    for sub in commands.choices.values():  # also after the subcommand; SUPPRESS keeps a --lang given before it
        sub.add_argument("--lang", choices=languages, default=argparse.SUPPRESS, help=lang_help)
    return parser


def _layer_parser(layer_type: str, lang: str = DEFAULT_LANG) -> _Parser:
    """Return the parser of one layer type's own flags, each with its help and default."""
    spec = get_layer_spec(layer_type)
    parser = _Parser(prog=f"python -m inspector layer {spec.name}", add_help=False)
    for arg in spec.args:
        text = t_or(f"args.{arg.name}.help", lang, arg.help)
        default = t("cli.hints.default", lang, default=_default(arg))
        parser.add_argument(arg.flag, dest=arg.name, default=None, metavar=arg.name.upper(), help=f"{text}{default}")
    return parser


def _layer_args(layer_type: str, extra: list[str], input_size: str | None = None) -> dict[str, str]:
    given, unknown = _layer_parser(layer_type).parse_known_args(extra)
    if unknown:
        _unrecognized(unknown, input_size)
    return {name: value for name, value in vars(given).items() if value is not None}


def _layer_help(parser: argparse.ArgumentParser, layer_type: str | None, lang: str) -> str:
    """Return `layer TYPE --help`: the layer's own flags with their defaults, then the common ones."""
    common = parser.format_help()
    if layer_type is None:
        return f"{common}\n{t('cli.hints.layer_types', lang, types=', '.join(LAYERS))}"
    own = _layer_parser(layer_type, lang).format_help().partition("\n\n")[2]  # without its usage block
    own = own.partition("\n")[2].rstrip() if own.startswith("options:") else own.rstrip()
    heading = t("cli.hints.layer_flags", lang, layer=get_layer_spec(layer_type).name)
    return f"{heading}\n{own or t('cli.hints.no_flags', lang)}\n\n{common}"


def _no_command(parser: argparse.ArgumentParser) -> InvalidArgumentError:
    """Return the error for `python -m inspector` alone: it names every command, in one line."""
    actions = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    return InvalidArgumentError("cli.no_command", commands=", ".join(actions[0].choices))


def _unrecognized(extra: list[str], input_size: str | None) -> NoReturn:
    """Raise for arguments no parser took, with the likely fix: hyphens in flags, commas in sizes."""
    for item in extra:
        flag = item.partition("=")[0]
        if flag.startswith("--") and "_" in flag:
            raise InvalidArgumentError("cli.underscore_flag", flag=flag, hyphen=flag.replace("_", "-"))
    numbers = [item for item in extra if item.isdigit()]
    if input_size is not None and numbers and input_size.isdigit():
        raise InvalidArgumentError("cli.spaced_size", given=" ".join([input_size, *numbers]),
                                   fixed=",".join([input_size, *numbers]))  # fmt: skip
    raise _UsageError(f"python -m inspector: unrecognized arguments: {' '.join(extra)}")


def _print(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _listing(kind: str, output_format: str, lang: str = DEFAULT_LANG) -> str:
    rows: list[dict[str, object]]
    if kind == "zoo":
        rows = [
            {
                "name": e.name,
                "title": t(f"zoo.{e.name}.title"),
                "input_size": list(e.input_size),
                "description": t(f"zoo.{e.name}.description"),
                "options": {o.name: o.default for o in e.options},
            }
            for e in ZOO.values()
        ]
    elif kind == "devices":
        rows = [{"name": d.name, "label": d.label, "total_memory": d.total_memory} for d in available_devices()]
    else:
        rows = [
            {"type": s.name, "family": s.family.value, "arguments": {a.name: _default(a) for a in s.args}}
            for s in LAYERS.values()
        ]
    chosen = parse_format(output_format)
    if chosen is OutputFormat.JSON:
        document = {"cuda_visible_devices": cuda_visible_devices(), "devices": rows} if kind == "devices" else rows
        return json.dumps(document, indent=2, ensure_ascii=False)
    key = {"zoo": "name", "devices": "name", "layers": "type"}[kind]
    other = {"zoo": "description", "devices": "label", "layers": "arguments"}[kind]
    width = max(len(str(row[key])) for row in rows)
    if kind == "zoo":  # JSON keeps the English description; the table shows it in `lang`
        rows = [{**row, other: t(f"zoo.{row[key]}.description", lang)} for row in rows]
    lines = [f"{str(row[key]).ljust(width)}  {_flat(row[other])}" for row in rows]
    if kind == "devices":
        visible = cuda_visible_devices()  # "" is set (no GPU visible), not unset: only None means all GPUs
        lines.append(f"CUDA_VISIBLE_DEVICES={visible if visible is not None else t('cli.cuda_unset', lang)}")
    return "\n".join(lines)


def _default(arg: ArgSpec) -> object:
    return list(arg.default) if isinstance(arg.default, tuple) else arg.default


def _flat(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key}={item}" for key, item in value.items())
    return str(value)


def _sizes(text: str | None) -> tuple[int, ...] | list[tuple[int, ...]] | None:
    if text is None:
        return None
    sizes = parse_sizes(text)
    return sizes[0] if len(sizes) == 1 else sizes


def run(argv: Sequence[str]) -> str:
    """Return the output of the command `argv`; raises InspectorError or _UsageError for user errors."""
    parser = build_parser(_requested_lang(argv))
    args, extra = parser.parse_known_args(argv)
    if args.command is None:
        raise _no_command(parser)
    if args.command != "layer" and extra:
        _unrecognized(extra, getattr(args, "input_size", None))
    if hasattr(args, "handler"):
        return args.handler(args)
    if args.command in ("zoo", "devices", "layers"):
        return _listing(args.command, args.format, args.lang)
    output_format = parse_format(args.format)
    if args.command == "model":
        if args.depth is not None and args.depth < 0:
            parser.error("--depth must be 0 or more")
        report = _inspect_named(args, _sizes(args.input_size))
        return render_report(report, output_format, args.depth, args.lang)
    if args.help:
        commands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
        return _layer_help(commands.choices["layer"], args.type, args.lang)
    if args.type is None:
        parser.error("layer: the following arguments are required: type")
    layer_args = _layer_args(args.type, extra, args.input_size)
    result = inspect_layer(args.type, layer_args, _sizes(args.input_size), args.device, args.dtype)
    return render_layer(result, output_format, args.lang)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status (0 ok, 2 a problem with the input, 3 an internal error)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    lang = _requested_lang(argv)
    try:
        check_arguments(argv)
        _print(run(argv))
    except Exception as error:  # the one place an error becomes a line: no traceback, whatever was raised
        user_error = _as_user_error(error)
        if user_error is None:
            kind = type(error).__name__
            _say(t("bounds.internal_error", lang, kind=kind, message=shorten(error, 200), status=INTERNAL_ERROR))
            return INTERNAL_ERROR
        _say(t("cli.error", lang, message=_user_text(user_error, lang)))
        return USER_ERROR
    return 0


def check_arguments(argv: Sequence[str]) -> None:
    """Raise InvalidArgumentError for an argument too long to be a path, size or option, or for an
    option's value with a number too long to be one (Python's int() would refuse past 4,300 digits)."""
    flag = None
    for position, item in enumerate(argv, start=1):
        name, equals, value = item.partition("=") if item.startswith("--") else ("", "", item)
        what = name or flag or msg("bounds.argument", position=position)
        if equals or (flag and not item.startswith("--")):  # an option's value; positionals are names and paths
            check_digits(value, what)
        check_length(item, what)
        flag = item if item.startswith("--") and not equals else None


def _as_user_error(error: Exception) -> InspectorError | _UsageError | None:
    """Return `error` as an error in the user's input, or None when it is a bug of ours.

    Besides our own errors, two kinds always come from the input: too deep a nesting (a JSON file, a
    model nested thousands of modules deep) and a path the system refuses (too long, a directory,
    no permission). Anything else is internal.
    """
    if isinstance(error, (InspectorError, _UsageError)):
        return error
    if isinstance(error, RecursionError):
        return InvalidArgumentError("bounds.too_deep", limit=sys.getrecursionlimit())
    if isinstance(error, OSError) and error.filename is not None:
        reason = error.strerror or type(error).__name__
        return InvalidArgumentError("bounds.os_error", path=repr(shorten(error.filename)), reason=reason)
    return None


def _user_text(error: InspectorError | _UsageError, lang: str) -> str:
    if not isinstance(error, InspectorError):
        return str(error)
    message, hint = error_text(error, lang)
    return t("cli.error_hint", lang, message=message, hint=hint) if hint else message


def _say(line: str) -> None:
    sys.stderr.write(shorten_runs(one_line(line)) + "\n")


def one_line(text: str) -> str:
    """Return `text` with line breaks and other control characters shown escaped, so an error a
    user's own input echoes (a pasted size with a newline) still prints as one line."""
    return "".join(repr(char)[1:-1] if not char.isprintable() else char for char in text)


def _requested_lang(argv: Sequence[str]) -> str:
    """Return the `--lang` in `argv` when it names a catalogue (also when parsing failed), else English."""
    wanted = None
    for index, item in enumerate(argv):
        if item == "--lang" and index + 1 < len(argv):
            wanted = argv[index + 1]
        elif item.startswith("--lang="):
            wanted = item.removeprefix("--lang=")
    return wanted if wanted in available_languages() else DEFAULT_LANG
