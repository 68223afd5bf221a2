"""The Model Inspector says only what is true: whole numbers, "not counted" FLOPs, preset values, lazy torchinfo.

Truth comes from torch: FLOPs from FlopCounterMode on an LSTMCell unrolled by hand, sizes from the
model's own modules. Issue #15, part C.
"""

from __future__ import annotations

import pytest
import torch
from streamlit.testing.v1 import AppTest
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from inspector.core.formatting import to_json, to_markdown, to_table
from inspector.core.i18n import catalogue
from inspector.model.charts import MAX_NAMED, flops_figure, params_figure, shape_flow_figure
from inspector.model.inspection import inspect_model
from inspector.model.zoo import inspect_named_model
from models import ZOO
from tests.test_app import MODEL_PAGE, open_app


class Recurrent(nn.Module):
    """An LSTM then pooling, normalisation and an activation: the layers FlopCounterMode leaves out."""

    def __init__(self, lstm: nn.LSTM) -> None:
        super().__init__()
        self.lstm = lstm
        self.norm = nn.LayerNorm(lstm.hidden_size * (2 if lstm.bidirectional else 1))
        self.act = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool1d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.pool(self.act(self.norm(out)).transpose(1, 2))


def unrolled_flops(lstm: nn.LSTM, x: torch.Tensor) -> int:
    """Return FlopCounterMode's count for `lstm` run as LSTMCells, step by step, with its own weights.

    The outputs are checked against nn.LSTM's, so the unrolled run is the same computation.
    """
    layer_input, directions = x.transpose(0, 1), 2 if lstm.bidirectional else 1  # (T, B, I)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        for layer in range(lstm.num_layers):
            outputs = []
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                cell = nn.LSTMCell(layer_input.shape[-1], lstm.hidden_size)
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    setattr(cell, name, getattr(lstm, name + suffix))
                h = c = torch.zeros(x.shape[0], lstm.hidden_size)
                steps = range(layer_input.shape[0] - 1, -1, -1) if direction else range(layer_input.shape[0])
                seen = {}
                for step in steps:
                    h, c = cell(layer_input[step], (h, c))
                    seen[step] = h
                outputs.append(torch.stack([seen[step] for step in range(layer_input.shape[0])]))
            layer_input = torch.cat(outputs, dim=-1)
    expected, _ = lstm(x)
    torch.testing.assert_close(layer_input.transpose(0, 1), expected)
    return counter.get_total_flops()


@pytest.mark.parametrize(
    ("input_size", "hidden", "layers", "bidirectional"), [(10, 20, 1, False), (6, 8, 2, True), (3, 16, 3, False)]
)
def test_lstm_flops_on_cpu_equal_an_unrolled_lstmcell_under_flopcountermode(input_size, hidden, layers, bidirectional):
    torch.manual_seed(0)
    lstm = nn.LSTM(input_size, hidden, num_layers=layers, batch_first=True, bidirectional=bidirectional)
    x = torch.randn(3, 7, input_size)
    report = inspect_model(Recurrent(lstm), input_data=x, device="cpu")
    row = next(layer for layer in report.layers if layer.name == "lstm")
    assert row.flops == unrolled_flops(lstm, x) > 0
    if (input_size, layers, bidirectional) == (10, 1, False):
        assert row.flops == 2 * 4 * 20 * (10 + 20) * 7 * 3  # 2·4H·(I+H)·T·B = 100,800


def test_pooling_norm_and_activation_read_not_counted_in_table_and_markdown_but_keep_0_in_json():
    report = inspect_model(Recurrent(nn.LSTM(4, 6, batch_first=True)), input_data=torch.randn(2, 5, 4), device="cpu")
    uncounted = {layer.name for layer in report.layers if not layer.flops_counted}
    assert uncounted == {"norm", "act", "pool"}  # the LSTM is counted (our formula), the root sums what is
    for lang in ("en", "zh"):
        words = catalogue(lang)["cli.flops_not_counted"]
        table = to_table(report, lang=lang)
        assert sum(words in line for line in table.splitlines() if line.lstrip().startswith(("norm", "act", "pool")))
        assert catalogue(lang)["cli.flops_not_counted_note"] in table
        markdown = to_markdown(report, lang=lang)
        # LayerNorm(6): weight 6 + bias 6 = 12 parameters
        assert f"| norm | LayerNorm | (2, 5, 6) | (2, 5, 6) | weight (6,), bias (6,) | 12 | {words} |" in markdown
    document = to_json(report)
    assert '"flops_counted": false' in document and '"flops": 0' in document


def test_many_bars_are_numbered_and_the_log_axis_labels_powers_of_ten_only():
    report = inspect_named_model("gpt2", device="meta")
    many = params_figure(report, 4)
    assert len(many.data[0].x) > MAX_NAMED  # GPT-2 at depth 4: ~160 bars
    assert many.layout.xaxis.type == "linear" and list(many.data[0].x) == list(range(1, len(many.data[0].x) + 1))
    assert all("transformer" in text or "lm_head" in text for text in many.data[0].hovertext)  # names on hover
    few = flops_figure(report, 1)
    assert few.layout.xaxis.type == "category" and len(few.data[0].x) <= MAX_NAMED
    flow = shape_flow_figure(report, 4)
    assert flow.layout.yaxis.type == "log" and flow.layout.yaxis.dtick == 1  # one label per power of ten


def _model_page(query: dict[str, str]) -> AppTest:
    return open_app({"model": "gpt2", "device": "meta", **query}, page=MODEL_PAGE)


def test_table_numbers_are_whole_and_weight_shapes_come_before_input():
    app = _model_page({"depth": "1"})
    table = app.dataframe[0].value
    names = list(table.columns)
    assert names.index("Weight shapes") == 3  # beside name, type and params: in view in the 673 px table at 1400 px
    total = sum(p.numel() for p in ZOO["gpt2"].build().parameters())
    assert table["Params"].iloc[0] == total  # the whole count, torch's numel(), in a numeric column


def test_gpt_options_show_the_presets_values_not_0():
    app = _model_page({"lang": "zh"})
    config = ZOO["gpt"].preset_values({"preset": "gpt2-xl"})
    box = app.number_input(key="zoo.gpt2.n_embd")
    assert box.value is None and box.placeholder == "预设：768"  # GPT-2 small's n_embd, from its PRESETS entry
    assert config["n_embd"] == 1600  # gpt2-xl: 1600 wide


def test_torchinfo_runs_only_when_asked():
    app = _model_page({"depth": "1"})
    assert not app.code  # the expander is there, the summary is not built
    app.toggle(key="zoo.torchinfo.gpt2").set_value(True).run()
    assert "Total params" in app.code[0].value
    app.slider(key="zoo.depth").set_value(2).run()
    assert "Total params" in app.code[0].value
