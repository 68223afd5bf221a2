"""`python -m inspector graph MODEL [--depth N] [--format dot|svg|json] …`: the model's dataflow as a graph.

The same graph as the Model Inspector's Graph expander: one forward traced on meta (nothing allocated),
merged to `--depth`, identical repeated blocks drawn once. DOT is Graphviz's text, SVG is laid out by
Graphviz's `dot` program, JSON lists the nodes and edges.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from inspector.core.errors import InvalidArgumentError
from inspector.core.i18n import DEFAULT_LANG, t
from inspector.core.shapes import parse_sizes
from inspector.model.graph import ModelGraph
from inspector.model.graph_dot import svg_available, to_dot, to_svg
from inspector.model.sources import model_source, source_graph
from inspector.model.zoo import parse_kwargs

FORMATS = ("dot", "svg", "json")


def add_command(commands: argparse._SubParsersAction, lang: str = DEFAULT_LANG) -> None:
    """Register the `graph` subcommand."""
    parser = commands.add_parser("graph", help=t("cli_help.command.graph", lang))
    parser.add_argument("name", help=t("cli_help.graph.name", lang))
    parser.add_argument("--input-size", default=None, help=t("cli_help.graph.input_size", lang))
    parser.add_argument("--input-dtype", default=None, help=t("cli_help.graph.input_dtype", lang))
    parser.add_argument("--kwargs", default=None, help=t("cli_help.graph.kwargs", lang))
    parser.add_argument("--head", default=None, help=t("cli_help.graph.head", lang))
    parser.add_argument("--seq-len", type=int, default=None, help=t("cli_help.common.seq_len", lang))
    parser.add_argument("--depth", type=int, default=None, help=t("cli_help.graph.depth", lang))
    parser.add_argument("--format", default="dot", help=t("cli_help.graph.format", lang))
    parser.set_defaults(handler=run)


def graph_document(graph: ModelGraph) -> dict[str, object]:
    """Return the JSON document of `graph` (README, "The model as a graph")."""
    return {
        "schema_version": 1,
        "model": graph.model,
        "nodes": [{**asdict(node), "path": list(node.path), "members": list(node.members)} for node in graph.nodes],
        "edges": [asdict(edge) for edge in graph.edges],
    }


def run(args: argparse.Namespace) -> str:
    """Return the graph of `args.name` in the asked format."""
    if args.format not in FORMATS:
        raise InvalidArgumentError("graph.bad_format", value=repr(args.format), choices=", ".join(FORMATS))
    if args.depth is not None and args.depth < 1:
        raise InvalidArgumentError("graph.bad_depth", value=args.depth)
    options = parse_kwargs(args.kwargs)
    options.update({key: value for key, value in {"head": args.head, "seq_len": args.seq_len}.items() if value})
    sizes = parse_sizes(args.input_size) if args.input_size else None
    size = sizes[0] if sizes is not None and len(sizes) == 1 else sizes
    source = model_source(args.name, options, input_size=size, input_dtype=args.input_dtype)
    graph = source_graph(source, args.depth)
    if args.format == "json":
        return json.dumps(graph_document(graph), indent=2)
    dot = to_dot(graph, args.lang)
    if args.format == "dot":
        return dot.rstrip("\n")
    if not svg_available():
        raise InvalidArgumentError("graph.no_dot")
    return to_svg(dot).decode().rstrip("\n")
