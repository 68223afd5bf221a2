"""The figure builders against torch: the cells drawn as read are the cells a real layer reads.

Which input cells feed one output cell is found the way autograd sees it: the gradient of that
output with respect to the input is non-zero exactly there (weights set to one, so no tap is
silently zero). The model charts' bars are checked against torch on the same model and input:
their sums against `numel()` and FlopCounterMode's total, each layer's bar against the parameters
torch lists under it (`named_parameters()`, a tied weight once) and FlopCounterMode's count for it;
the shape flow against the shapes the real modules return.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from inspector.core.flops import EXTRA_FORMULAS
from inspector.core.shapes import format_shape_tree
from inspector.lab.charts import Cell, matmul_figure, output_cell_from_point, output_grid_figure, sliding_window_figure
from inspector.lab.windows import axis_windows, read_input_cells
from inspector.model.chart_data import layer_groups, shape_flow
from inspector.model.charts import flops_figure, params_figure, shape_flow_figure
from inspector.model.zoo import inspect_named_model
from models import ZOO


def cells_torch_reads(layer: nn.Module, input_sizes: tuple[int, ...], out_index: tuple[int, ...]) -> set[tuple]:
    """Return the input cells whose value changes output cell `out_index` of `layer`: ∂out/∂x ≠ 0."""
    if isinstance(layer, (nn.Conv1d, nn.Conv2d)):
        nn.init.ones_(layer.weight)
    x = torch.rand(1, 1, *input_sizes, dtype=torch.float64, requires_grad=True)
    layer.double()(x)[(0, 0, *out_index)].backward()
    return {tuple(index) for index in x.grad[0, 0].nonzero().tolist()}


def highlighted_cells(figure, ndim: int) -> set[tuple]:
    """Return the input cells the figure's heatmap marks as read (it is drawn at input coordinates)."""
    heatmap = figure.data[0]
    return {
        (heatmap.y[row_index], heatmap.x[col_index])[-ndim:]
        for row_index, row in enumerate(heatmap.z)
        for col_index, value in enumerate(row)
        if value == Cell.READ_INPUT
    }


CONV2D_CASES = [
    # (kernel, stride, padding, dilation, input H×W, output cell)
    ((5, 3), 1, (2, 1), 1, (8, 8), (2, 3)),  # the notes' example: 8×8, kernel (5, 3), padding (2, 1)
    (3, 2, 1, 1, (9, 7), (0, 0)),  # the corner: the window hangs into the padding
    (3, 2, 1, 1, (9, 7), (4, 3)),  # the last cell of each axis
    (3, 1, 2, 2, (10, 10), (5, 1)),  # dilation 2: taps two cells apart
    ((2, 4), (3, 1), 0, (1, 2), (11, 12), (3, 5)),
    (3, 1, "same", 1, (6, 6), (0, 5)),
    pytest.param(
        4,
        1,
        "same",
        1,
        (6, 6),
        (5, 0),  # even kernel: torch pads 1 before, 2 after
        marks=pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel"),
    ),
]


@pytest.mark.parametrize(("kernel", "stride", "padding", "dilation", "size", "cell"), CONV2D_CASES)
def test_conv2d_window_highlights_the_cells_torch_reads(kernel, stride, padding, dilation, size, cell) -> None:
    layer = nn.Conv2d(1, 1, kernel, stride=stride, padding=padding, dilation=dilation, bias=False)
    args = {"kernel_size": kernel, "stride": stride, "padding": padding, "dilation": dilation}
    axes = axis_windows(args, 2)
    output_size = tuple(layer(torch.zeros(1, 1, *size)).shape[-2:])
    figure = sliding_window_figure(size, output_size, axes, cell)
    expected = cells_torch_reads(layer, size, cell)
    assert highlighted_cells(figure, 2) == expected
    assert read_input_cells(size, axes, cell) == expected


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "ceil_mode", "size", "cell"),
    [
        (3, 2, 1, False, 9, 4),
        (3, 2, 0, True, 8, 3),  # ceil_mode: the last window hangs past the end; those cells do not count
        (2, None, 0, False, 7, 2),  # stride None = the kernel size
    ],
)
def test_pool1d_window_highlights_the_cells_torch_reads(kernel, stride, padding, ceil_mode, size, cell) -> None:
    layer = nn.AvgPool1d(kernel, stride=stride, padding=padding, ceil_mode=ceil_mode)
    axes = axis_windows({"kernel_size": kernel, "stride": stride, "padding": padding}, 1)
    output_size = tuple(layer(torch.zeros(1, 1, size)).shape[-1:])
    figure = sliding_window_figure((size,), output_size, axes, (cell,))
    assert highlighted_cells(figure, 1) == cells_torch_reads(layer, (size,), (cell,))


