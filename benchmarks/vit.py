"""A ViT-style image encoder built from nn.TransformerEncoder, at ViT-B/16's sizes.

The zoo has no vision transformer; the benchmark needs one because nn.TransformerEncoder is where
torch's fused attention fast path lives (one opaque op that FlopCounterMode counts as 0 on CPU).
Sizes follow torchvision's vit_b_16, so the parameter count is its published 86,567,656.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class ViTConfig:
    """Sizes of a ViT; the defaults are ViT-B/16 at 224×224."""

    image_size: int = 224
    patch_size: int = 16
    width: int = 768  # C: the embedding width of every token
    depth: int = 12
    heads: int = 12
    mlp_width: int = 3072  # 4·C, as in the paper
    num_classes: int = 1000


class ViTEncoder(nn.Module):
    """Images to class logits: (B, 3, H, W) -> (B, num_classes), through patch tokens and a CLS token."""

    def __init__(self, config: ViTConfig = ViTConfig()) -> None:
        super().__init__()
        tokens = (config.image_size // config.patch_size) ** 2 + 1  # patches + the CLS token
        self.patch_embed = nn.Conv2d(3, config.width, kernel_size=config.patch_size, stride=config.patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, config.width))
        self.pos_embed = nn.Parameter(torch.randn(1, tokens, config.width) * 0.02)
        layer = nn.TransformerEncoderLayer(
            config.width,
            config.heads,
            config.mlp_width,
            dropout=0.0,
            activation="gelu",
            batch_first=True,
            norm_first=True,  # ViT is pre-norm
        )
        # Nested tensors only help padded batches, and norm_first disables them anyway (with a warning).
        self.encoder = nn.TransformerEncoder(layer, config.depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(config.width)
        self.head = nn.Linear(config.width, config.num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(images)  # (B, C, H/P, W/P)
        x = x.flatten(2).transpose(1, 2)  # (B, N, C): one token per patch
        cls = self.cls_token.expand(x.size(0), -1, -1)  # (B, 1, C)
        x = torch.cat([cls, x], dim=1) + self.pos_embed  # (B, N + 1, C)
        x = self.encoder(x)  # (B, N + 1, C)
        return self.head(self.norm(x[:, 0]))  # the CLS token classifies: (B, num_classes)


def vit_b16(config: ViTConfig = ViTConfig()) -> ViTEncoder:
    """Return a ViT-B/16-sized encoder (86,567,656 parameters at the defaults)."""
    return ViTEncoder(config)
