"""What a layer's output is, in words: the name of each tensor a tuple-returning layer gives back.

torch's documentation names them (nn.LSTM: "output, (h_n, c_n)"; nn.MultiheadAttention: "attn_output,
attn_weights"); the Layer Lab labels each measured shape with those names instead of showing a bare
nested list.
"""

from __future__ import annotations

from torch import nn

from inspector.core.shapes import ShapeTree

# The structure mirrors what forward returns: a nested tuple of names for a nested tuple of tensors.
NameTree = str | tuple["NameTree", ...]
OUTPUT_NAMES: dict[type[nn.Module], NameTree] = {
    nn.RNN: ("output", "h_n"),
    nn.GRU: ("output", "h_n"),
    nn.LSTM: ("output", ("h_n", "c_n")),
    nn.MultiheadAttention: ("attn_output", "attn_weights"),
}


def named_outputs(layer_class: type[nn.Module], output_shape: ShapeTree) -> list[tuple[str, list[int]]]:
    """Return (name, shape) for each tensor of a tuple-returning layer's output; [] for one tensor."""
    names = OUTPUT_NAMES.get(layer_class)
    if names is None or not _is_nested(output_shape):
        return []
    pairs: list[tuple[str, list[int]]] = []
    _pair(names, output_shape, pairs)
    return pairs


def _is_nested(shape: ShapeTree) -> bool:
    return isinstance(shape, list) and any(isinstance(item, list) for item in shape)


def _pair(names: NameTree, shape: ShapeTree, into: list[tuple[str, list[int]]]) -> None:
    if isinstance(names, str):
        if isinstance(shape, list):
            into.append((names, list(shape)))
        return
    if not isinstance(shape, list) or len(shape) != len(names):  # a structure torch did not document
        return
    for name, part in zip(names, shape, strict=True):
        _pair(name, part, into)


def keeps_shape(input_shape: ShapeTree, output_shape: ShapeTree) -> bool:
    """Return whether the output has exactly the input's shape (ReLU, BatchNorm: yes; Flatten, LSTM: no)."""
    return input_shape == output_shape
