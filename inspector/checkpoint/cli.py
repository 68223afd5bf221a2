"""`python -m inspector checkpoint FILE [--against MODEL] [--kwargs JSON] [--depth N] [--format F]`."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from inspector.checkpoint.match import CheckpointMatch, match_checkpoint
from inspector.checkpoint.reader import CheckpointReport, ModuleGroup, read_checkpoint
from inspector.core.formatting import OutputFormat, parse_format
from inspector.core.i18n import DEFAULT_LANG, localized, t
from inspector.core.shapes import format_shape_tree
from inspector.core.units import binary_bytes, group_thousands
from inspector.model.zoo import parse_kwargs


def add_command(commands: argparse._SubParsersAction, lang: str = DEFAULT_LANG) -> None:
    """Register the `checkpoint` subcommand."""
    parser = commands.add_parser("checkpoint", help=t("cli_help.command.checkpoint", lang))
    parser.add_argument("file")
    parser.add_argument("--against", default=None, help=t("cli_help.checkpoint.against", lang))
    parser.add_argument("--kwargs", default=None, help=t("cli_help.checkpoint.kwargs", lang))
    parser.add_argument("--depth", type=int, default=2, help=t("cli_help.checkpoint.depth", lang))
    parser.add_argument("--format", default="table", help=t("cli_help.checkpoint.format", lang))
    parser.set_defaults(handler=run)


def tree_rows(group: ModuleGroup, depth: int, level: int = 0, lang: str = DEFAULT_LANG) -> list[tuple[str, str, str]]:
    """Return (indented name, elements, bytes) rows of the module tree down to `depth`."""
    rows = [
        (
            "  " * level + (group.name.rsplit(".", 1)[-1] or t("cli.checkpoint.all", lang)),
            group_thousands(group.numel),
            binary_bytes(group.bytes),
        )
    ]
    if level < depth:
        for child in group.children.values():
            rows += tree_rows(child, depth, level + 1, lang)
    return rows


def printable(text: str) -> str:
    """Return `text` with control characters escaped: a tensor's name comes from the file, and a
    terminal escape sequence or a line break in it must not reach the terminal as such."""
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def checkpoint_document(report: CheckpointReport, match: CheckpointMatch | None) -> dict[str, object]:
    """Return the JSON document of the `checkpoint` command (README, "Checkpoints")."""
    data = asdict(report)
    data["match"] = asdict(match) if match else None
    return data


def _table(
    report: CheckpointReport, match: CheckpointMatch | None, depth: int, markdown: bool, lang: str = DEFAULT_LANG
) -> str:
    under = t("cli.checkpoint.under", lang, key=repr(report.container_key)) if report.container_key else ""
    lines = [f"{printable(report.path)} ({report.file_format}{under})"]
    lines += [
        f"{printable(t.name)}  {format_shape_tree(t.shape)}  {t.dtype}  {group_thousands(t.numel)}"
        for t in report.tensors
    ]
    lines.append("")
    lines += [f"{printable(name)}  {numel}  {size}" for name, numel, size in tree_rows(report.tree, depth, lang=lang)]
    lines.append(
        t(
            "cli.checkpoint.total",
            lang,
            tensors=len(report.tensors),
            elements=group_thousands(report.total_numel),
            size=binary_bytes(report.total_bytes),
        )
    )
    if match:
        lines.append(printable(localized(match.verdict, lang)))
        lines += [
            t(
                "cli.checkpoint.mismatch",
                lang,
                name=printable(m.name),
                file=tuple(m.file_shape),
                model=tuple(m.model_shape),
            )
            for m in match.mismatched
        ]
        lines += [t("cli.checkpoint.missing", lang, name=printable(name)) for name in match.missing]
        lines += [t("cli.checkpoint.unexpected", lang, name=printable(name)) for name in match.unexpected]
    return "\n".join(f"- {line}" if markdown and line else line for line in lines)


def run(args: argparse.Namespace) -> str:
    """Return the checkpoint listing (and the match, with --against) in the chosen format."""
    output_format = parse_format(args.format)
    report = read_checkpoint(args.file)
    match = match_checkpoint(report, args.against, parse_kwargs(args.kwargs)) if args.against else None
    if output_format is OutputFormat.JSON:
        return json.dumps(checkpoint_document(report, match), indent=2)
    lang = getattr(args, "lang", DEFAULT_LANG)
    return _table(report, match, max(args.depth, 0), output_format is OutputFormat.MARKDOWN, lang)
