"""`python -m inspector checkpoint FILE [--against MODEL] [--kwargs JSON] [--depth N] [--format F]`."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from inspector.checkpoint import CheckpointReport, ModuleGroup, read_checkpoint
from inspector.checkpoint_match import CheckpointMatch, match_checkpoint
from inspector.formatting import OutputFormat, parse_format
from inspector.shapes import format_shape_tree
from inspector.units import binary_bytes, group_thousands
from inspector.zoo import parse_kwargs


def add_command(commands: argparse._SubParsersAction) -> None:
    """Register the `checkpoint` subcommand."""
    parser = commands.add_parser("checkpoint", help="list a .safetensors/.pt/.pth/.bin file's tensors, safely")
    parser.add_argument("file")
    parser.add_argument("--against", default=None, help="a zoo model to match the file against")
    parser.add_argument("--kwargs", default=None, help="options of the --against model as a JSON object")
    parser.add_argument("--depth", type=int, default=2, help="module-tree depth in the table (default 2)")
    parser.add_argument("--format", default="table", help="table, json or markdown")
    parser.set_defaults(handler=run)


def tree_rows(group: ModuleGroup, depth: int, level: int = 0) -> list[tuple[str, str, str]]:
    """Return (indented name, elements, bytes) rows of the module tree down to `depth`."""
    rows = [
        (
            "  " * level + (group.name.rsplit(".", 1)[-1] or "(all)"),
            group_thousands(group.numel),
            binary_bytes(group.bytes),
        )
    ]
    if level < depth:
        for child in group.children.values():
            rows += tree_rows(child, depth, level + 1)
    return rows


def checkpoint_document(report: CheckpointReport, match: CheckpointMatch | None) -> dict[str, object]:
    """Return the JSON document of the `checkpoint` command (README, "Checkpoints")."""
    data = asdict(report)
    data["match"] = asdict(match) if match else None
    return data


def _table(report: CheckpointReport, match: CheckpointMatch | None, depth: int, markdown: bool) -> str:
    lines = [
        f"{report.path} ({report.file_format}{', under ' + repr(report.container_key) if report.container_key else ''})"
    ]
    lines += [f"{t.name}  {format_shape_tree(t.shape)}  {t.dtype}  {group_thousands(t.numel)}" for t in report.tensors]
    lines.append("")
    lines += [f"{name}  {numel}  {size}" for name, numel, size in tree_rows(report.tree, depth)]
    lines.append(
        f"total: {len(report.tensors)} tensors, {group_thousands(report.total_numel)} elements, "
        f"{binary_bytes(report.total_bytes)}"
    )
    if match:
        lines.append(match.verdict)
        lines += [
            f"  shape mismatch {m.name}: file {tuple(m.file_shape)} vs model {tuple(m.model_shape)}"
            for m in match.mismatched
        ]
        lines += [f"  missing {name}" for name in match.missing]
        lines += [f"  unexpected {name}" for name in match.unexpected]
    return "\n".join(f"- {line}" if markdown and line else line for line in lines)


def run(args: argparse.Namespace) -> str:
    """Return the checkpoint listing (and the match, with --against) in the chosen format."""
    output_format = parse_format(args.format)
    report = read_checkpoint(args.file)
    match = match_checkpoint(report, args.against, parse_kwargs(args.kwargs)) if args.against else None
    if output_format is OutputFormat.JSON:
        return json.dumps(checkpoint_document(report, match), indent=2)
    return _table(report, match, max(args.depth, 0), output_format is OutputFormat.MARKDOWN)
