"""The numbers behind the Model Inspector's charts: per-layer sums and the shape flow.

A chart of "FLOPs per layer" must add up to the model's total, which the raw LayerReports do not
do directly: a container's count includes its children's, a ModuleList or ModuleDict never runs
(its children run from the parent's forward), and a container may do work of its own (GPT's
attention product sits in `attn`, outside its Linear children). So every module's *exclusive*
FLOPs (its count minus that of the modules that ran directly inside it) and its own parameters are
attributed to its ancestor at the chosen depth, where depth counts only modules that ran.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from inspector.core.report import LayerReport, ModelReport
from inspector.core.shapes import ShapeTree


@dataclass(frozen=True)
class LayerGroup:
    """One bar: a layer at the chosen depth with everything below it, or a container's own share."""

    name: str
    type: str
    params: int
    flops: int
    own_only: bool  # True: only the container's own work; its sub-layers have bars of their own


@dataclass(frozen=True)
class FlowStep:
    """One point of the shape flow: a layer's output (name None: the model's input)."""

    name: str | None
    type: str
    shape: ShapeTree
    elements: int


def _parent(name: str) -> str | None:
    if name == "":
        return None
    return name.rpartition(".")[0]


def _running_chain(report: ModelReport) -> dict[str, list[str]]:
    """Return, per module, the modules that ran from the root down to it (itself included if it ran)."""
    by_name = {layer.name: layer for layer in report.layers}
    chains: dict[str, list[str]] = {}
    for layer in report.layers:  # definition order: a parent comes before its children
        parent = _parent(layer.name)
        chain = list(chains.get(parent, [])) if parent is not None and parent in by_name else []
        if layer.calls > 0 or layer.name == "":
            chain.append(layer.name)
        chains[layer.name] = chain
    return chains


def _exclusive_flops(report: ModelReport, chains: dict[str, list[str]]) -> dict[str, int]:
    """Return each module's FLOPs minus those of the modules that ran directly inside it."""
    exclusive = {layer.name: layer.flops if layer.calls > 0 or layer.name == "" else 0 for layer in report.layers}
    for layer in report.layers:
        chain = chains[layer.name]
        if layer.name in chain and len(chain) > 1:
            exclusive[chain[-2]] -= layer.flops
    return exclusive


def _with_running_children(chains: dict[str, list[str]]) -> set[str]:
    """Return the modules inside which another module ran."""
    return {chain[-2] for chain in chains.values() if len(chain) > 1}


def layer_groups(report: ModelReport, depth: int) -> list[LayerGroup]:
    """Return the bars at `depth`, in definition order; their params and FLOPs sum to the model's."""
    chains = _running_chain(report)
    exclusive = _exclusive_flops(report, chains)
    by_name = {layer.name: layer for layer in report.layers}
    params: dict[str, int] = {}
    flops: dict[str, int] = {}
    for layer in report.layers:
        chain = chains[layer.name] or [""]
        anchor = chain[min(depth, len(chain) - 1)]
        params[anchor] = params.get(anchor, 0) + layer.params
        flops[anchor] = flops.get(anchor, 0) + exclusive[layer.name]
    parents = _with_running_children(chains)
    groups = []
    for name in params:
        own_only = len(chains[name]) - 1 < depth and name in parents
        if own_only and params[name] == 0 and flops[name] == 0:
            continue  # a container that only passes data on: a zero bar would only add noise
        groups.append(LayerGroup(name, by_name[name].type, params[name], flops[name], own_only))
    return groups


def _elements(tree: ShapeTree) -> int:
    if isinstance(tree, list) and all(isinstance(dim, int) for dim in tree):
        return math.prod(tree)
    if isinstance(tree, list):
        return sum(_elements(item) for item in tree)
    if isinstance(tree, dict):
        return sum(_elements(item) for item in tree.values())
    return 0


def shape_flow(report: ModelReport, depth: int) -> list[FlowStep]:
    """Return the input, then the output of each module that ran at `depth` (or a leaf above it)."""
    chains = _running_chain(report)
    parents = _with_running_children(chains)
    steps = [FlowStep(None, "input", report.input_size, _elements(report.input_size))]
    for layer in report.layers:
        chain = chains[layer.name]
        if not chain or chain[-1] != layer.name or layer.output_shape is None:
            continue
        level = len(chain) - 1
        if level == depth or (level < depth and layer.name not in parents):
            steps.append(_step(layer))
    return steps


def _step(layer: LayerReport) -> FlowStep:
    return FlowStep(layer.name, layer.type, layer.output_shape, _elements(layer.output_shape))
