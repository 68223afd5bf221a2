"""Turning a LayerInspection into text: readable, JSON, CSV (its tensors) or Markdown."""

from __future__ import annotations

import csv
import io
import json

from inspector.core.formatting import OutputFormat, display_width, pad, parse_format
from inspector.core.i18n import DEFAULT_LANG, localized, t
from inspector.core.shapes import format_shape_tree
from inspector.core.units import group_thousands, si
from inspector.lab.inspection import LayerInspection


def layer_lines(result: LayerInspection, lang: str = DEFAULT_LANG) -> list[tuple[str, str]]:
    """Return the inspection as (heading, text) pairs, in reading order, headings in `lang`."""

    def head(key: str, **params: object) -> str:
        return t(f"cli.layer.{key}", lang, **params)

    dims = ", ".join(result.input_dims)
    lines = [
        (head("layer"), result.constructor),
        (head("math"), localized(result.math, lang)),
        (head("device_dtype"), f"{result.device} / {result.dtype}"),
        (head("input"), f"({dims}) = {format_shape_tree(result.input_shape)}"),
        (head("output"), format_shape_tree(result.output_shape)),
    ]
    verdict = {True: head("matches"), False: head("differs"), None: ""}[result.formulas_match]
    for dim, worked in result.output_formulas:
        lines.append((dim, f"{localized(worked.formula, lang)}   {verdict}".rstrip()))
    if result.matmul:
        lines.append((head("matmul"), localized(result.matmul, lang)))
    for kind, tensors in (("param", result.parameters), ("buffer", result.buffers)):
        for tensor in tensors:
            numbers = f"{format_shape_tree(tensor.shape)} = {group_thousands(tensor.numel)}"
            lines.append((head(kind, name=tensor.name), numbers))
    lines.append((head("parameters"), group_thousands(result.param_count)))
    if result.param_formula:
        lines.append((head("formula"), localized(result.param_formula.formula, lang)))
    for index, solution in enumerate(result.padding_suggestions):
        lines.append((head("keep", index=index), localized(solution["reason"], lang)))
    for index, rows in enumerate(result.receptive_field):
        field = head("receptive_value", field=rows[-1]["receptive_field"], jump=rows[-1]["jump"])
        lines.append((head("receptive_field", index=index), field))
    flops = f"{group_thousands(result.flops)} ({si(result.flops, 'FLOPs')}); MACs = {group_thousands(result.macs)}"
    lines.append((head("flops"), flops))
    lines += [(head("note"), localized(note, lang)) for note in result.notes]
    return lines


def render_layer(result: LayerInspection, output_format: OutputFormat | str, lang: str = DEFAULT_LANG) -> str:
    """Return the layer inspection rendered in `output_format` (readable headings in `lang`)."""
    chosen = parse_format(output_format)
    if chosen is OutputFormat.JSON:
        return json.dumps(result.to_dict(), indent=2, ensure_ascii=False)
    if chosen is OutputFormat.CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["kind", "name", "shape", "numel", "dtype", "requires_grad"])
        for kind, tensors in (("parameter", result.parameters), ("buffer", result.buffers)):
            for t in tensors:
                writer.writerow([kind, t.name, json.dumps(t.shape), t.numel, t.dtype, t.requires_grad])
        return buffer.getvalue()
    lines = layer_lines(result, lang)
    if chosen is OutputFormat.MARKDOWN:
        return "\n".join(f"- **{head}**: `{text}`" for head, text in lines) + "\n"
    width = max(display_width(head) for head, _ in lines)
    return "\n".join(f"{pad(head, width)}  {text}" for head, text in lines)