def test_ceil_mode_cells_past_the_end_are_drawn_as_outside() -> None:
    axes = axis_windows({"kernel_size": 3, "stride": 2, "padding": 0}, 1)
    figure = sliding_window_figure((8,), (4,), axes, (3,))  # window 6, 7, 8: position 8 does not exist
    heatmap = figure.data[0]
    assert heatmap.z[0][list(heatmap.x).index(8)] == Cell.OUTSIDE


def test_large_inputs_draw_a_viewport_that_holds_the_window() -> None:
    axes = axis_windows({"kernel_size": 3, "stride": 1, "padding": 1}, 2)
    figure = sliding_window_figure((224, 224), (224, 224), axes, (200, 100))
    heatmap = figure.data[0]
    assert len(heatmap.x) <= 40 and len(heatmap.y) <= 40
    assert highlighted_cells(figure, 2) == {(r, c) for r in (199, 200, 201) for c in (99, 100, 101)}


def test_a_click_on_the_output_grid_names_that_cell() -> None:
    assert output_cell_from_point({"x": 3, "y": 2, "curve_number": 6}, 2) == (2, 3)
    assert output_cell_from_point({"x": 4.0, "y": 0}, 1) == (4,)
    assert output_cell_from_point({"x": None, "y": 1}, 2) is None


@pytest.mark.parametrize(("input_size", "cell"), [((8, 8), (2, 3)), ((20,), (4,)), ((64, 64), (50, 7))])
def test_the_output_grid_holds_the_cells_torch_returns_and_marks_the_chosen_one(input_size, cell) -> None:
    layer = nn.Conv2d(1, 1, 3, padding=1) if len(input_size) == 2 else nn.Conv1d(1, 1, 3, padding=1)
    output_size = tuple(layer(torch.zeros(1, 1, *input_size)).shape[2:])
    figure = output_grid_figure(output_size, cell)
    heatmap, points = figure.data
    # every click point reads back as a real output cell; the heatmap marks only the chosen one
    clicked = [output_cell_from_point({"x": x, "y": y}, len(cell)) for x, y in zip(points.x, points.y, strict=True)]
    assert all(all(0 <= i < n for i, n in zip(c, output_size, strict=True)) for c in clicked)
    assert cell in clicked and len(clicked) == len(set(clicked)) <= 40 * 40  # a viewport of at most 40 × 40
    marked = [
        (y, x) for y, row in zip(heatmap.y, heatmap.z, strict=True) for x, v in zip(heatmap.x, row, strict=True) if v
    ]
    assert [c[-len(cell) :] for c in marked] == [cell]
    assert figure.layout.yaxis.scaleanchor == "x"  # square cells at any width


def test_matmul_blocks_carry_the_linear_shapes() -> None:
    layer = nn.Linear(784, 256)
    figure = matmul_figure(["N"], layer.in_features, layer.out_features, bias=True)
    texts = [annotation.text for annotation in figure.layout.annotations]
    x_shape, w_shape = "(N, 784)", format_shape_tree(list(layer.weight.T.shape))  # x · Wᵀ: Wᵀ is (784, 256)
    assert [x_shape, w_shape, format_shape_tree(list(layer.bias.shape)), "(N, 256)"] == [
        text for text in texts if text.startswith("(")
    ]
    assert "<b>·</b>" in texts and "<b>+</b>" in texts and "<b>→</b>" in texts
    widths = [shape.x1 - shape.x0 for shape in figure.layout.shapes]
    heights = [shape.y1 - shape.y0 for shape in figure.layout.shapes]
    assert widths[0] == pytest.approx(heights[1])  # x's 784 columns meet Wᵀ's 784 rows
    assert widths[1] == pytest.approx(widths[3])  # y is as wide as Wᵀ: 256 features


CHART_MODELS = ("alexnet", "resnet18", "gpt2", "param_list")


