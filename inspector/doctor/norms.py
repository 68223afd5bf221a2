"""The doctor's rules for normalization layers: BatchNorm's channels and rank, GroupNorm, LayerNorm.

Each rule is a pure reading of the failing module's attributes and the shapes it saw; it returns
None when its layer has nothing wrong, so it can also check what the meta device lets through.
"""

from __future__ import annotations

from torch import nn

from inspector.core.messages import NONE, msg
from inspector.doctor.fixes import Fix, insert_layer, remove_layer, set_args
from inspector.doctor.registry import FailureSite, Finding, diagnoses
from inspector.doctor.sources import CHANNEL_PASS, CHANNEL_SOURCES, FEATURE_SOURCES, largest_divisor, source_fix
from inspector.doctor.wording import either, set_text, shape_text, wrong_rank
from inspector.layers.specs import BY_CLASS

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
    assert isinstance(module, nn.modules.batchnorm._BatchNorm)  # the class it is registered for
    kind, wanted = type(module).__name__, module.num_features
    layouts = [layout.format(C=wanted) for layout in _NORM_LAYOUTS[type(module)].values()]
    takes = either(*layouts) if len(layouts) == 2 else layouts[0]
    if len(shape) not in _NORM_LAYOUTS[type(module)]:
        replacement = _NORM_FOR_RANK.get(len(shape))
        replace: tuple[Fix, ...] = ()
        if replacement is not None:
            name = BY_CLASS[replacement].name
            replace = (
                Fix(
                    msg("doctor.fix.replace_norm", layer=name, channels=shape[1], rank=len(shape)),
                    (remove_layer(index), insert_layer(index, name, num_features=shape[1])),
                    f"nn.{name}({shape[1]})",
                ),
            )
        return Finding(wrong_rank(kind, takes, shape), takes, replace)
    if shape[1] == wanted:
        return None
    fixes = [
        Fix(set_text(f"num_features={shape[1]}"), (set_args(index, num_features=shape[1]),), f"nn.{kind}({shape[1]})")
    ]
    fixes += [fix for fix in (source_fix(site, wanted, {**FEATURE_SOURCES, **CHANNEL_SOURCES}, CHANNEL_PASS),) if fix]
    reason = msg(
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
    assert isinstance(module, nn.GroupNorm)  # the class it is registered for
    wanted = module.num_channels
    takes = f"(N, {wanted}, *)"
    if len(shape) < 2 or shape[1] == wanted:
        return None
    channels = shape[1]
    groups = largest_divisor(channels, module.num_groups)
    also = NONE if groups == module.num_groups else msg("doctor.groupnorm.also", groups=groups)
    args = {"num_channels": channels, **({"num_groups": groups} if also else {})}
    fixes = [Fix(set_text(f"num_channels={channels}", also), (set_args(index, **args),))]
    fixes += [fix for fix in (source_fix(site, wanted, CHANNEL_SOURCES, CHANNEL_PASS),) if fix]
    reason = msg("doctor.groupnorm.reason", wanted=wanted, takes=takes, shape=shape_text(shape), channels=channels)
    return Finding(reason, takes, tuple(fixes))


@diagnoses(nn.LayerNorm)
def _layernorm(site: FailureSite) -> Finding | None:
    module, shape = site.module, site.input_shape
    assert isinstance(module, nn.LayerNorm)  # the class it is registered for
    wanted = tuple(module.normalized_shape)
    trailing = tuple(shape[-len(wanted) :])
    takes = f"(*, {', '.join(str(d) for d in wanted)})"
    if trailing == wanted or len(shape) < len(wanted):
        return None
    reason = msg(
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
