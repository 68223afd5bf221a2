"""A nanoGPT-style decoder-only transformer, with presets from GPT-2 small up to a 7B shape."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class GPTConfig:
    """Sizes of a GPT; the defaults are GPT-2 small (124M parameters)."""

    vocab_size: int = 50257  # GPT-2's BPE vocabulary (nanoGPT pads it to 50304 for speed; we do not)
    block_size: int = 1024  # longest sequence: rows of the position embedding
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    bias: bool = True  # biases in Linears and LayerNorms, as GPT-2 has
    dropout: float = 0.0


class GPTPreset(StrEnum):
    """Named model sizes: the four GPT-2 checkpoints and a LLaMA-7B-shaped decoder."""

    GPT2_124M = "gpt2-124m"
    GPT2_MEDIUM = "gpt2-medium"
    GPT2_LARGE = "gpt2-large"
    GPT2_XL = "gpt2-xl"
    SEVEN_B = "7b"


PRESETS: dict[GPTPreset, GPTConfig] = {
    GPTPreset.GPT2_124M: GPTConfig(),
    GPTPreset.GPT2_MEDIUM: GPTConfig(n_layer=24, n_head=16, n_embd=1024),  # 350M
    GPTPreset.GPT2_LARGE: GPTConfig(n_layer=36, n_head=20, n_embd=1280),  # 774M
    GPTPreset.GPT2_XL: GPTConfig(n_layer=48, n_head=25, n_embd=1600),  # 1558M
    # LLaMA-7B's sizes in GPT-2's architecture (learned positions, GELU MLP, no biases): ≈6.6B.
    GPTPreset.SEVEN_B: GPTConfig(vocab_size=32000, block_size=2048, n_layer=32, n_head=32, n_embd=4096, bias=False),
}


def gpt_config(
    preset: str = GPTPreset.GPT2_124M,
    n_layer: int = 0,
    n_head: int = 0,
    n_embd: int = 0,
    vocab_size: int = 0,
    seq_len: int = 0,
) -> GPTConfig:
    """Return the preset's config with each non-zero override applied (0 keeps the preset's value).

    `seq_len` sets the context length, i.e. `block_size`.
    """
    base = PRESETS[GPTPreset(preset)]
    config = replace(
        base,
        n_layer=n_layer or base.n_layer,
        n_head=n_head or base.n_head,
        n_embd=n_embd or base.n_embd,
        vocab_size=vocab_size or base.vocab_size,
        block_size=seq_len or base.block_size,
    )
    if config.n_embd % config.n_head:
        raise ValueError(f"n_embd ({config.n_embd}) must be divisible by n_head ({config.n_head})")
    return config


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where each position sees only itself and earlier ones."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # q, k, v at once
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)  # 3 × (B, T, C)
        hs = C // self.n_head
        q = q.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, hs).transpose(1, 2)  # (B, nh, T, hs)
        dropout_p = self.dropout if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p, is_causal=True)  # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)  # heads side by side again: (B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    """Position-wise feed-forward: widen 4×, GELU, project back: (B, T, C) -> (B, T, C)."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.gelu(self.c_fc(x))  # (B, T, 4C)
        return self.dropout(self.c_proj(x))  # (B, T, C)


class Block(nn.Module):
    """Pre-LayerNorm transformer block: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))  # (B, T, C)
        return x + self.mlp(self.ln_2(x))  # (B, T, C)


class GPT(nn.Module):
    """Token ids to next-token logits: (B, T) long -> (B, T, vocab_size)."""

    def __init__(self, config: GPTConfig = GPTConfig()) -> None:
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(
            {
                "wte": nn.Embedding(config.vocab_size, config.n_embd),
                "wpe": nn.Embedding(config.block_size, config.n_embd),
                "drop": nn.Dropout(config.dropout),
                "h": nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                "ln_f": nn.LayerNorm(config.n_embd, bias=config.bias),
            }
        )
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # Weight tying: one (vocab, C) matrix both embeds tokens and scores them, counted once.
        self.transformer["wte"].weight = self.lm_head.weight
        self.apply(self._init_weights)
        # GPT-2 scales the projections into the residual stream so its variance stays put with depth.
        for name, param in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(param, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        seq_len = idx.size(1)  # idx: (B, T)
        if seq_len > self.config.block_size:
            raise ValueError(f"sequence of length {seq_len} is longer than block_size {self.config.block_size}")
        pos = torch.arange(seq_len, dtype=torch.long, device=idx.device)  # (T,)
        tok_emb = self.transformer["wte"](idx)  # (B, T, C)
        pos_emb = self.transformer["wpe"](pos)  # (T, C), broadcast over the batch
        x = self.transformer["drop"](tok_emb + pos_emb)  # (B, T, C)
        for block in self.transformer["h"].children():
            x = block(x)  # (B, T, C)
        x = self.transformer["ln_f"](x)  # (B, T, C)
        return self.lm_head(x)  # (B, T, vocab_size)


def build_gpt(
    preset: str = GPTPreset.GPT2_124M,
    n_layer: int = 0,
    n_head: int = 0,
    n_embd: int = 0,
    vocab_size: int = 0,
    seq_len: int = 0,
) -> GPT:
    """Return a GPT for a preset and overrides; see `gpt_config` (0 keeps the preset's value)."""
    return GPT(gpt_config(preset, n_layer, n_head, n_embd, vocab_size, seq_len))
