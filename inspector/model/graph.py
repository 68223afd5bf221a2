"""The forward's dataflow as a graph: modules and the operations between them, shapes on the edges.

One forward runs (on meta by default: no memory) with module hooks and a `TorchFunctionMode`. Each call
of a leaf module becomes a node; so does each torch operation that runs outside any leaf module, such as
a residual `add`, `torch.flatten` or `torch.cat`: that is how residual branches show. A tensor remembers
the node that made it, and a node's inputs become edges labelled with the shape that flowed. View-like
operations (reshape, permute, transpose, …) pass their input's maker on instead of adding a node.

`ModelGraph.at_depth(d)` merges everything inside a module of depth d into that module's node, as the
report's depth does for the table; `collapse_repeats()` folds a chain of identical blocks (ResNet's
bottlenecks, a decoder's 32 layers) into one node marked ×N. `inspector.model.graph_dot` draws it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from inspector.core.shapes import ShapeTree


@dataclass(frozen=True)
class GraphNode:
    """A module call, an operation between modules, the input or the output."""

    id: str
    kind: str  # "input", "module", "function" or "output"
    name: str  # qualified module name, operation name, or input name
    type: str  # module class, or the operation
    path: tuple[str, ...]  # the modules it runs inside, outermost first (a module node ends with itself)
    params: int = 0  # parameters of the module and its children, each shared one once
    shape: ShapeTree = None  # what it gave
    repeat: int = 1  # > 1: a folded chain of identical blocks
    members: tuple[str, ...] = ()  # the blocks folded into this node, when repeat > 1


@dataclass(frozen=True)
class GraphEdge:
    """A tensor from one node to another, with the shape it had."""

    source: str
    target: str
    shape: ShapeTree


@dataclass(frozen=True)
class ModuleInfo:
    type: str
    params: int


@dataclass
class ModelGraph:
    """Nodes in the order they ran, the edges between them, and every module's type and size."""

    model: str
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    modules: dict[str, ModuleInfo]

    @property
    def max_depth(self) -> int:
        return max((len(node.path) for node in self.nodes if node.kind == "module"), default=0)

    def node(self, node_id: str) -> GraphNode:
        return next(node for node in self.nodes if node.id == node_id)

    def at_depth(self, depth: int | None) -> ModelGraph:
        """Return the graph with everything inside a module of depth `depth` (≥ 1) merged into that module."""
        if depth is None or depth >= self.max_depth:
            return self
        depth = max(depth, 1)
        merged: dict[str, GraphNode] = {}
        mapping: dict[str, str] = {}
        for node in self.nodes:
            inside = len(node.path) > depth or (node.kind == "function" and len(node.path) >= depth)
            if not inside:
                merged[node.id] = node
                continue
            owner = node.path[depth - 1]
            group = f"m:{owner}"
            mapping[node.id] = group
            info = self.modules[owner]
            merged[group] = GraphNode(group, "module", owner, info.type, node.path[:depth], info.params, node.shape)
        return ModelGraph(self.model, list(merged.values()), _remap(self.edges, mapping), self.modules)

    def collapse_repeats(self) -> ModelGraph:
        """Return the graph with each chain of identical sibling blocks folded into one node (×N).

        Blocks fold when they have the same type, parameter count and parent, follow each other, and all
        that the earlier one gives goes to the later one (a residual stream, not a fan-out).
        """
        outgoing: dict[str, set[str]] = {}
        for edge in self.edges:
            outgoing.setdefault(edge.source, set()).add(edge.target)
        mapping: dict[str, str] = {}
        tails: dict[str, str] = {}  # folded node → the last block folded into it
        nodes: list[GraphNode] = []
        for node in self.nodes:
            last = nodes[-1] if nodes else None
            if last is not None and _same_block(last, node) and outgoing.get(tails.get(last.id, last.id)) == {node.id}:
                members = last.members or (last.name,)
                nodes[-1] = replace(last, repeat=last.repeat + 1, shape=node.shape, members=(*members, node.name))
                mapping[node.id] = last.id
                tails[last.id] = node.id
                continue
            nodes.append(node)
        return ModelGraph(self.model, nodes, _remap(self.edges, mapping), self.modules)

    def view(self, depth: int | None) -> ModelGraph:
        """Return the graph to show at `depth`: merged to that depth, and every chain of identical blocks at
        that depth or above drawn once, the rest of the chain folded into one node (×N−1)."""
        shown = self.at_depth(depth)
        mapping: dict[str, str] = {}
        folded: dict[str, GraphNode] = {}
        for level in range(1, min(depth or self.max_depth, self.max_depth)):
            for chain in self.at_depth(level).collapse_repeats().nodes:
                rest = chain.members[1:]
                if chain.repeat < 2:
                    continue
                group = f"r:{rest[0]}"
                folded[group] = replace(chain, id=group, name=rest[0], repeat=len(rest), members=rest)
                for node in shown.nodes:
                    if any(member in node.path or node.name == member for member in rest) and node.id not in mapping:
                        mapping[node.id] = group
        if not mapping:
            return shown.collapse_repeats()
        nodes: list[GraphNode] = []
        for node in shown.nodes:
            target = mapping.get(node.id)
            if target is None:
                nodes.append(node)
            elif all(existing.id != target for existing in nodes):
                nodes.append(folded[target])
        return ModelGraph(self.model, nodes, _remap(shown.edges, mapping), self.modules).collapse_repeats()


def _same_block(a: GraphNode, b: GraphNode) -> bool:
    return a.kind == b.kind == "module" and a.type == b.type and a.params == b.params and a.path[:-1] == b.path[:-1]


def _remap(edges: Sequence[GraphEdge], mapping: dict[str, str]) -> list[GraphEdge]:
    """Return the edges between merged nodes: each pair once, no edge from a node to itself."""
    seen: dict[tuple[str, str], GraphEdge] = {}
    for edge in edges:
        source, target = mapping.get(edge.source, edge.source), mapping.get(edge.target, edge.target)
        if source != target and (source, target) not in seen:
            seen[source, target] = GraphEdge(source, target, edge.shape)
    return list(seen.values())
