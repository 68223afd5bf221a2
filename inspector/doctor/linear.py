"""The doctor's rules for layers that read the last dimension as features: Linear, Bilinear, and Flatten,
which makes those features.

Each rule is a pure reading of the failing module's attributes and the shapes it saw; it returns
None when its layer has nothing wrong, so it can also check what the meta device lets through.
"""

from __future__ import annotations

import math

from torch import nn

from inspector.core.messages import NONE, Message, msg
from inspector.doctor.fixes import Fix, insert_layer, set_args, set_input
from inspector.doctor.registry import FailureSite, Finding, PreviousLayer, at_network_input, diagnoses
from inspector.doctor.sources import FEATURE_PASS, FEATURE_SOURCES, after, feeding, source_fix
from inspector.doctor.spatial import padding_keeps_fix
from inspector.doctor.wording import dims_text, product_text, set_text, shape_text


@diagnoses(nn.Linear)
def _linear(site: FailureSite) -> Finding | None:
    module, shape, index = site.module, site.input_shape, site.index
    assert isinstance(module, nn.Linear)  # the class it is registered for
    last, wanted = shape[-1], module.in_features
    if last == wanted:
        return None
    takes = f"(*, {wanted})"
    weight = msg("doctor.linear.weight", out_features=module.out_features, in_features=wanted)
    if len(shape) >= 3:
        return _missing_flatten(site, weight, takes)
    flatten = feeding(site, nn.Flatten, FEATURE_PASS)
    flat_dims = flatten.input_shape[1:] if flatten and len(flatten.input_shape) > 2 else None
    made = NONE
    if flatten and flat_dims:
        made = msg(
            "doctor.linear.flatten_makes", input=shape_text(flatten.input_shape), product=product_text(flat_dims)
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
    if flatten and (padding_fix := padding_keeps_fix(site, flatten.index, wanted)):
        fixes.insert(0, padding_fix)  # a new conv without padding=1 is the first thing to suspect
    reason = msg("doctor.linear.reason", takes=takes, weight=weight, shape=shape_text(shape), flatten=made)
    return Finding(reason, takes, tuple(fixes))


def _missing_flatten(site: FailureSite, weight: Message, takes: str) -> Finding:
    module, shape, index = site.module, site.input_shape, site.index
    assert isinstance(module, nn.Linear)
    flat = math.prod(shape[1:])
    also = NONE
    if flat != module.in_features:
        also = msg("doctor.linear.also_in_features", value=flat, dims=dims_text(shape[1:]))
    edits = (insert_layer(index, "Flatten"), *((set_args(after(index), in_features=flat),) if also else ()))
    kept = shape_text((*shape[:-1], module.out_features))
    reason = msg(
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
            Fix(msg("doctor.fix.insert_flatten", also=also), edits, "nn.Flatten()"),
            Fix(
                msg("doctor.fix.last_dim_only", value=shape[-1], output=kept),
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
    text = msg("doctor.fix.pool_before_flatten", side=side, size=str(size), channels=channels, features=wanted)
    return Fix(text, (edit,), f"nn.AdaptiveAvgPool2d({size})")


@diagnoses(nn.Bilinear)
def _bilinear(site: FailureSite) -> Finding | None:
    module, shape = site.module, site.input_shape
    if shape[-1] == module.in1_features == module.in2_features:
        return None
    takes = msg("doctor.bilinear.takes", in1=module.in1_features, in2=module.in2_features)
    return Finding(
        msg("doctor.bilinear.reason", takes=takes, shape=shape_text(shape)),
        takes,
        (
            Fix(
                msg("doctor.fix.bilinear", value=shape[-1]),
                (set_args(site.index, in1_features=shape[-1], in2_features=shape[-1]),),
            ),
        ),
    )


@diagnoses(nn.Flatten)
def _flatten(site: FailureSite) -> Finding | None:
    module, shape = site.module, site.input_shape
    assert isinstance(module, nn.Flatten)  # the class it is registered for
    rank = len(shape)
    if -rank <= module.start_dim < rank and -rank <= module.end_dim < rank:
        return None
    least = max(module.start_dim, module.end_dim) + 1
    takes = msg("doctor.flatten.takes", dims=least)
    fixes = [Fix(msg("doctor.fix.start_dim"), (set_args(site.index, start_dim=0),))]
    if at_network_input(site):
        batched = shape_text((1, *shape))
        fixes.insert(
            0, Fix(msg("doctor.fix.unsqueeze_batch", shape=batched), (set_input((1, *shape)),), "X = X.unsqueeze(0)")
        )
    reason = msg(
        "doctor.flatten.reason",
        start_dim=module.start_dim,
        end_dim=module.end_dim,
        takes=takes,
        shape=shape_text(shape),
        rank=rank,
    )
    return Finding(reason, takes, tuple(fixes))
