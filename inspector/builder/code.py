"""Code out: a network spec as runnable PyTorch, an `nn.Sequential` or a class with `forward`.

Running the code builds a model whose inspection (`inspect_model`) matches the builder's
propagation: the same layers, the same arguments, and the same calls (`x, _ = self.lstm1(x)`).
"""

from __future__ import annotations

from enum import StrEnum

from inspector.builder.build import CALL_ARITY, TUPLE_OUTPUT, BuildResult, StepStatus, layer_code, module_names
from inspector.core.dtypes import DType
from inspector.core.errors import InvalidArgumentError, UnknownNameError
from inspector.core.shapes import format_shape_tree
from inspector.layers.network_spec import NetworkSpec
from inspector.layers.specs import CallStyle, LayerSpec


class CodeStyle(StrEnum):
    """The two shapes the generated code takes."""

    SEQUENTIAL = "sequential"
    MODULE = "module"


def _style(style: str) -> CodeStyle:
    try:
        return CodeStyle(str(style).strip().lower())
    except ValueError:
        raise UnknownNameError("errors_a.unknown_code_style", name=repr(style), choices=", ".join(CodeStyle)) from None


def generate_code(
    spec: NetworkSpec,
    style: CodeStyle | str = CodeStyle.SEQUENTIAL,
    result: BuildResult | None = None,
    class_name: str = "Network",
) -> str:
    """Return a runnable Python module that defines `model` as the spec describes.

    With `result` (the spec's propagation), each layer line ends with the shape it gives.
    `nn.Sequential` passes one tensor from layer to layer, so a spec with Bilinear, attention or
    recurrent layers needs the "module" style; asking for "sequential" then raises and says so.
    """
    chosen = _style(style)
    if not class_name.isidentifier():
        raise InvalidArgumentError("errors_a.bad_class_name", value=repr(class_name))
    comments = _shape_comments(spec, result)
    body = _sequential(spec, comments) if chosen is CodeStyle.SEQUENTIAL else _module(spec, comments, class_name)
    return (
        "\n".join([_header(spec, result), "", "import torch", "from torch import nn", "", *body, "", *_example(spec)])
        + "\n"
    )


def _header(spec: NetworkSpec, result: BuildResult | None) -> str:
    what = f"input {format_shape_tree(list(spec.input_shape))}"
    if result is not None and result.fits:
        what += f" → output {format_shape_tree(list(result.output_shape))}, {result.total_params:,} parameters"
    return f'"""Built with PyTorch Shape Inspector: {what}."""'


def _shape_comments(spec: NetworkSpec, result: BuildResult | None) -> list[str]:
    if result is None or result.spec != spec:
        return [""] * len(spec.layers)
    comments = []
    for step in result.steps:
        if step.status is StepStatus.OK:
            comments.append(f"  # {format_shape_tree(list(step.output_shape or ()))}")
        elif step.status is StepStatus.FAILED:
            comments.append(f"  # does not fit its input {format_shape_tree(list(step.input_shape or ()))}")
        else:
            comments.append("")
    return comments


def _sequential(spec: NetworkSpec, comments: list[str]) -> list[str]:
    for index, entry in enumerate(spec.layers):
        if entry.spec.layer_class in TUPLE_OUTPUT:
            raise InvalidArgumentError("errors_a.sequential_tuple", index=index, type=entry.type)
        if entry.spec.call_style is not CallStyle.SINGLE:
            raise InvalidArgumentError("errors_a.sequential_inputs", index=index, type=entry.type)
    if not spec.layers:
        return ["model = nn.Sequential()"]
    lines = [f"    {layer_code(entry)},{comment}" for entry, comment in zip(spec.layers, comments, strict=True)]
    return ["model = nn.Sequential(", *lines, ")"]


def _module(spec: NetworkSpec, comments: list[str], class_name: str) -> list[str]:
    names = module_names(spec)
    init = [f"        self.{name} = {layer_code(entry)}" for name, entry in zip(names, spec.layers, strict=True)]
    forward = [
        f"        {_call(name, entry.spec)}{comment}"
        for name, entry, comment in zip(names, spec.layers, comments, strict=True)
    ]
    return [
        "",
        f"class {class_name}(nn.Module):",
        f'    """{format_shape_tree(list(spec.input_shape))} in; see the shape comments in forward."""',
        "",
        "    def __init__(self) -> None:",
        "        super().__init__()",
        *init,
        "",
        "    def forward(self, x: torch.Tensor) -> torch.Tensor:",
        *forward,
        "        return x",
        "",
        "",
        f"model = {class_name}()",
    ]


def _call(name: str, spec: LayerSpec) -> str:
    arguments = ", ".join(["x"] * CALL_ARITY[spec.call_style])
    target = "x, _" if spec.layer_class in TUPLE_OUTPUT else "x"  # (output, h_n) or (output, attention weights)
    return f"{target} = self.{name}({arguments})"


def _example(spec: NetworkSpec) -> list[str]:
    shape = ", ".join(str(d) for d in spec.input_shape)
    if spec.input_dtype in (DType.INT64, DType.INT32):
        make = f"x = torch.zeros(({shape},), dtype=torch.{spec.input_dtype})  # token ids"
    else:
        make = f"x = torch.randn({shape})"
    return ['if __name__ == "__main__":', f"    {make}", "    print(model.eval()(x).shape)"]
