"""Turning a LayerInspection into text: readable, JSON, CSV (its tensors) or Markdown."""

from __future__ import annotations

import csv
import io
import json

from inspector.formatting import OutputFormat, parse_format
from inspector.layer_inspection import LayerInspection
from inspector.shapes import format_shape_tree
from inspector.units import group_thousands, si


def layer_lines(result: LayerInspection) -> list[tuple[str, str]]:
    """Return the inspection as (heading, text) pairs, in reading order."""
    dims = ", ".join(result.input_dims)
    lines = [
        ("Layer", result.constructor),
        ("Math", result.math),
        ("Device / dtype", f"{result.device} / {result.dtype}"),
        ("Input", f"({dims}) = {format_shape_tree(result.input_shape)}"),
        ("Output (measured)", format_shape_tree(result.output_shape)),
    ]
    verdict = {True: "✓ equals the measured shape", False: "✗ differs from torch", None: ""}[result.formulas_match]
    for dim, worked in result.output_formulas:
        lines.append((dim, f"{worked.formula}   {verdict}".rstrip()))
    if result.matmul:
        lines.append(("Matmul", result.matmul))
    for tensor in result.parameters:
        lines.append((f"param {tensor.name}", f"{format_shape_tree(tensor.shape)} = {group_thousands(tensor.numel)}"))
    for tensor in result.buffers:
        lines.append((f"buffer {tensor.name}", f"{format_shape_tree(tensor.shape)} = {group_thousands(tensor.numel)}"))
    lines.append(("Parameters", group_thousands(result.param_count)))
    if result.param_formula:
        lines.append(("  formula", result.param_formula.formula))
    for index, solution in enumerate(result.padding_suggestions):
        lines.append((f"Keep size, dim {index}", str(solution["reason"])))
    for index, rows in enumerate(result.receptive_field):
        last = rows[-1]
        lines.append((f"Receptive field, dim {index}", f"{last['receptive_field']} (jump {last['jump']})"))
    lines.append(
        (
            "FLOPs",
            f"{group_thousands(result.flops)} ({si(result.flops, 'FLOPs')}); MACs = {group_thousands(result.macs)}",
        )
    )
    lines += [("Note", note) for note in result.notes]
    return lines


def render_layer(result: LayerInspection, output_format: OutputFormat | str) -> str:
    """Return the layer inspection rendered in `output_format`."""
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
    lines = layer_lines(result)
    if chosen is OutputFormat.MARKDOWN:
        return "\n".join(f"- **{head}**: `{text}`" for head, text in lines) + "\n"
    width = max(len(head) for head, _ in lines)
    return "\n".join(f"{head.ljust(width)}  {text}" for head, text in lines)