@dataclass(frozen=True)
class TorchFacts:
    """What torch itself says of a zoo model at its default input, on meta."""

    root: str  # FlopCounterMode's name for the model ('AlexNet'): its table's keys start with it
    parameters: dict[str, int]  # named_parameters(): a tied weight once, under its first name
    flops: dict[str, int]  # FlopCounterMode's per-module totals, 'Global' for the whole model
    output_shapes: dict[str, list[int]]  # each module's output shape, from forward hooks
    input_shape: list[int]


def record_output_shapes(model: nn.Module) -> dict[str, list[int]]:
    """Hook every module to note its first tensor output's shape; return the (filling) dict."""
    shapes: dict[str, list[int]] = {}
    for module_name, module in model.named_modules():

        def record(_module: nn.Module, _inputs: object, output: object, key: str = module_name) -> None:
            if isinstance(output, torch.Tensor):
                shapes.setdefault(key, list(output.shape))

        module.register_forward_hook(record)
    return shapes


def torch_facts(name: str) -> TorchFacts:
    entry = ZOO[name]
    with torch.device("meta"):
        model = entry.build().eval()
        tokens = entry.input_dtype == torch.long
        x = torch.zeros(entry.input_size, dtype=torch.long) if tokens else torch.randn(entry.input_size)
    shapes = record_output_shapes(model)
    torch.backends.mha.set_fastpath_enabled(False)  # inspection runs attention unfused: its matmuls count
    try:
        with FlopCounterMode(display=False, custom_mapping=EXTRA_FORMULAS) as counter, torch.no_grad():
            model(x)
    finally:
        torch.backends.mha.set_fastpath_enabled(True)
    flops = {key: sum(ops.values()) for key, ops in counter.get_flop_counts().items()}
    parameters = {key: p.numel() for key, p in model.named_parameters()}
    return TorchFacts(type(model).__name__, parameters, flops, shapes, list(x.shape))


@pytest.fixture(scope="module")
def reports():
    return {name: inspect_named_model(name, device="meta") for name in CHART_MODELS}


@pytest.fixture(scope="module")
def facts():
    return {name: torch_facts(name) for name in CHART_MODELS}


@pytest.mark.parametrize("name", CHART_MODELS)
@pytest.mark.parametrize("depth", [0, 1, 2, 4])
def test_model_bars_add_up_to_torchs_totals(reports, facts, name: str, depth: int) -> None:
    report, truth = reports[name], facts[name]
    assert sum(params_figure(report, depth).data[0].y) == sum(truth.parameters.values())
    assert sum(flops_figure(report, depth).data[0].y) == truth.flops["Global"]


@pytest.mark.parametrize("name", CHART_MODELS)
@pytest.mark.parametrize("depth", [0, 1, 2, 4])
def test_each_layer_bar_is_what_torch_counts_under_that_layer(reports, facts, name: str, depth: int) -> None:
    truth = facts[name]
    whole_layers = [group for group in layer_groups(reports[name], depth) if not group.own_only]
    assert whole_layers  # a container's own share (own_only) has no torch counterpart; every other bar does
    for group in whole_layers:
        prefix = f"{group.name}." if group.name else ""
        assert group.params == sum(n for key, n in truth.parameters.items() if key.startswith(prefix)), group.name
        key = truth.root + (f".{group.name}" if group.name else "")
        assert group.flops == truth.flops.get(key, 0), group.name


def test_gpt2_tied_lm_head_is_counted_once_and_its_flops_are_kept(reports) -> None:
    groups = {group.name: group for group in layer_groups(reports["gpt2"], 1)}
    assert groups["lm_head"].params == 0  # its weight is transformer.wte's
    assert groups["lm_head"].flops > 0
    assert "transformer.h.0" in groups  # ModuleDict/ModuleList never run: their blocks are the layers


def test_shape_flow_runs_from_the_input_to_the_output(reports, facts) -> None:
    report, truth = reports["alexnet"], facts["alexnet"]
    steps = shape_flow(report, 2)
    assert steps[0].shape == truth.input_shape == [1, 3, 224, 224]
    assert [step.shape for step in steps[1:]] == [truth.output_shapes[step.name] for step in steps[1:]]
    assert steps[-1].shape == truth.output_shapes[""] == [1, 1000]  # the model's own output
    figure = shape_flow_figure(report, 2)
    sizes = [truth.input_shape] + [truth.output_shapes[step.name] for step in steps[1:]]
    assert list(figure.data[0].y) == [torch.Size(size).numel() for size in sizes]
    assert figure.data[0].y[0] == 1 * 3 * 224 * 224  # 150,528 input values
