"""The doctor's rules for sequence layers: Embedding's token ids, RNN/LSTM/GRU's input_size, and the
width of MultiheadAttention and TransformerEncoderLayer.

Each rule is a pure reading of the failing module's attributes and the shapes it saw; it returns
None when its layer has nothing wrong, so it can also check what the meta device lets through.
"""

from __future__ import annotations

from torch import nn

from inspector.core.dtypes import DType
from inspector.core.messages import NONE, msg
from inspector.doctor.fixes import Fix, set_args, set_input
from inspector.doctor.registry import FailureSite, Finding, at_network_input, diagnoses
from inspector.doctor.sources import FEATURE_PASS, FEATURE_SOURCES, largest_divisor, source_fix
from inspector.doctor.wording import either, set_text, shape_text, wrong_rank


@diagnoses(nn.Embedding)
def _embedding(site: FailureSite) -> Finding | None:
    module, shape = site.module, site.input_shape
    takes = f"{shape_text(shape)} of int64 token ids below num_embeddings={module.num_embeddings}"
    if site.input_dtype is None:  # a user's model: the dtype is not known here
        return Finding(msg("doctor.embedding.ids", num_embeddings=module.num_embeddings), takes)
    if not site.input_dtype.is_floating_point:
        return None
    reason = msg(
        "doctor.embedding.floats",
        num_embeddings=module.num_embeddings,
        embedding_dim=module.embedding_dim,
        shape=shape_text(shape),
        dtype=str(site.input_dtype),
    )
    if not at_network_input(site):
        return Finding(msg("doctor.embedding.first", reason=reason), takes)
    fix = Fix(msg("doctor.fix.long"), (set_input(dtype=DType.INT64.value),), "X = X.long()")
    return Finding(reason, takes, (fix,))


@diagnoses(nn.RNN, nn.LSTM, nn.GRU)
def _recurrent(site: FailureSite) -> Finding | None:
    module, shape, index = site.module, site.input_shape, site.index
    assert isinstance(module, nn.RNNBase)  # the class it is registered for
    kind, wanted = type(module).__name__, module.input_size
    layout = "(N, L, H_in)" if module.batch_first else "(L, N, H_in)"
    batched = layout.replace("H_in", str(wanted))
    takes = msg("doctor.recurrent.takes", layout=batched, size=wanted)
    if len(shape) not in (2, 3):
        return Finding(wrong_rank(kind, takes, shape), takes)
    if shape[-1] == wanted:
        return None
    fixes = [Fix(set_text(f"input_size={shape[-1]}"), (set_args(index, input_size=shape[-1]),))]
    fixes += [fix for fix in (source_fix(site, wanted, FEATURE_SOURCES, FEATURE_PASS),) if fix]
    reason = msg(
        "doctor.recurrent.reason",
        kind=kind,
        wanted=wanted,
        takes=takes,
        shape=shape_text(shape),
        last=shape[-1],
    )
    return Finding(reason, takes, tuple(fixes))


def _attention(site: FailureSite, width_arg: str, heads_arg: str, width: int, heads: int) -> Finding | None:
    shape, kind = site.input_shape, type(site.module).__name__
    takes = either(f"(L, N, {width})", f"(N, L, {width})")
    if shape[-1] == width:
        return None
    new_heads = largest_divisor(shape[-1], heads)
    args = {width_arg: shape[-1], **({heads_arg: new_heads} if new_heads != heads else {})}
    also = NONE
    if new_heads != heads:
        also = msg("doctor.attention.also", heads_arg=heads_arg, heads=new_heads, width_arg=width_arg)
    reason = msg(
        "doctor.attention.reason",
        kind=kind,
        width_arg=width_arg,
        width=width,
        takes=takes,
        shape=shape_text(shape),
        last=shape[-1],
    )
    return Finding(reason, takes, (Fix(set_text(f"{width_arg}={shape[-1]}", also), (set_args(site.index, **args),)),))


@diagnoses(nn.MultiheadAttention)
def _multihead(site: FailureSite) -> Finding | None:
    module = site.module
    assert isinstance(module, nn.MultiheadAttention)  # the class it is registered for
    return _attention(site, "embed_dim", "num_heads", module.embed_dim, module.num_heads)


@diagnoses(nn.TransformerEncoderLayer)
def _encoder(site: FailureSite) -> Finding | None:
    module = site.module
    assert isinstance(module, nn.TransformerEncoderLayer)  # the class it is registered for
    attention = module.self_attn
    return _attention(site, "d_model", "nhead", attention.embed_dim, attention.num_heads)
