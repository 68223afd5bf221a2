"""The doctor's rules for feature layers: Linear, normalization, Embedding, recurrent, attention, Flatten.

Each rule is a pure reading of the failing module's attributes and the shapes it saw; it returns
None when its layer has nothing wrong, so it can also check what the meta device lets through.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from torch import nn

from inspector.doctor_registry import FailureSite, Finding, PreviousLayer, at_network_input, diagnoses
from inspector.dtypes import DType
from inspector.fixes import Fix, insert_layer, remove_layer, set_args, set_input
from inspector.layer_specs import BY_CLASS, Family
from inspector.shapes import format_shape_tree

# Which argument of an earlier layer sets the last dimension (features) or dimension 1 (channels)
# that the failing layer receives, and which layers pass it on unchanged.
FEATURE_SOURCES: dict[type[nn.Module], str] = {nn.Linear: "out_features", nn.Bilinear: "out_features",
                                               nn.Embedding: "embedding_dim"}
CHANNEL_SOURCES: dict[type[nn.Module], str] = {
    cls: "out_channels"
    for cls in (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d)
}
_FOLLOWERS: dict[type[nn.Module], str] = {nn.BatchNorm1d: "num_features", nn.BatchNorm2d: "num_features",
                                          nn.GroupNorm: "num_channels"}
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


def source_fix(site: FailureSite, wanted: int, sources: Mapping[type[nn.Module], str],
               passing: frozenset[Family]) -> Fix | None:
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
                f"set {arg}={wanted} on layer {previous.index} ({name}), so it gives what this layer takes",
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
    weight = f"its weight is ({module.out_features}, {wanted})"
    if len(shape) >= 3:
        return _missing_flatten(site, weight, takes)
    flatten = feeding(site, nn.Flatten, FEATURE_PASS)
    flat_dims = flatten.input_shape[1:] if flatten and len(flatten.input_shape) > 2 else None
    made = ""
    if flat_dims:
        made = f": Flatten makes {shape_text(flatten.input_shape)} into {product_text(flat_dims)} features"
    why = f" (= {dims_text(flat_dims)})" if flat_dims else ""
    fixes = [Fix(f"set in_features={last}{why}", (set_args(index, in_features=last),),
                 f"nn.Linear({last}, {module.out_features})")]
    fixes += [fix for fix in (source_fix(site, wanted, FEATURE_SOURCES, FEATURE_PASS), _pool_fix(site, flatten, wanted))
              if fix]
    return Finding(f"Linear takes {takes} ({weight}), but gets {shape_text(shape)}{made}", takes, tuple(fixes))


def _missing_flatten(site: FailureSite, weight: str, takes: str) -> Finding:
    module, shape, index = site.module, site.input_shape, site.index
    flat = math.prod(shape[1:])
    also = f" and set in_features={flat} (= {dims_text(shape[1:])})" if flat != module.in_features else ""
    edits = (insert_layer(index, "Flatten"), *((set_args(after(index), in_features=flat),) if also else ()))
    kept = shape_text((*shape[:-1], module.out_features))
    return Finding(
        f"Linear takes {takes} and works on the last dimension only ({weight}), but gets {shape_text(shape)}: it "
        f"ends in {shape[-1]} and still has its {len(shape) - 1} feature dimensions, so a Flatten is missing before it",
        takes,
        (Fix(f"insert nn.Flatten() before it{also}", edits, "nn.Flatten()"),
         Fix(f"set in_features={shape[-1]} to apply it to the last dimension alone (the output is {kept})",
             (set_args(index, in_features=shape[-1]),))),
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
    return Fix(f"pool to {side}×{side} before Flatten: AdaptiveAvgPool2d({size}) gives {channels}·{side}·{side} = "
               f"{wanted} features", (edit,), f"nn.AdaptiveAvgPool2d({size})")


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
    layouts = _NORM_LAYOUTS[type(module)]
    takes = " or ".join(layout.format(C=wanted) for layout in layouts.values())
    if len(shape) not in layouts:
        replacement = _NORM_FOR_RANK.get(len(shape))
        fixes = ()
        if replacement is not None:
            name = BY_CLASS[replacement].name
            fixes = (Fix(f"replace it with nn.{name}({shape[1]}), made for {len(shape)}-D input",
                         (remove_layer(index), insert_layer(index, name, num_features=shape[1])),
                         f"nn.{name}({shape[1]})"),)
        return Finding(f"{kind} takes {takes}, but the input {shape_text(shape)} has {len(shape)} dimensions",
                       takes, fixes)
    if shape[1] == wanted:
        return None
    fixes = [Fix(f"set num_features={shape[1]}", (set_args(index, num_features=shape[1]),), f"nn.{kind}({shape[1]})")]
    fixes += [fix for fix in (source_fix(site, wanted, {**FEATURE_SOURCES, **CHANNEL_SOURCES}, CHANNEL_PASS),) if fix]
    return Finding(f"{kind} keeps statistics for num_features={wanted} channels, so it takes {takes}; the input "
                   f"{shape_text(shape)} has {shape[1]} channels (dimension 1)", takes, tuple(fixes))


@diagnoses(nn.GroupNorm)
def _groupnorm(site: FailureSite) -> Finding | None:
    module, shape, index = site.module, site.input_shape, site.index
    wanted = module.num_channels
    takes = f"(N, {wanted}, *)"
    if len(shape) < 2 or shape[1] == wanted:
        return None
    channels = shape[1]
    groups = largest_divisor(channels, module.num_groups)
    also = f" and num_groups={groups} (it must divide the channels)" if groups != module.num_groups else ""
    args = {"num_channels": channels, **({"num_groups": groups} if also else {})}
    fixes = [Fix(f"set num_channels={channels}{also}", (set_args(index, **args),))]
    fixes += [fix for fix in (source_fix(site, wanted, CHANNEL_SOURCES, CHANNEL_PASS),) if fix]
    return Finding(f"GroupNorm has weights for num_channels={wanted}, so it takes {takes}; the input "
                   f"{shape_text(shape)} has {channels} channels (dimension 1)", takes, tuple(fixes))


@diagnoses(nn.LayerNorm)
def _layernorm(site: FailureSite) -> Finding | None:
    module, shape = site.module, site.input_shape
    wanted = tuple(module.normalized_shape)
    trailing = tuple(shape[-len(wanted):])
    takes = f"(*, {', '.join(str(d) for d in wanted)})"
    if trailing == wanted or len(shape) < len(wanted):
        return None
    return Finding(
        f"LayerNorm normalizes the last {len(wanted)} dimension(s), normalized_shape={wanted}, so it takes {takes}; "
        f"the input {shape_text(shape)} ends in {trailing}",
        takes,
        (Fix(f"set normalized_shape={trailing}", (set_args(site.index, normalized_shape=trailing),)),),
    )


@diagnoses(nn.Embedding)
def _embedding(site: FailureSite) -> Finding | None:
    module, shape = site.module, site.input_shape
    takes = f"{shape_text(shape)} of int64 token ids below num_embeddings={module.num_embeddings}"
    if site.input_dtype is None:  # a user's model: the dtype is not known here
        return Finding(f"Embedding takes integer token ids (dtype int64) below num_embeddings={module.num_embeddings}",
                       takes)
    if not site.input_dtype.is_floating_point:
        return None
    reason = (f"Embedding looks up rows of its ({module.num_embeddings}, {module.embedding_dim}) table by integer "
              f"token id, but the input {shape_text(shape)} holds {site.input_dtype} numbers")
    if not at_network_input(site):
        return Finding(f"{reason}: an Embedding comes first, on the token ids", takes)
    fix = Fix("feed token ids: X = X.long() (int64)", (set_input(dtype=DType.INT64.value),), "X = X.long()")
    return Finding(reason, takes, (fix,))


@diagnoses(nn.RNN, nn.LSTM, nn.GRU)
def _recurrent(site: FailureSite) -> Finding | None:
    module, shape, index = site.module, site.input_shape, site.index
    kind, wanted = type(module).__name__, module.input_size
    layout = "(N, L, H_in)" if module.batch_first else "(L, N, H_in)"
    takes = f"{layout.replace('H_in', str(wanted))} or unbatched (L, {wanted})"
    if len(shape) not in (2, 3):
        return Finding(f"{kind} takes {takes}, but the input {shape_text(shape)} has {len(shape)} dimensions", takes)
    if shape[-1] == wanted:
        return None
    fixes = [Fix(f"set input_size={shape[-1]}", (set_args(index, input_size=shape[-1]),))]
    fixes += [fix for fix in (source_fix(site, wanted, FEATURE_SOURCES, FEATURE_PASS),) if fix]
    return Finding(f"{kind} reads input_size={wanted} features per time step, so it takes {takes}; the input "
                   f"{shape_text(shape)} has {shape[-1]}", takes, tuple(fixes))


def _attention(site: FailureSite, width_arg: str, heads_arg: str, width: int, heads: int) -> Finding | None:
    shape, kind = site.input_shape, type(site.module).__name__
    takes = f"(L, N, {width}) or (N, L, {width})"
    if shape[-1] == width:
        return None
    new_heads = largest_divisor(shape[-1], heads)
    args = {width_arg: shape[-1], **({heads_arg: new_heads} if new_heads != heads else {})}
    also = f" and {heads_arg}={new_heads} (it must divide {width_arg})" if new_heads != heads else ""
    return Finding(f"{kind} projects {width_arg}={width} features, so it takes {takes}; the input "
                   f"{shape_text(shape)} has {shape[-1]}", takes,
                   (Fix(f"set {width_arg}={shape[-1]}{also}", (set_args(site.index, **args),)),))


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
    takes = f"x₁ (*, {module.in1_features}) and x₂ (*, {module.in2_features}); the builder feeds x to both"
    return Finding(f"Bilinear takes {takes}, but x is {shape_text(shape)}", takes,
                   (Fix(f"set in1_features={shape[-1]} and in2_features={shape[-1]}",
                        (set_args(site.index, in1_features=shape[-1], in2_features=shape[-1]),)),))


@diagnoses(nn.Flatten)
def _flatten(site: FailureSite) -> Finding | None:
    module, shape = site.module, site.input_shape
    rank = len(shape)
    if -rank <= module.start_dim < rank and -rank <= module.end_dim < rank:
        return None
    takes = f"at least {max(module.start_dim, module.end_dim) + 1} dimensions"
    fixes = [Fix("set start_dim=0 (there is no batch dimension to keep)", (set_args(site.index, start_dim=0),))]
    if at_network_input(site):
        fixes.insert(0, Fix(f"add the batch dimension: X.unsqueeze(0) gives {shape_text((1, *shape))}",
                            (set_input((1, *shape)),), "X = X.unsqueeze(0)"))
    return Finding(f"Flatten(start_dim={module.start_dim}, end_dim={module.end_dim}) needs {takes}, but the input "
                   f"{shape_text(shape)} has {rank}", takes, tuple(fixes))
