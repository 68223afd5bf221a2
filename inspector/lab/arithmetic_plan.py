"""A layer's pre-flight figure by arithmetic on sizes, where its forward is one kernel whose memory is known.

The meta pre-flight (`inspector.core.preflight.forward_peak`) runs the forward on meta; torch's meta
kernels for many ops (addmm, the element-wise ops, layer_norm) are Python decompositions, whose first
call imports torch._dynamo (through `torch._disable_dynamo`) and sympy (through `torch._check`): about
1.3 s of a 4 s command-line run, for a figure that arithmetic gives exactly when the forward is one
known kernel. nn.Linear is: `F.linear` allocates its output and nothing else, so the forward's peak
is input + output, and FlopCounterMode counts the matmul, 2 · rows · in · out (bias not counted).
`tests/test_speed.py` checks both against the meta run over ranks, bias and dtypes.
Anything else (another layer, a mismatched or integer input) returns None: the meta run decides.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from inspector.layers.args import ArgValue
from inspector.layers.specs import LayerSpec


def linear_forward(
    spec: LayerSpec, args: dict[str, ArgValue], size: object, float_dtype: torch.dtype
) -> tuple[int, int, bool] | None:
    """Return what `forward_peak` gives an nn.Linear on input `size` (peak bytes, FLOPs, complete), or None.

    None unless the layer is nn.Linear with at least one in and out feature, and `size` is one shape
    whose last dimension is in_features (a mismatch is left to the meta run, which reports it).
    """
    if spec.layer_class is not nn.Linear or not isinstance(size, tuple) or not size:
        return None
    fan_in, fan_out = args.get("in_features"), args.get("out_features")
    if not isinstance(fan_in, int) or not isinstance(fan_out, int) or min(fan_in, fan_out) < 1:
        return None
    if not all(isinstance(dim, int) and dim >= 1 for dim in size) or size[-1] != fan_in:
        return None
    rows = math.prod(size[:-1])  # every leading dimension: a 1-D input is one row
    peak = (rows * fan_in + rows * fan_out) * float_dtype.itemsize  # the input, and the output it makes
    return peak, 2 * rows * fan_in * fan_out, True
