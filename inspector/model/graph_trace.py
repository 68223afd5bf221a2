"""Records the dataflow graph of one forward (see `inspector.model.graph`).

Module hooks say which module is running; a `TorchFunctionMode` sees every torch operation, and keeps
those that run outside any leaf module. Each tensor made along the way is mapped to the node that made
it (by object identity; the tensors are kept alive for the trace, so an id is never reused).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any

import torch
from torch import nn
from torch.func import functional_call
from torch.overrides import TorchFunctionMode

from inspector.core.collect import kept_as_found
from inspector.core.devices import resolve_device
from inspector.core.errors import ForwardError
from inspector.core.inputs import make_inputs, run_call
from inspector.core.shapes import shape_tree
from inspector.model.graph import GraphEdge, GraphNode, ModelGraph, ModuleInfo
from inspector.model.stand_ins import converted_state, float_dtype, subtree_params

# Operations that only re-view or re-type their input: the edge keeps pointing at the input's maker.
PASS_THROUGH = frozenset(
    [
        "view",
        "reshape",
        "permute",
        "transpose",
        "contiguous",
        "expand",
        "expand_as",
        "unsqueeze",
        "squeeze",
        "t",
        "to",
        "type",
        "float",
        "half",
        "bfloat16",
        "double",
        "detach",
        "clone",
        "view_as",
        "__getitem__",
        "chunk",
        "split",
        "unbind",
        "narrow",
        "movedim",
        "unflatten",
    ]
)
_SEARCH_DEPTH = 3  # arguments hold tensors in tuples, lists or dicts a level or two deep


def _tensors(value: object, depth: int = _SEARCH_DEPTH) -> Iterator[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        yield value
    elif depth and isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item, depth - 1)
    elif depth and isinstance(value, Mapping):
        for item in value.values():
            yield from _tensors(item, depth - 1)
    elif depth and hasattr(value, "to_tuple"):  # transformers' ModelOutput
        yield from _tensors(value.to_tuple(), depth - 1)


class _Recorder(TorchFunctionMode):
    """Builds the nodes and edges while the forward runs."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.names = {module: name for name, module in model.named_modules()}
        self.leaves = {module for module in self.names if next(module.children(), None) is None}
        self.stack: list[str] = []  # qualified names of the running modules, outermost first (root excluded)
        self.leaf_depth = 0  # > 0 while a leaf module runs: its own operations are not nodes
        self.maker: dict[int, str] = {}
        self.keep: list[torch.Tensor] = []
        self.nodes: list[GraphNode] = []
        self.edges: list[GraphEdge] = []
        self.calls: dict[str, int] = {}

    def add_node(self, kind: str, name: str, type_: str, inputs: list[torch.Tensor], output: object) -> None:
        count = self.calls[name] = self.calls.get(name, 0) + 1
        node_id = f"{kind}:{name}" + (f"#{count}" if count > 1 else "")
        path = tuple(self.stack)
        self.nodes.append(GraphNode(node_id, kind, name, type_, path, 0, shape_tree(output)))
        for tensor in inputs:
            source = self.maker.get(id(tensor))
            if source is not None:
                self.edges.append(GraphEdge(source, node_id, list(tensor.shape)))
        self.made(output, node_id)

    def made(self, output: object, node_id: str) -> None:
        for tensor in _tensors(output):
            self.maker[id(tensor)] = node_id
            self.keep.append(tensor)

    def before(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        name = self.names.get(module, "")
        if name:
            self.stack.append(name)
        if module in self.leaves:
            if self.leaf_depth == 0:
                self.leaf_inputs = [*_tensors(args), *_tensors(kwargs)]
            self.leaf_depth += 1

    def after(self, module: nn.Module, args: tuple, kwargs: dict, output: object) -> None:
        name = self.names.get(module, "")
        if module in self.leaves:
            self.leaf_depth -= 1
            if self.leaf_depth == 0 and name:
                self.add_node("module", name, type(module).__name__, self.leaf_inputs, output)
        if name and self.stack and self.stack[-1] == name:
            self.stack.pop()

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        output = func(*args, **kwargs)
        if self.leaf_depth:
            return output
        inputs = [t for t in [*_tensors(args), *_tensors(kwargs)] if id(t) in self.maker]
        if not inputs or not any(True for _ in _tensors(output)):
            return output
        name = getattr(func, "__name__", str(func))
        if name in PASS_THROUGH or name == "__get__":
            self.made(output, self.maker[id(inputs[0])])
        else:
            self.add_node("function", name.strip("_"), name.strip("_"), inputs, output)
        return output


def trace_graph(
    model: nn.Module,
    input_size: object = None,
    input_data: object = None,
    device: str | torch.device | None = "meta",
    *,
    input_dtype: str | torch.dtype | None = None,
    name: str | None = None,
) -> ModelGraph:
    """Return the dataflow graph of one forward of `model` on `device` (meta: free), the model left as found."""
    target = resolve_device(device)
    state = converted_state(model, target, None)
    inputs = make_inputs(input_size, input_data, target, float_dtype(model), input_dtype)
    recorder = _Recorder(model)
    for index, tensor in enumerate(_tensors(inputs)):
        recorder.add_node("input", "input" if index == 0 else f"input{index}", "input", [], tensor)
    handles = [module.register_forward_pre_hook(recorder.before, with_kwargs=True) for module in recorder.names] + [
        module.register_forward_hook(recorder.after, with_kwargs=True) for module in recorder.names
    ]
    call = (lambda *a, **k: functional_call(model, state, a, k)) if state is not None else None
    try:
        with kept_as_found(model), torch.no_grad(), recorder:
            model.eval()
            output = run_call(model, inputs, call)
    except ForwardError:
        raise
    except Exception as error:  # the inspection itself names the failure; the graph reports it plainly
        raise ForwardError("graph.forward_failed", model=type(model).__name__, reason=str(error)[:300]) from None
    finally:
        for handle in handles:
            handle.remove()
    recorder.add_node("output", "output", "output", list(_tensors(output)), output)
    params = subtree_params(model)
    modules = {
        qualified: ModuleInfo(type(module).__name__, params.get(qualified, 0))
        for qualified, module in model.named_modules()
    }
    nodes = [replace(n, params=modules[n.name].params) if n.kind == "module" else n for n in recorder.nodes]
    return ModelGraph(name or type(model).__name__, nodes, recorder.edges, modules)
