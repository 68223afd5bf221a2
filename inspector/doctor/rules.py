"""The doctor's rules for feature layers: Linear, normalization, Embedding, recurrent, attention, Flatten.

Each rule is a pure reading of the failing module's attributes and the shapes it saw; it returns
None when its layer has nothing wrong, so it can also check what the meta device lets through.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from torch import nn

from inspector.core.dtypes import DType
from inspector.core.messages import NONE, Message
from inspector.core.shapes import format_shape_tree
from inspector.doctor.fixes import Fix, insert_layer, remove_layer, set_args, set_input
from inspector.doctor.registry import FailureSite, Finding, PreviousLayer, at_network_input, diagnoses
from inspector.layers.specs import BY_CLASS, Family

# Which argument of an earlier layer sets the last dimension (features) or dimension 1 (channels)
# that the failing layer receives, and which layers pass it on unchanged.
FEATURE_SOURCES: dict[type[nn.Module], str] = {
    nn.Linear: "out_features",
    nn.Bilinear: "out_features",
    nn.Embedding: "embedding_dim",
}
CHANNEL_SOURCES: dict[type[nn.Module], str] = {
    cls: "out_channels" for cls in (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d)
}
_FOLLOWERS: dict[type[nn.Module], str] = {
    nn.BatchNorm1d: "num_features",
    nn.BatchNorm2d: "num_features",
    nn.GroupNorm: "num_channels",
}
FEATURE_PASS = frozenset({Family.ACTIVATION})
CHANNEL_PASS = frozenset({Family.ACTIVATION, Family.POOL})


def shape_text(shape: tuple[int, ...] | list[int]) -> str:
    """Return a shape as '(1, 9216)'."""
    return format_shape_tree(list(shape))


def dims_text(dims: tuple[int, ...]) -> str:
    """Return '256·6·6' for (256, 6, 6)."""
    return "·".join(str(d) for d in dims)


def product_text(dims: tuple[int, ...]) -> str:
    """Return '256·6·6 = 9216' for (256, 6, 6)."""
    return f"{dims_text(dims)} = {math.prod(dims)}"


def after(index: int | None, offset: int = 1) -> int | None:
    """Return the position `offset` places on, or None outside a spec."""
    return None if index is None else index + offset


def largest_divisor(value: int, at_most: int) -> int:
    """Return the largest divisor of `value` that is ≤ `at_most` (for groups and heads)."""
    return next(d for d in range(min(value, at_most), 0, -1) if value % d == 0)


def source_fix(
    site: FailureSite, wanted: int, sources: Mapping[type[nn.Module], str], passing: frozenset[Family]
) -> Fix | None:
    """Return the fix that makes the earlier layer that sets this size give `wanted` instead.

    Walks back through layers that pass the size on (activations, and pooling for channels);
    batch and group norms on the way are changed too, so the whole path agrees.
    """
    follower_edits = []
    for previous in reversed(site.previous):
        cls = previous.layer_class
        if cls in sources:
            arg, groups = sources[cls], int(previous.args.get("groups", 1) or 1)
            if wanted % groups:
                return None
            name = BY_CLASS[cls].name
            return Fix(
                Message(
                    f"set {arg}={wanted} on layer {previous.index} ({name}), so it gives what this layer takes",
                    "doctor.fix.source",
                    arg=arg,
                    value=wanted,
                    index=previous.index,
                    layer=name,
                ),
                (set_args(previous.index, **{arg: wanted}), *follower_edits),
            )
        if cls in _FOLLOWERS:
            if cls is nn.GroupNorm and wanted % int(previous.args["num_groups"]):
                return None
            follower_edits.append(set_args(previous.index, **{_FOLLOWERS[cls]: wanted}))
            continue
        spec = BY_CLASS.get(cls)
        if spec is None or spec.family not in passing:
            return None
    return None


def set_text(setting: str, also: str = NONE) -> Message:
    """Return the fix text 'set in_features=9216' (+ `also`, a Message saying what else changes)."""
    return Message(f"set {setting}{also}", "doctor.fix.set", setting=setting, also=also)


def either(first: str, second: str) -> Message:
    """Return '(N, 4) or (N, 4, L)': two layouts a layer takes."""
    return Message(f"{first} or {second}", "doctor.or", first=first, second=second)


def wrong_rank(kind: str, takes: str, shape: tuple[int, ...]) -> Message:
    """Return the reason for an input with a number of dimensions the layer does not take."""
    return Message(
        f"{kind} takes {takes}, but the input {shape_text(shape)} has {len(shape)} dimensions",
        "doctor.wrong_rank",
        kind=kind,
        takes=takes,
        shape=shape_text(shape),
        rank=len(shape),
    )


def feeding(site: FailureSite, cls: type[nn.Module], passing: frozenset[Family]) -> PreviousLayer | None:
    """Return the nearest earlier layer of class `cls`, reached through layers of the `passing` families."""
    for previous in reversed(site.previous):
        if previous.layer_class is cls:
            return previous
        spec = BY_CLASS.get(previous.layer_class)
        if spec is None or spec.family not in passing:
            return None
    return None


@diagnoses(nn.Linear)
def _linear(site: FailureSite) -> Finding | None:
    module, shape, index = site.module, site.input_shape, site.index
    last, wanted = shape[-1], module.in_features
    if last == wanted:
        return None
    takes = f"(*, {wanted})"
    weight = Message(
        f"its weight is ({module.out_features}, {wanted})",
        "doctor.linear.weight",
        out_features=module.out_features,
        in_features=wanted,
    )
    if len(shape) >= 3:
        return _missing_flatten(site, weight, takes)
    flatten = feeding(site, nn.Flatten, FEATURE_PASS)
    flat_dims = flatten.input_shape[1:] if flatten and len(flatten.input_shape) > 2 else None
    made = NONE
    if flat_dims:
        made = Message(
            f": Flatten makes {shape_text(flatten.input_shape)} into {product_text(flat_dims)} features",
            "doctor.linear.flatten_makes",
            input=shape_text(flatten.input_shape),
            product=product_text(flat_dims),
        )
    why = f" (= {dims_text(flat_dims)})" if flat_dims else ""
    fixes = [
        Fix(
            set_text(f"in_features={last}{why}"),
            (set_args(index, in_features=last),),
            f"nn.Linear({last}, {module.out_features})",
        )
    ]
    fixes += [
        fix
        for fix in (source_fix(site, wanted, FEATURE_SOURCES, FEATURE_PASS), _pool_fix(site, flatten, wanted))
        if fix
    ]
    reason = Message(
        f"Linear takes {takes} ({weight}), but gets {shape_text(shape)}{made}",
        "doctor.linear.reason",
        takes=takes,
        weight=weight,
        shape=shape_text(shape),
        flatten=made,
    )
    return Finding(reason, takes, tuple(fixes))


def _missing_flatten(site: FailureSite, weight: Message, takes: str) -> Finding:
    module, shape, index = site.module, site.input_shape, site.index
    flat = math.prod(shape[1:])
    also = NONE
    if flat != module.in_features:
        also = Message(
            f" and set in_features={flat} (= {dims_text(shape[1:])})",
            "doctor.linear.also_in_features",
            value=flat,
            dims=dims_text(shape[1:]),
        )
    edits = (insert_layer(index, "Flatten"), *((set_args(after(index), in_features=flat),) if also else ()))
    kept = shape_text((*shape[:-1], module.out_features))
    reason = Message(
        f"Linear takes {takes} and works on the last dimension only ({weight}), but gets {shape_text(shape)}: it "
        f"ends in {shape[-1]} and still has its {len(shape) - 1} feature dimensions, so a Flatten is missing before it",
        "doctor.linear.missing_flatten",
        takes=takes,
        weight=weight,
        shape=shape_text(shape),
        last=shape[-1],
        dims=len(shape) - 1,
    )
    return Finding(
        reason,
        takes,
        (
            Fix(
                Message(f"insert nn.Flatten() before it{also}", "doctor.fix.insert_flatten", also=also),
                edits,
                "nn.Flatten()",
            ),
            Fix(
                Message(
                    f"set in_features={shape[-1]} to apply it to the last dimension alone (the output is {kept})",
                    "doctor.fix.last_dim_only",
                    value=shape[-1],
                    output=kept,
                ),
                (set_args(index, in_features=shape[-1]),),
            ),
        ),
    )


def _pool_fix(site: FailureSite, flatten: PreviousLayer | None, wanted: int) -> Fix | None:
    """Return the fix that pools the feature map to C·s·s = `wanted` before Flatten, where one exists."""
    if flatten is None or len(flatten.input_shape) != 4 or flatten.args.get("start_dim") != 1:
        return None
    channels = flatten.input_shape[1]
    side = math.isqrt(wanted // channels)
    if wanted % channels or side * side != wanted // channels:
        return None
    before = next((p for p in site.previous if p.index == flatten.index - 1), None)
    size = (side, side)
    if before is not None and before.layer_class is nn.AdaptiveAvgPool2d:
        edit = set_args(before.index, output_size=size)
    else:
        edit = insert_layer(flatten.index, "AdaptiveAvgPool2d", output_size=size)
    text = Message(
        f"pool to {side}×{side} before Flatten: AdaptiveAvgPool2d({size}) gives "
        f"{channels}·{side}·{side} = {wanted} features",
        "doctor.fix.pool_before_flatten",
        side=side,
        size=str(size),
        channels=channels,
        features=wanted,
    )
    return Fix(text, (edit,), f"nn.AdaptiveAvgPool2d({size})")


# The layouts each batch norm takes, by rank; C is num_features.
_NORM_LAYOUTS: dict[type[nn.Module], dict[int, str]] = {
    nn.BatchNorm1d: {2: "(N, {C})", 3: "(N, {C}, L)"},
    nn.BatchNorm2d: {4: "(N, {C}, H, W)"},
    nn.BatchNorm3d: {5: "(N, {C}, D, H, W)"},
}
_NORM_FOR_RANK: dict[int, type[nn.Module]] = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d}


@diagnoses(nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
def _batchnorm(site: FailureSite) -> Finding | None:
    module, shape, index = site.module, site.input_shape, site.index
    kind, wanted = type(module).__name__, module.num_features
    layouts = [layout.format(C=wanted) for layout in _NORM_LAYOUTS[type(module)].values()]
    takes = either(*layouts) if len(layouts) == 2 else layouts[0]
    if len(shape) not in _NORM_LAYOUTS[type(module)]:
        replacement = _NORM_FOR_RANK.get(len(shape))
        fixes = ()
        if replacement is not None:
            name = BY_CLASS[replacement].name
            fixes = (
                Fix(
                    Message(
                        f"replace it with nn.{name}({shape[1]}), made for {len(shape)}-D input",
                        "doctor.fix.replace_norm",
                        layer=name,
                        channels=shape[1],
                        rank=len(shape),
                    ),
                    (remove_layer(index), insert_layer(index, name, num_features=shape[1])),
                    f"nn.{name}({shape[1]})",
                ),
            )
        return Finding(wrong_rank(kind, takes, shape), takes, fixes)
    if shape[1] == wanted:
        return None
    fixes = [
        Fix(set_text(f"num_features={shape[1]}"), (set_args(index, num_features=shape[1]),), f"nn.{kind}({shape[1]})")
    ]
    fixes += [fix for fix in (source_fix(site, wanted, {**FEATURE_SOURCES, **CHANNEL_SOURCES}, CHANNEL_PASS),) if fix]
    reason = Message(
        f"{kind} keeps statistics for num_features={wanted} channels, so it takes {takes}; the input "
        f"{shape_text(shape)} has {shape[1]} channels (dimension 1)",
        "doctor.batchnorm.channels",
        kind=kind,
        wanted=wanted,
        takes=takes,
        shape=shape_text(shape),
        channels=shape[1],
    )
    return Finding(reason, takes, tuple(fixes))


@diagnoses(nn.GroupNorm)
def _groupnorm(site: FailureSite) -> Finding | None:
    module, shape, index = site.module, site.input_shape, site.index
    wanted = module.num_channels
    takes = f"(N, {wanted}, *)"
    if len(shape) < 2 or shape[1] == wanted:
        return None
    channels = shape[1]
    groups = largest_divisor(channels, module.num_groups)
    also = NONE
    if groups != module.num_groups:
        also = Message(
            f" and num_groups={groups} (it must divide the channels)", "doctor.groupnorm.also", groups=groups
        )
    args = {"num_channels": channels, **({"num_groups": groups} if also else {})}
    fixes = [Fix(set_text(f"num_channels={channels}", also), (set_args(index, **args),))]
    fixes += [fix for fix in (source_fix(site, wanted, CHANNEL_SOURCES, CHANNEL_PASS),) if fix]
    reason = Message(
        f"GroupNorm has weights for num_channels={wanted}, so it takes {takes}; the input "
        f"{shape_text(shape)} has {channels} channels (dimension 1)",
        "doctor.groupnorm.reason",
        wanted=wanted,
        takes=takes,
        shape=shape_text(shape),
        channels=channels,
    )
    return Finding(reason, takes, tuple(fixes))


@diagnoses(nn.LayerNorm)
def _layernorm(site: FailureSite) -> Finding | None:
    module, shape = site.module, site.input_shape
    wanted = tuple(module.normalized_shape)
    trailing = tuple(shape[-len(wanted) :])
    takes = f"(*, {', '.join(str(d) for d in wanted)})"
    if trailing == wanted or len(shape) < len(wanted):
        return None
    reason = Message(
        f"LayerNorm normalizes the last {len(wanted)} dimension(s), normalized_shape={wanted}, so it takes {takes}; "
        f"the input {shape_text(shape)} ends in {trailing}",
        "doctor.layernorm.reason",
        dims=len(wanted),
        wanted=str(wanted),
        takes=takes,
        shape=shape_text(shape),
        trailing=str(trailing),
    )
    return Finding(
        reason,
        takes,
        (Fix(set_text(f"normalized_shape={trailing}"), (set_args(site.index, normalized_shape=trailing),)),),
    )


@diagnoses(nn.Embedding)
def _embedding(site: FailureSite) -> Finding | None:
    module, shape = site.module, site.input_shape
    takes = f"{shape_text(shape)} of int64 token ids below num_embeddings={module.num_embeddings}"
    if site.input_dtype is None:  # a user's model: the dtype is not known here
        return Finding(
            Message(
                f"Embedding takes integer token ids (dtype int64) below num_embeddings={module.num_embeddings}",
                "doctor.embedding.ids",
                num_embeddings=module.num_embeddings,
            ),
            takes,
        )
    if not site.input_dtype.is_floating_point:
        return None
    reason = Message(
        f"Embedding looks up rows of its ({module.num_embeddings}, {module.embedding_dim}) table by "
        f"integer token id, but the input {shape_text(shape)} holds {site.input_dtype} numbers",
        "doctor.embedding.floats",
        num_embeddings=module.num_embeddings,
        embedding_dim=module.embedding_dim,
        shape=shape_text(shape),
        dtype=str(site.input_dtype),
    )
    if not at_network_input(site):
        return Finding(
            Message(f"{reason}: an Embedding comes first, on the token ids", "doctor.embedding.first", reason=reason),
            takes,
        )
    fix = Fix(
        Message("feed token ids: X = X.long() (int64)", "doctor.fix.long"),
        (set_input(dtype=DType.INT64.value),),
        "X = X.long()",
    )
    return Finding(reason, takes, (fix,))


@diagnoses(nn.RNN, nn.LSTM, nn.GRU)
def _recurrent(site: FailureSite) -> Finding | None:
    module, shape, index = site.module, site.input_shape, site.index
    kind, wanted = type(module).__name__, module.input_size
    layout = "(N, L, H_in)" if module.batch_first else "(L, N, H_in)"
    batched = layout.replace("H_in", str(wanted))
    takes = Message(f"{batched} or unbatched (L, {wanted})", "doctor.recurrent.takes", layout=batched, size=wanted)
    if len(shape) not in (2, 3):
        return Finding(wrong_rank(kind, takes, shape), takes)
    if shape[-1] == wanted:
        return None
    fixes = [Fix(set_text(f"input_size={shape[-1]}"), (set_args(index, input_size=shape[-1]),))]
    fixes += [fix for fix in (source_fix(site, wanted, FEATURE_SOURCES, FEATURE_PASS),) if fix]
    reason = Message(
        f"{kind} reads input_size={wanted} features per time step, so it takes {takes}; the input "
        f"{shape_text(shape)} has {shape[-1]}",
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
        also = Message(
            f" and {heads_arg}={new_heads} (it must divide {width_arg})",
            "doctor.attention.also",
            heads_arg=heads_arg,
            heads=new_heads,
            width_arg=width_arg,
        )
    reason = Message(
        f"{kind} projects {width_arg}={width} features, so it takes {takes}; the input "
        f"{shape_text(shape)} has {shape[-1]}",
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
    return _attention(site, "embed_dim", "num_heads", site.module.embed_dim, site.module.num_heads)


@diagnoses(nn.TransformerEncoderLayer)
def _encoder(site: FailureSite) -> Finding | None:
    attention = site.module.self_attn
    return _attention(site, "d_model", "nhead", attention.embed_dim, attention.num_heads)


@diagnoses(nn.Bilinear)
def _bilinear(site: FailureSite) -> Finding | None:
    module, shape = site.module, site.input_shape
    if shape[-1] == module.in1_features == module.in2_features:
        return None
    takes = Message(
        f"x₁ (*, {module.in1_features}) and x₂ (*, {module.in2_features}); the builder feeds x to both",
        "doctor.bilinear.takes",
        in1=module.in1_features,
        in2=module.in2_features,
    )
    return Finding(
        Message(
            f"Bilinear takes {takes}, but x is {shape_text(shape)}",
            "doctor.bilinear.reason",
            takes=takes,
            shape=shape_text(shape),
        ),
        takes,
        (
            Fix(
                Message(
                    f"set in1_features={shape[-1]} and in2_features={shape[-1]}", "doctor.fix.bilinear", value=shape[-1]
                ),
                (set_args(site.index, in1_features=shape[-1], in2_features=shape[-1]),),
            ),
        ),
    )


@diagnoses(nn.Flatten)
def _flatten(site: FailureSite) -> Finding | None:
    module, shape = site.module, site.input_shape
    rank = len(shape)
    if -rank <= module.start_dim < rank and -rank <= module.end_dim < rank:
        return None
    least = max(module.start_dim, module.end_dim) + 1
    takes = Message(f"at least {least} dimensions", "doctor.flatten.takes", dims=least)
    fixes = [
        Fix(
            Message("set start_dim=0 (there is no batch dimension to keep)", "doctor.fix.start_dim"),
            (set_args(site.index, start_dim=0),),
        )
    ]
    if at_network_input(site):
        batched = shape_text((1, *shape))
        fixes.insert(
            0,
            Fix(
                Message(
                    f"add the batch dimension: X.unsqueeze(0) gives {batched}",
                    "doctor.fix.unsqueeze_batch",
                    shape=batched,
                ),
                (set_input((1, *shape)),),
                "X = X.unsqueeze(0)",
            ),
        )
    reason = Message(
        f"Flatten(start_dim={module.start_dim}, end_dim={module.end_dim}) needs {takes}, but the input "
        f"{shape_text(shape)} has {rank}",
        "doctor.flatten.reason",
        start_dim=module.start_dim,
        end_dim=module.end_dim,
        takes=takes,
        shape=shape_text(shape),
        rank=rank,
    )
    return Finding(reason, takes, tuple(fixes))
