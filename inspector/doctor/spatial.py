"""The doctor's rules for spatial layers: missing batch/channel dimensions, channels, windows too large.

A convolution takes (N, C, *spatial) or, since PyTorch 1.11, an unbatched (C, *spatial). Padding
fixes come from `padding.same_padding` / `padding_for_target`, so their arithmetic is the one the
padding solver shows.
"""

from __future__ import annotations

import math

from torch import nn
from torch.nn.modules.conv import _ConvNd

from inspector.core.messages import NONE, msg
from inspector.doctor.fixes import Fix, insert_layer, remove_layer, set_args, set_input
from inspector.doctor.registry import FailureSite, Finding, at_network_input, diagnoses
from inspector.doctor.sources import CHANNEL_PASS, CHANNEL_SOURCES, source_fix
from inspector.doctor.wording import set_text, shape_text, wrong_rank
from inspector.layers.args import MAX_KERNEL, arg_size
from inspector.layers.checks import AXIS_LETTERS
from inspector.layers.padding import padding_for_target, same_padding

_CONVOLUTIONS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
_POOLS = (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d)


def _per_axis(value: int | tuple[int, ...] | list[int], ndim: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (int(value),) * ndim


def _one_or_tuple(values: tuple[int, ...]) -> int | tuple[int, ...]:
    return values[0] if len(set(values)) == 1 else values


def _spatial_layout(ndim: int) -> str:
    return ", ".join(f"{axis}_in" for axis in AXIS_LETTERS[ndim])


def _missing_dims(site: FailureSite, ndim: int) -> Finding | None:
    """Return why an input with too few or too many dimensions does not fit, and the view/unsqueeze fixes."""
    shape, kind = site.input_shape, type(site.module).__name__
    if ndim + 1 <= len(shape) <= ndim + 2:
        return None
    layout = _spatial_layout(ndim)
    takes = msg("doctor.spatial.takes", layout=layout)
    if len(shape) > ndim + 2:
        return Finding(wrong_rank(kind, takes, shape), takes)
    reason = msg("doctor.spatial.missing", kind=kind, takes=takes, shape=shape_text(shape), rank=len(shape))
    if not at_network_input(site) or len(shape) != ndim:
        return Finding(reason, takes, _unflatten_fixes(site, ndim))
    channels = getattr(site.module, "in_channels", 1)
    one_channel = (set_args(0, in_channels=1),) if channels != 1 else ()
    and_one = msg("doctor.spatial.one_channel") if one_channel else NONE
    batched, unbatched = shape_text((1, 1, *shape)), shape_text((1, *shape))
    fixes = (
        Fix(
            msg("doctor.fix.view_batch_channel", shape=batched, also=and_one),
            (set_input((1, 1, *shape)), *one_channel),
            "X = X.view((1, 1) + X.shape)",
        ),
        Fix(
            msg("doctor.fix.unsqueeze_channel", shape=unbatched, layout=layout, kind=kind, also=and_one),
            (set_input((1, *shape)), *one_channel),
            "X = X.unsqueeze(0)",
        ),
    )
    return Finding(reason, takes, fixes)


@diagnoses(*_CONVOLUTIONS)
def _convolution(site: FailureSite) -> Finding | None:
    assert isinstance(site.module, _ConvNd)  # the classes it is registered for
    ndim = len(site.module.kernel_size)
    return _missing_dims(site, ndim) or _channels(site, ndim) or _kernel_too_large(site, ndim)


def _channels(site: FailureSite, ndim: int) -> Finding | None:
    module, shape, index = site.module, site.input_shape, site.index
    assert isinstance(module, _ConvNd)
    kind, wanted, channels = type(module).__name__, module.in_channels, site.input_shape[-ndim - 1]
    if channels == wanted:
        return None
    weight = "×".join(str(d) for d in module.weight.shape)
    takes = f"(N, {wanted}, {_spatial_layout(ndim)})"
    regroup = {"groups": 1} if channels % module.groups else {}
    also = msg("doctor.conv.groups_also") if regroup else NONE
    fixes = [
        Fix(
            set_text(f"in_channels={channels}", also),
            (set_args(index, in_channels=channels, **regroup),),
            f"nn.{kind}({channels}, {module.out_channels}, …)",
        )
    ]
    fixes += [fix for fix in (source_fix(site, wanted, CHANNEL_SOURCES, CHANNEL_PASS),) if fix]
    reason = msg(
        "doctor.conv.channels",
        kind=kind,
        wanted=wanted,
        weight=weight,
        takes=takes,
        shape=shape_text(shape),
        channels=channels,
    )
    return Finding(reason, takes, tuple(fixes))


def _kernel_too_large(site: FailureSite, ndim: int) -> Finding | None:
    """Return the padding and kernel fixes when the (dilated) kernel is larger than the padded input."""
    module, shape = site.module, site.input_shape
    assert isinstance(module, _ConvNd)
    if getattr(module, "transposed", False) or isinstance(module.padding, str):  # 'same' and 'valid' never fail so
        return None
    spatial = shape[-ndim:]
    kernel, stride, padding, dilation = (
        _per_axis(v, ndim) for v in (module.kernel_size, module.stride, module.padding, module.dilation)
    )
    reach = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))
    padded = tuple(h + 2 * p for h, p in zip(spatial, padding, strict=True))
    if all(r <= h for r, h in zip(reach, padded, strict=True)):
        return None
    kind = type(module).__name__
    smallest = shape_text(tuple(max(1, r - 2 * p) for r, p in zip(reach, padding, strict=True)))
    takes = msg("doctor.spatial.sizes", sizes=smallest)
    dilated = NONE
    if max(dilation) > 1:
        dilated = msg("doctor.conv.dilated", dilation=shape_text(dilation), reach=shape_text(reach))
    reason = msg(
        "doctor.conv.kernel_too_large",
        kind=kind,
        kernel=shape_text(kernel),
        dilated=dilated,
        padded=shape_text(padded),
        shape=shape_text(shape),
    )
    fixes = [
        fix
        for fix in (
            _padding_fix(site, ndim, kernel, stride, padding, dilation),
            _kernel_fix(site, kernel, padding, dilation),
        )
        if fix
    ]
    return Finding(reason, takes, tuple(fixes))


