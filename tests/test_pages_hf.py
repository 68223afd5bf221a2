"""The planner and checkpoint pages with Hugging Face reference configs (hf:NAME), driven with AppTest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

transformers = pytest.importorskip("transformers")
ROOT = Path(__file__).resolve().parent.parent
SHELF = ROOT / "models" / "hf"


def gpt2_on_meta() -> torch.nn.Module:
    """GPT-2 as transformers builds it from the committed config, on meta: shapes and counts, no memory."""
    config = transformers.GPT2Config.from_dict(json.loads((SHELF / "gpt2.json").read_text()))
    with torch.device("meta"):
        return transformers.GPT2LMHeadModel(config)


def test_planner_estimates_gpt2(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    app = AppTest.from_file(str(ROOT / "app_pages" / "planner.py"), default_timeout=120)
    app.session_state["planner_batch"] = 1
    app.session_state["planner_budget"] = "8 GB"
    app.run()
    app.segmented_control(key="model.source").set_value("hf").run()  # the Model Inspector's source choice
    assert "GPT-2 (124M)" in app.selectbox(key="hf.name").options  # the shelf title
    app.selectbox(key="hf.name").set_value("gpt2").run()
    assert not app.exception and not app.error
    assert app.number_input(key="planner_seq_len").value == 128  # a token model: a sequence length, no shape
    bars = json.loads(app.get("plotly_chart")[0].proto.spec)["data"]
    params = sum(p.numel() for p in gpt2_on_meta().parameters())  # 124,439,808 (tests/test_hf.py); lm_head tied
    assert bars[0]["name"] == "parameters" and round(bars[0]["y"][0] * 2**30) == 4 * params  # fp32: 4 bytes each
    app.number_input(key="planner_seq_len").set_value(64).run()
    assert app.query_params["hf"] == "gpt2" and app.query_params["seq_len"] == "64"  # the link keeps both
    assert app.query_params["source"] == "hf" and "model" not in app.query_params


def test_checkpoint_matched_against_gpt2(tmp_path, monkeypatch):
    """A tiny GPT-2 (2 layers, 32 wide) has GPT-2's names but not its shapes: the page says so, with torch's."""
    from safetensors.torch import save_file

    import inspector.checkpoint.match as match

    tiny = transformers.GPT2LMHeadModel(transformers.GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=100))
    path = tmp_path / "tiny.safetensors"
    save_file({name: t.detach().clone().contiguous() for name, t in tiny.state_dict().items()}, path)
    # AppTest cannot upload a file: the example picker hands the page this file's bytes instead
    monkeypatch.setattr(match, "example_checkpoint", lambda name: (path.name, path.read_bytes()))
    monkeypatch.syspath_prepend(str(ROOT))
    app = AppTest.from_file(str(ROOT / "app_pages" / "checkpoint.py"), default_timeout=120).run()
    assert "GPT-2 (124M)" in app.selectbox(key="ckpt.against").options
    app.selectbox(key="ckpt.example").set_value("mlp").run()
    app.selectbox(key="ckpt.against").set_value("hf:gpt2").run()
    assert not app.exception and "does not fit hf\\:gpt2" in app.error[0].value  # plain(): a colon escaped
    table = app.dataframe[0].value
    row = table[table.iloc[:, 0] == "transformer.wte.weight"].iloc[0]
    wte = gpt2_on_meta().transformer.wte.weight.shape  # torch's own: (50257, 768)
    assert row.iloc[1] == "(100, 32)" and row.iloc[2] == str(tuple(wte))


def test_planner_7b_estimated_on_meta_and_real_step_refused(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    app = AppTest.from_file(str(ROOT / "app_pages" / "planner.py"), default_timeout=300)
    for key, value in {"batch": 1, "steps": 1, "warmup": 0}.items():
        app.session_state[f"planner_{key}"] = value
    app.session_state["model.source"], app.session_state["hf.name"] = "hf", "llama-2-7b"
    app.run()
    assert not app.exception and not app.error and app.metric[0].value.endswith("GiB")  # estimated: nothing allocated
    app.button(key="planner_run").click().run()
    assert not app.exception and "more than the" in app.error[0].value  # the memory guard's refusal, on the page
    assert len(app.get("plotly_chart")) == 2  # the rest of the page keeps working
