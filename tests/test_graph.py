"""The model as a graph: node shapes are torch's own outputs, residual branches show, repeats fold.

Each module node's shape is compared with what a plain forward hook records for that module in a separate
forward; the merged nodes at depth 1 are the model's own `named_children()`; the folded ×N node's
parameters are numel() of the blocks it stands for.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest
import torch
from torch import nn

from inspector.core.shapes import shape_tree
from inspector.model.graph_dot import to_dot, to_svg
from inspector.model.graph_trace import trace_graph
from inspector.model.zoo import build_zoo_model


def _hooked_outputs(model: nn.Module, x: torch.Tensor) -> dict[str, object]:
    """Return each leaf module's first output shape, as torch's own forward hooks see it."""
    seen: dict[str, object] = {}

    def record(name: str, output: object) -> None:
        seen.setdefault(name, shape_tree(output))

    handles = [
        module.register_forward_hook(lambda m, i, o, name=name: record(name, o))
        for name, module in model.named_modules()
        if next(module.children(), None) is None
    ]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    return seen


@pytest.fixture(scope="module")
def resnet18() -> nn.Module:
    return build_zoo_model("resnet18", device="meta").eval()


def test_module_nodes_have_torchs_output_shapes(resnet18: nn.Module) -> None:
    graph = trace_graph(resnet18, (2, 3, 64, 64))
    expected = _hooked_outputs(resnet18, torch.empty(2, 3, 64, 64, device="meta"))
    shown = {node.name: node.shape for node in graph.nodes if node.kind == "module"}
    assert shown == expected
    for edge in graph.edges:  # an edge carries the shape its source made (one tensor each here)
        assert edge.shape == graph.node(edge.source).shape


def test_the_residual_branch_is_an_add_fed_by_the_block_and_its_input(resnet18: nn.Module) -> None:
    # BasicBlock.forward: out = bn2(conv2(...)); out += identity, where identity is the block's input,
    # which for layer1.0 is what maxpool gave.
    graph = trace_graph(resnet18, (1, 3, 64, 64))
    add = next(node for node in graph.nodes if node.type == "add" and node.path[-1] == "layer1.0")
    sources = {edge.source for edge in graph.edges if edge.target == add.id}
    assert sources == {"module:layer1.0.bn2", "module:maxpool"}


def test_depth_one_is_the_models_children_in_order(resnet18: nn.Module) -> None:
    graph = trace_graph(resnet18, (1, 3, 64, 64)).at_depth(1)
    modules = [node.name for node in graph.nodes if node.kind == "module"]
    assert modules == [name for name, _ in resnet18.named_children()]
    params = {node.name: node.params for node in graph.nodes if node.kind == "module"}
    assert params == {name: sum(p.numel() for p in child.parameters()) for name, child in resnet18.named_children()}


def test_a_32_layer_decoder_folds_into_one_node() -> None:
    model = build_zoo_model("gpt_7b", device="meta")
    # depth counts the modules that ran, as the report's does: the ModuleDict and ModuleList around the
    # blocks never run, so the blocks are at depth 1
    graph = trace_graph(model, (1, 8), input_dtype="int64").view(1)
    blocks = [node for node in graph.nodes if node.repeat > 1]
    assert len(blocks) == 1 and blocks[0].repeat == len(model.transformer.h) == 32
    assert blocks[0].params * blocks[0].repeat == sum(p.numel() for p in model.transformer.h.parameters())
    # deeper, the first block is drawn whole and the other 31 fold into one node
    deeper = [node for node in trace_graph(model, (1, 8), input_dtype="int64").view(2).nodes if node.repeat > 1]
    assert [(node.members[0], node.repeat) for node in deeper] == [("transformer.h.1", 31)]


def test_tracing_leaves_the_model_as_it_was() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.ReLU()).train()
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    trace_graph(model, (3, 4), device="cpu")
    assert model.training and all(m.training for m in model.modules())
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert all(torch.equal(before[name], tensor) for name, tensor in model.state_dict().items())
    assert model[0].weight.device.type == "cpu"


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_names_from_the_model_are_data_for_graphviz() -> None:
    hostile = nn.ModuleDict({'a"]; evil [label="x': nn.Linear(2, 2)})

    class Wrapper(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = hostile

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.inner['a"]; evil [label="x'](x)

    dot = to_dot(trace_graph(Wrapper(), (1, 2)).view(None))
    svg = to_svg(dot).decode()
    assert "evil" in svg and "<svg" in svg  # drawn as a label, and the graph still parses
    assert subprocess.run(["dot", "-Tcanon"], input=dot.encode(), capture_output=True, check=False).returncode == 0


def test_words_on_the_drawing_follow_the_language(resnet18: nn.Module) -> None:
    graph = trace_graph(resnet18, (1, 3, 64, 64)).view(1)
    assert "params" in to_dot(graph, "en") and "个参数" in to_dot(graph, "zh")


def test_the_graph_command_prints_dot_json_and_one_line_errors(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from inspector.cli import USER_ERROR, main

    assert main(["graph", "resnet18", "--depth", "1", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    model = build_zoo_model("resnet18", device="meta")
    modules = [node["name"] for node in document["nodes"] if node["kind"] == "module"]
    assert modules == [name for name, _ in model.named_children()]  # depth 1: the model's own children
    assert main(["graph", "mlp"]) == 0 and capsys.readouterr().out.startswith('digraph "mlp" {')
    assert main(["graph", "mlp", "--format", "png"]) == USER_ERROR
    assert capsys.readouterr().err.strip() == "error: --format must be one of dot, svg, json, got 'png'"


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
def test_the_graph_command_draws_svg(capsys: pytest.CaptureFixture[str]) -> None:
    from inspector.cli import main

    assert main(["graph", "lenet5", "--format", "svg"]) == 0
    svg = capsys.readouterr().out
    assert svg.lstrip().startswith("<?xml") and "features.0" in svg and "</svg>" in svg