def _padding_for_axis(h: int, k: int, s: int, p: int, d: int) -> tuple[int, str]:
    if d * (k - 1) + 1 <= h + 2 * p:
        return p, ""
    solution = same_padding(k, s, d, h) if s == 1 else padding_for_target(h, -(h // -s), k, s, d)
    if solution.possible and solution.padding is not None:
        return solution.padding, solution.reason
    smallest = math.ceil((d * (k - 1) + 1 - h) / 2)  # fewest cells per side for one window: 2·p ≥ d·(k − 1) + 1 − H_in
    return smallest, f"p = ⌈(d·(k − 1) + 1 − H_in)/2⌉ = ⌈({d}·({k} − 1) + 1 − {h})/2⌉ = {smallest}"


def _padding_fix(
    site: FailureSite,
    ndim: int,
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
) -> Fix | None:
    spatial = site.input_shape[-ndim:]
    solved = [
        _padding_for_axis(h, k, s, p, d)
        for h, k, s, p, d in zip(spatial, kernel, stride, padding, dilation, strict=True)
    ]
    new = tuple(p for p, _ in solved)
    if max(new) > MAX_KERNEL:
        return None
    out = tuple(
        (h + 2 * p - d * (k - 1) - 1) // s + 1
        for h, k, s, p, d in zip(spatial, kernel, stride, new, dilation, strict=True)
    )
    texts = [text for _, text in solved]
    if len(set(texts)) == 1:  # every axis worked out alike: say it once
        why = texts[0]
    else:
        why = "; ".join(f"{axis}: {text}" for axis, text in zip(AXIS_LETTERS[ndim], texts, strict=True) if text)
    value = _one_or_tuple(new)
    # `why` is the padding solver's worked formula, shown as it is in every language
    return Fix(
        msg("doctor.fix.padding", value=str(value), output=shape_text(out), why=why),
        (set_args(site.index, padding=value),),
        f"padding={value}",
    )


def _kernel_fix(
    site: FailureSite, kernel: tuple[int, ...], padding: tuple[int, ...], dilation: tuple[int, ...]
) -> Fix | None:
    spatial = site.input_shape[-len(kernel) :]
    # The largest k with d·(k − 1) + 1 ≤ H_in + 2·p, i.e. k ≤ (H_in + 2·p − 1)/d + 1.
    new = tuple(min(k, (h + 2 * p - 1) // d + 1) for h, k, p, d in zip(spatial, kernel, padding, dilation, strict=True))
    value = _one_or_tuple(new)
    return Fix(
        msg("doctor.fix.kernel_fits", value=str(value)),
        (set_args(site.index, kernel_size=value),),
        f"kernel_size={value}",
    )


@diagnoses(*_POOLS)
def _pool(site: FailureSite) -> Finding | None:
    module, shape = site.module, site.input_shape
    assert isinstance(module, _POOLS)  # the classes it is registered for
    ndim = 2 if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)) else 1
    missing = _missing_dims(site, ndim)
    if missing is not None:
        return missing
    spatial = shape[-ndim:]
    kernel, padding = _per_axis(module.kernel_size, ndim), _per_axis(module.padding, ndim)
    dilation = _per_axis(getattr(module, "dilation", 1), ndim)
    reach = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))
    if all(r <= h + 2 * p for r, h, p in zip(reach, spatial, padding, strict=True)):
        return None
    kind = type(module).__name__
    fitting = tuple(min(k, (h - 1) // d + 1) for h, k, d in zip(spatial, kernel, dilation, strict=True))
    value = _one_or_tuple(fitting)
    changes = {"kernel_size": value, **({"padding": 0} if any(padding) else {})}
    takes = msg("doctor.spatial.sizes", sizes=shape_text(reach))
    padded = shape_text(tuple(h + 2 * p for h, p in zip(spatial, padding, strict=True)))
    and_zero = msg("doctor.pool.and_padding") if any(padding) else NONE
    return Finding(
        msg("doctor.pool.too_large", kind=kind, window=shape_text(reach), spatial=shape_text(spatial), padded=padded),
        takes,
        (
            Fix(
                msg("doctor.fix.pool_window", value=str(value), also=and_zero),
                (set_args(site.index, **changes),),
            ),
            Fix(
                msg("doctor.fix.remove_pool", kind=kind, spatial=shape_text(spatial)),
                (remove_layer(site.index),),
            ),
        ),
    )


@diagnoses(nn.AdaptiveAvgPool2d)
def _adaptive_pool(site: FailureSite) -> Finding | None:
    return _missing_dims(site, 2)


_SIZE_PASS = (nn.ReLU, nn.GELU, nn.Sigmoid, nn.Tanh, nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.Dropout)


def padding_keeps_fix(site: FailureSite, flatten_index: int, wanted: int) -> Fix | None:
    """Return the fix a person tries first: padding=(k − 1)/2 on the unpadded conv before Flatten, when
    keeping its size gives exactly the `wanted` features (a new 3×3 conv added without padding=1).
    """
    conv = None
    for previous in reversed([p for p in site.previous if p.index < flatten_index]):
        if previous.layer_class in (nn.Conv1d, nn.Conv2d, nn.Conv3d):
            conv = previous
            break
        if previous.layer_class not in _SIZE_PASS:  # pooling or reshaping: the size kept would not arrive
            return None
    if conv is None or isinstance(conv.args.get("padding"), str) or len(conv.input_shape) < 2:
        return None
    ndim = len(conv.input_shape) - 2
    stride, padding = _per_axis(arg_size(conv.args, "stride"), ndim), _per_axis(arg_size(conv.args, "padding"), ndim)
    if any(s != 1 for s in stride) or any(padding):
        return None
    kernel = _per_axis(arg_size(conv.args, "kernel_size"), ndim)
    dilation = _per_axis(arg_size(conv.args, "dilation"), ndim)
    solved = [same_padding(k, 1, d).padding for k, d in zip(kernel, dilation, strict=True)]
    pads = [p for p in solved if p is not None]
    if len(pads) < len(solved) or conv.output_shape[1] * math.prod(conv.input_shape[2:]) != wanted:
        return None
    value = pads[0] if len(set(pads)) == 1 else tuple(pads)
    text = msg(
        "doctor.fix.keep_size_padding",
        padding=value,
        index=conv.index,
        channels=conv.output_shape[1],
        size="·".join(str(side) for side in conv.input_shape[2:]),
        features=wanted,
    )
    return Fix(text, (set_args(conv.index, padding=value),), f"padding={value}")


def _unflatten_fixes(site: FailureSite, ndim: int) -> tuple[Fix, ...]:
    """Return the reshape a flat (N, F) input needs before a conv: nn.Unflatten(1, (C, H, W)) with C·H·W = F.

    C is the conv's in_channels; H·W = F/C is split as squarely as it goes, and only sizes the kernel fits are offered.
    """
    shape, module = site.input_shape, site.module
    if len(shape) != 2 or site.index is None or ndim not in (1, 2) or not isinstance(module, _ConvNd):
        return ()
    channels, features = module.in_channels, shape[1]
    if features % channels:
        return ()
    rest = features // channels
    height = max(d for d in range(1, math.isqrt(rest) + 1) if rest % d == 0)
    sides = (rest,) if ndim == 1 else (height, rest // height)
    padding = module.padding if isinstance(module.padding, tuple) else (0,) * ndim
    reach = [d * (k - 1) + 1 - 2 * p for k, d, p in zip(module.kernel_size, module.dilation, padding, strict=True)]
    if any(side < need for side, need in zip(sides, reach, strict=True)):  # the kernel would not fit the map
        return ()
    size = (channels, *sides)
    text = msg("doctor.fix.unflatten", size=str(size), features=features, product="·".join(map(str, size)))
    return (
        Fix(text, (insert_layer(site.index, "Unflatten", dim=1, unflattened_size=size),), f"nn.Unflatten(1, {size})"),
    )
