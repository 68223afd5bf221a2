"""Turning reports into text: a readable table, JSON, CSV and Markdown. Numbers never change here."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Callable
from enum import StrEnum

from inspector.core.errors import UnknownNameError
from inspector.core.i18n import DEFAULT_LANG, t
from inspector.core.report import LayerReport, ModelReport
from inspector.core.shapes import format_shape_tree
from inspector.core.units import binary_bytes, group_thousands, si


class OutputFormat(StrEnum):
    """The formats the CLI and the downloads offer."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


def parse_format(text: str) -> OutputFormat:
    """Return the OutputFormat for its name, or raise listing the choices."""
    try:
        return OutputFormat(str(text).strip().lower())
    except ValueError:
        raise UnknownNameError("errors_a.unknown_format", name=repr(text), choices=", ".join(OutputFormat)) from None


COLUMNS = ("Layer", "Type", "Input shape", "Output shape", "Weight shapes", "Params", "FLOPs")
_COLUMN_KEYS = ("layer", "type", "input", "output", "weights", "params", "flops")


def columns(lang: str = DEFAULT_LANG) -> tuple[str, ...]:
    """Return the layer table's column headings in `lang` (COLUMNS in English)."""
    return tuple(t(f"cli.col.{key}", lang) for key in _COLUMN_KEYS)


def display_width(text: str) -> int:
    """Return how many terminal columns `text` takes: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def pad(text: str, width: int) -> str:
    """Return `text` padded with spaces to `width` terminal columns (str.ljust counts CJK characters as one)."""
    return text + " " * max(0, width - display_width(text))


def _weights(layer: LayerReport) -> str:
    parts = [f"{name} {format_shape_tree(shape)}" for name, shape in layer.weight_shapes.items()]
    parts += [f"{name} → {owner}" for name, owner in layer.tied.items() if name not in layer.weight_shapes]
    return ", ".join(parts)


def flops_text(layer: LayerReport, lang: str = DEFAULT_LANG) -> str:
    """Return `layer`'s FLOPs as text: the count, "—" for none, or "not counted" where 0 is no measurement."""
    if not layer.flops_counted:
        return t("cli.flops_not_counted", lang)
    return group_thousands(layer.flops) if layer.flops else "—"


def flops_footnote(layers: list[LayerReport], lang: str = DEFAULT_LANG) -> str | None:
    """Return why some FLOPs read "not counted", when one of `layers` does (None otherwise)."""
    if all(layer.flops_counted for layer in layers):
        return None
    return t("cli.flops_not_counted_note", lang)


def layer_row(layer: LayerReport, root_name: str, lang: str = DEFAULT_LANG) -> tuple[str, ...]:
    """Return one table row of text for `layer` (the root shows the model's name)."""
    params = layer.params_total if not layer.is_leaf and layer.params == 0 else layer.params
    return (
        "  " * layer.depth + (layer.name or root_name),
        layer.type,
        format_shape_tree(layer.input_shape),
        format_shape_tree(layer.output_shape),
        _weights(layer),
        group_thousands(params) if params else "—",
        flops_text(layer, lang),
    )


def totals_lines(report: ModelReport, lang: str = DEFAULT_LANG) -> list[tuple[str, str]]:
    """Return the headline figures as (label, text) pairs, labels in `lang`."""
    mode = t("cli.total.mode", lang, device=report.device, dtype=report.dtype, mode=report.mode)
    figures = [
        ("model", report.model),
        ("device_dtype", mode),
        ("input", format_shape_tree(report.input_size)),
        ("output", format_shape_tree(report.output_shape)),
        ("total_params", group_thousands(report.total_params)),
        ("trainable", group_thousands(report.trainable_params)),
        ("non_trainable", group_thousands(report.non_trainable_params)),
        ("buffers", group_thousands(report.buffers)),
        ("memory", binary_bytes(report.param_bytes)),
        ("flops", f"{group_thousands(report.flops)} ({si(report.flops, 'FLOPs')})"),
        ("macs", f"{group_thousands(report.macs)} ({si(report.macs, 'MACs')})"),
    ]
    return [(t(f"cli.total.{key}", lang), text) for key, text in figures]


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(display_width(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    line = "  ".join("─" * width for width in widths)

    def render(row: tuple[str, ...]) -> str:
        return "  ".join(pad(cell, width) for cell, width in zip(row, widths, strict=True)).rstrip()

    return "\n".join([render(header), line, *(render(row) for row in rows), line])


def to_table(report: ModelReport, depth: int | None = None, lang: str = DEFAULT_LANG) -> str:
    """Return the readable report: the layer table then the totals."""
    layers = report.layers_to_depth(depth)
    rows = [layer_row(layer, report.model, lang) for layer in layers]
    totals = totals_lines(report, lang)
    label_width = max(display_width(label) for label, _ in totals)
    lines = "\n".join(f"{pad(label, label_width)}  {value}" for label, value in totals)
    footnote = flops_footnote(layers, lang)
    return _table(rows, columns(lang)) + "\n" + (f"{footnote}\n" if footnote else "") + lines


def to_markdown(report: ModelReport, depth: int | None = None, lang: str = DEFAULT_LANG) -> str:
    """Return the report as a Markdown table and a totals list."""

    def cells(row: tuple[str, ...]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"

    layers = report.layers_to_depth(depth)
    rows = [layer_row(layer, report.model, lang) for layer in layers]
    rows = [(row[0].strip(), *row[1:]) for row in rows]
    lines = [f"# {report.model}", "", cells(columns(lang)), "|" + "---|" * len(COLUMNS)]
    lines += [cells(row) for row in rows]
    footnote = flops_footnote(layers, lang)
    lines += ["", footnote] if footnote else []
    lines += ["", *(f"- **{label}**: {value}" for label, value in totals_lines(report, lang))]
    return "\n".join(lines) + "\n"


def to_csv(report: ModelReport, depth: int | None = None) -> str:
    """Return one CSV row per layer with raw numbers and shapes as JSON lists."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "name",
            "type",
            "depth",
            "input_shape",
            "output_shape",
            "weight_shapes",
            "params",
            "params_total",
            "trainable_params",
            "flops",
            "macs",
        ]
    )
    for layer in report.layers_to_depth(depth):
        writer.writerow(
            [
                layer.name,
                layer.type,
                layer.depth,
                json.dumps(layer.input_shape),
                json.dumps(layer.output_shape),
                json.dumps(layer.weight_shapes),
                layer.params,
                layer.params_total,
                layer.trainable_params,
                layer.flops,
                layer.macs,
            ]
        )
    return buffer.getvalue()


def to_json(report: ModelReport, depth: int | None = None) -> str:
    """Return the documented JSON document (README, "JSON schema")."""
    return json.dumps(report.to_dict(depth), indent=2, ensure_ascii=False)


RENDERERS: dict[OutputFormat, Callable[..., str]] = {  # the readable ones also take the language
    OutputFormat.TABLE: to_table,
    OutputFormat.JSON: to_json,
    OutputFormat.CSV: to_csv,
    OutputFormat.MARKDOWN: to_markdown,
}


READABLE = (OutputFormat.TABLE, OutputFormat.MARKDOWN)  # words for people; JSON and CSV keep English keys


def render_report(
    report: ModelReport, output_format: OutputFormat | str, depth: int | None = None, lang: str = DEFAULT_LANG
) -> str:
    """Return `report` rendered in `output_format`, layers down to `depth` (table and Markdown labels in `lang`)."""
    chosen = parse_format(output_format)
    if chosen in READABLE:
        return RENDERERS[chosen](report, depth, lang)
    return RENDERERS[chosen](report, depth)
