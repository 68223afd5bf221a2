"""A ModelGraph as Graphviz DOT text, drawn in the browser (`st.graphviz_chart`) or by `dot -Tsvg`.

Every word on the drawing comes from the catalogue in `lang`; names from the model are quoted for DOT
(a module name is any string a ModuleDict key can hold), never read as markup.
"""

from __future__ import annotations

import shutil
import subprocess

from inspector.core.i18n import t
from inspector.core.shapes import format_shape_tree
from inspector.core.units import si
from inspector.model.graph import GraphNode, ModelGraph

SVG_TIMEOUT_S = 60  # dot lays out a 500-node graph in well under a second; a minute means it is stuck
_STYLE = {
    "input": 'shape=oval, style=filled, fillcolor="#dcfce7"',
    "output": 'shape=oval, style=filled, fillcolor="#dcfce7"',
    "module": 'shape=box, style="rounded,filled", fillcolor="#dbeafe"',
    "function": 'shape=ellipse, style=filled, fillcolor="#f3f4f6", fontsize=10',
}


def quoted(text: str) -> str:
    """Return `text` as a DOT double-quoted string: quotes and backslashes escaped, line breaks as \\n."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _label(node: GraphNode, lang: str) -> str:
    if node.kind in {"input", "output"}:
        return t(f"graph.{node.kind}", lang, shape=format_shape_tree(node.shape) if node.shape else "")
    if node.kind == "function":
        return node.type
    kind = node.type if node.repeat == 1 else t("graph.repeat", lang, type=node.type, count=node.repeat)
    name = node.name if node.repeat == 1 else f"{node.members[0]} … {node.members[-1]}"
    if not node.params:
        return f"{name}\n{kind}"
    return f"{name}\n{kind} · " + t("graph.params", lang, count=si(node.params * node.repeat))


def to_dot(graph: ModelGraph, lang: str = "en") -> str:
    """Return the graph as DOT: top to bottom, one node per module call or operation, shapes on edges."""
    lines = [
        f"digraph {quoted(graph.model)} {{",
        '  rankdir=TB; node [fontname="Helvetica", fontsize=11]; edge [fontname="Helvetica", fontsize=9];',
    ]
    index = {node.id: f"n{i}" for i, node in enumerate(graph.nodes)}
    for node in graph.nodes:
        lines.append(f"  {index[node.id]} [label={quoted(_label(node, lang))}, {_STYLE[node.kind]}];")
    for edge in graph.edges:
        shape = format_shape_tree(edge.shape) if edge.shape is not None else ""
        lines.append(f"  {index[edge.source]} -> {index[edge.target]} [label={quoted(shape)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def svg_available() -> bool:
    """Return whether Graphviz's `dot` program is installed, which the SVG download needs."""
    return shutil.which("dot") is not None


def to_svg(dot: str) -> bytes:
    """Return the DOT text laid out as SVG by Graphviz's `dot` (which reads it as data, never as code)."""
    done = subprocess.run(["dot", "-Tsvg"], input=dot.encode(), capture_output=True, timeout=SVG_TIMEOUT_S, check=True)
    return done.stdout
