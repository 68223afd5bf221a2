"""`python -m inspector init MODEL --scheme S …`: what an initialisation scheme does, layer by layer.

MODEL is deep_mlp, deep_cnn, a zoo model or hf:NAME (a Hugging Face config up to
`models.MAX_HF_PARAMS` parameters). Deep-stack options have their own flags (--depth, --width,
--channels, --activation, …); a zoo model's options go in --kwargs as JSON, an hf: model's in
--head and --seq-len.
"""

from __future__ import annotations

import argparse
import json
import math

from inspector.core.errors import InvalidArgumentError
from inspector.core.formatting import OutputFormat, display_width, pad, parse_format
from inspector.core.i18n import DEFAULT_LANG, t
from inspector.init.report import InitReport, LayerInit, init_report
from inspector.init.schemes import BiasInit, FanMode, InitScheme, Nonlinearity
from inspector.model.zoo import parse_kwargs

# Each flag's help is `cli_help.init.<name>` in the catalogue; the choices fill its {choices}.
_DEEP_FLAGS = (
    ("--depth", int),
    ("--width", int),
    ("--channels", int),
    ("--activation", str),
    ("--in-features", int),
    ("--in-channels", int),
    ("--image-size", int),
)
_SCHEME_FLAGS = (
    ("--gain", float),
    ("--mode", str),
    ("--nonlinearity", str),
    ("--a", float),
    ("--b", float),
    ("--mean", float),
    ("--std", float),
    ("--value", float),
)
_CHOICES = {"mode": ", ".join(FanMode), "nonlinearity": ", ".join(Nonlinearity), "bias": ", ".join(BiasInit)}
COLUMNS = ("Layer", "Type", "fan_in", "fan_out", "Theory std", "W mean", "W std", "Act mean", "Act std", "‖∇W‖")
# the catalogue key of each column's heading (None: a symbol, the same in every language)
_COLUMN_KEYS = ("layer", "type", None, None, "theory_std", "w_mean", "w_std", "act_mean", "act_std", None)


def _help(name: str, lang: str) -> str:
    return t(f"cli_help.init.{name}", lang, choices=_CHOICES.get(name, ""))


def add_command(commands: argparse._SubParsersAction, lang: str = DEFAULT_LANG) -> None:
    """Add the `init` subcommand to the CLI's sub-parsers, its help in `lang`."""
    parser = commands.add_parser("init", help=t("cli_help.command.init", lang))
    parser.add_argument("model", help=t("cli_help.init.model", lang))
    schemes = ", ".join(InitScheme)
    parser.add_argument(
        "--scheme", default=InitScheme.DEFAULT.value, help=t("cli_help.init.scheme", lang, schemes=schemes)
    )
    for flag, kind in (*_DEEP_FLAGS, *_SCHEME_FLAGS):
        parser.add_argument(flag, type=kind, default=None, help=_help(flag.removeprefix("--").replace("-", "_"), lang))
    for name in ("bias", "kwargs"):
        parser.add_argument(f"--{name}", default=None, help=_help(name, lang))
    parser.add_argument("--head", default=None, help=t("cli_help.common.head", lang))
    parser.add_argument("--seq-len", type=int, default=None, help=t("cli_help.common.seq_len", lang))
    parser.add_argument("--seed", type=int, default=0, help=_help("seed", lang))
    parser.add_argument("--batch", type=int, default=None, help=_help("batch", lang))
    parser.add_argument("--format", default="table", help=t("cli_help.format_table_json", lang))
    parser.set_defaults(handler=run_init)


def run_init(args: argparse.Namespace) -> str:
    """Return the `init` command's output for the parsed `args`."""
    output_format = parse_format(args.format)
    if output_format not in (OutputFormat.TABLE, OutputFormat.JSON):
        raise InvalidArgumentError("errors_b.init_format", format=output_format.value)
    options = parse_kwargs(args.kwargs)
    hf_settings = {"head": args.head, "seq_len": args.seq_len}  # an hf: model's options, as `model` takes them
    options.update({key: value for key, value in hf_settings.items() if value is not None})
    for flag, _kind in _DEEP_FLAGS:
        name = flag.removeprefix("--").replace("-", "_")
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    arguments = {flag.removeprefix("--"): getattr(args, flag.removeprefix("--")) for flag, _ in _SCHEME_FLAGS}
    report = init_report(
        args.model, args.scheme, options=options, batch=args.batch, seed=args.seed, bias=args.bias, **arguments
    )
    if output_format is OutputFormat.JSON:
        return json.dumps(report.to_dict(), indent=2, ensure_ascii=False)
    return render_init_table(report, getattr(args, "lang", DEFAULT_LANG))


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.3g}" if math.isfinite(value) else str(value)


def _row(layer: LayerInit) -> tuple[str, ...]:
    return (
        layer.name,
        layer.type,
        _number(layer.fan_in),
        _number(layer.fan_out),
        _number(layer.theory.std) if layer.theory else "—",
        _number(layer.weight_mean),
        _number(layer.weight_std),
        _number(layer.activation_mean),
        _number(layer.activation_std),
        _number(layer.gradient_norm),
    )


def _theory_lines(report: InitReport, lang: str = DEFAULT_LANG) -> list[str]:
    """One line per distinct formula, naming the layers it covers."""
    groups: dict[str, list[str]] = {}
    for layer in report.initialised_layers():
        assert layer.theory is not None, "every initialised layer has its theory"
        groups.setdefault(layer.theory.formula, []).append(layer.name)
    lines = []
    for formula, names in groups.items():
        who = (
            names[0]
            if len(names) == 1
            else t("cli.init.layers", lang, first=names[0], last=names[-1], count=len(names))
        )
        lines.append(f"  {who}: {formula}")
    return lines


def render_init_table(report: InitReport, lang: str = DEFAULT_LANG) -> str:
    """Return the report as a header, a layer table, the theory formulas and the notes (headings in `lang`)."""
    arguments = ", ".join(f"{name}={value}" for name, value in report.spec.kwargs.items())
    rows = [_row(layer) for layer in report.layers]
    columns = tuple(
        t(f"cli.init.col.{key}", lang) if key else name for name, key in zip(COLUMNS, _COLUMN_KEYS, strict=True)
    )
    widths = [max(display_width(row[i]) for row in [columns, *rows]) for i in range(len(columns))]

    def render(row: tuple[str, ...]) -> str:
        return "  ".join(pad(cell, width) for cell, width in zip(row, widths, strict=True)).rstrip()

    rule = "  ".join("─" * width for width in widths)
    header = [
        t("cli.init.model", lang, model=report.model, input=tuple(report.input_size), seed=report.seed),
        t("cli.init.scheme", lang, scheme=report.spec.scheme.value, arguments=arguments),
        t("cli.init.loss", lang, loss=report.loss),
    ]
    theory = [t("cli.init.theory", lang), *_theory_lines(report, lang)]
    notes = [t("cli.init.notes", lang), *(f"  {note}" for note in report.notes)]
    return "\n".join([*header, "", render(columns), rule, *map(render, rows), rule, *theory, *notes])
