"""Where a size comes from: the earlier layer whose argument sets what the failing layer receives.

A fix there (`out_features`, `out_channels`, `embedding_dim`) keeps the failing layer as written and
changes what feeds it instead, through the layers that pass the size on unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import nn

from inspector.core.messages import msg
from inspector.doctor.fixes import Edit, Fix, set_args
from inspector.doctor.registry import FailureSite, PreviousLayer
from inspector.layers.args import arg_int
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
    follower_edits: list[Edit] = []
    for previous in reversed(site.previous):
        cls = previous.layer_class
        if cls in sources:
            arg, groups = sources[cls], arg_int(previous.args, "groups") if "groups" in previous.args else 1
            if wanted % groups:
                return None
            name = BY_CLASS[cls].name
            return Fix(
                msg("doctor.fix.source", arg=arg, value=wanted, index=previous.index, layer=name),
                (set_args(previous.index, **{arg: wanted}), *follower_edits),
            )
        if cls in _FOLLOWERS:
            if cls is nn.GroupNorm and wanted % arg_int(previous.args, "num_groups"):
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
