"""Parameter counts of common layers, each worked out in the user's numbers.

Counts are what `sum(p.numel() for p in layer.parameters())` gives: learnable tensors only, never
buffers such as BatchNorm's running statistics. Each formula is a sum of terms, one per weight or
bias tensor, in the order torch registers them. The sequence layers (RNN, attention, Transformer) are
in `sequence_params`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from inspector.core.errors import InvalidArgumentError
from inspector.core.messages import msg
from inspector.core.worked import Worked
from inspector.layers.checks import check_bool, check_int, check_ndim, group_digits, per_dimension

# (worked term with numbers, the same term in letters, its value)
Term = tuple[str, str, int]
KERNEL_LETTERS = {1: ("k",), 2: ("k_h", "k_w"), 3: ("k_d", "k_h", "k_w")}


def linear_params(in_features: int, out_features: int, bias: bool = True) -> Worked:
    """Return the parameters of nn.Linear: weight (out, in) and bias (out), e.g. `784·256 + 256 = 200,960`."""
    n_in = check_int("in_features", in_features, 1)
    n_out = check_int("out_features", out_features, 1)
    terms = [(product(n_in, n_out), "in_features·out_features", n_in * n_out)]
    if check_bool("bias", bias):
        terms.append((group_digits(n_out), "out_features", n_out))
    return sum_of(terms)


def bilinear_params(in1_features: int, in2_features: int, out_features: int, bias: bool = True) -> Worked:
    """Return the parameters of nn.Bilinear: weight (out, in1, in2) and bias (out)."""
    n1 = check_int("in1_features", in1_features, 1)
    n2 = check_int("in2_features", in2_features, 1)
    n_out = check_int("out_features", out_features, 1)
    terms = [(product(n_out, n1, n2), "out·in1·in2", n_out * n1 * n2)]
    if check_bool("bias", bias):
        terms.append((group_digits(n_out), "out", n_out))
    return sum_of(terms)


def conv_params(
    in_channels: int,
    out_channels: int,
    kernel_size: int | Sequence[int],
    groups: int = 1,
    bias: bool = True,
    ndim: int = 2,
) -> Worked:
    """Return the parameters of ConvNd: weight (C_out, C_in/groups, k…) and bias (C_out).

    `(C_in/groups)·k_h·k_w·C_out + C_out`, e.g. `(3/1)·3·3·16 + 16 = 448`.
    """
    c_in, c_out, g, kernels = _check_conv(in_channels, out_channels, kernel_size, groups, ndim)
    letters = "·".join(KERNEL_LETTERS[len(kernels)])
    weight = (c_in // g) * math.prod(kernels) * c_out
    worked = f"({group_digits(c_in)}/{g})·{product(*kernels)}·{group_digits(c_out)}"
    terms = [(worked, f"(C_in/groups)·{letters}·C_out", weight)]
    if check_bool("bias", bias):
        terms.append((group_digits(c_out), "C_out", c_out))
    return sum_of(terms)


def conv_transpose_params(
    in_channels: int,
    out_channels: int,
    kernel_size: int | Sequence[int],
    groups: int = 1,
    bias: bool = True,
    ndim: int = 2,
) -> Worked:
    """Return the parameters of ConvTransposeNd: weight (C_in, C_out/groups, k…) and bias (C_out)."""
    c_in, c_out, g, kernels = _check_conv(in_channels, out_channels, kernel_size, groups, ndim)
    letters = "·".join(KERNEL_LETTERS[len(kernels)])
    weight = c_in * (c_out // g) * math.prod(kernels)
    worked = f"{group_digits(c_in)}·({group_digits(c_out)}/{g})·{product(*kernels)}"
    terms = [(worked, f"C_in·(C_out/groups)·{letters}", weight)]
    if check_bool("bias", bias):
        terms.append((group_digits(c_out), "C_out", c_out))
    return sum_of(terms)


def batchnorm_params(num_features: int, affine: bool = True) -> Worked:
    """Return the parameters of BatchNormNd: γ (weight) and β (bias), C each when affine.

    The running statistics are buffers: saved in the state_dict, but not learned or counted.
    """
    c = check_int("num_features", num_features, 1)
    if not check_bool("affine", affine):
        return Worked(0, msg("param_text.batchnorm_no_affine"), "0")
    value = 2 * c
    return Worked(value, msg("param_text.batchnorm", c=group_digits(c), value=group_digits(value)), "2·C")


def layernorm_params(
    normalized_shape: int | Sequence[int], elementwise_affine: bool = True, bias: bool = True
) -> Worked:
    """Return the parameters of nn.LayerNorm: weight and (unless bias=False) bias, each of normalized_shape."""
    if isinstance(normalized_shape, (tuple, list)):
        shape = per_dimension("normalized_shape", normalized_shape, len(normalized_shape), 1)
    else:
        shape = (check_int("normalized_shape", normalized_shape, 1),)
    if not shape:
        raise InvalidArgumentError("errors_b.normalized_shape_empty")
    size, worked = math.prod(shape), product(*shape)
    terms: list[Term] = []
    if check_bool("elementwise_affine", elementwise_affine):
        terms.append((worked, "∏normalized_shape (weight)", size))
        if check_bool("bias", bias):
            terms.append((worked, "∏normalized_shape (bias)", size))
    return sum_of(terms)


def groupnorm_params(num_groups: int, num_channels: int, affine: bool = True) -> Worked:
    """Return the parameters of nn.GroupNorm: weight and bias of num_channels each when affine."""
    g = check_int("num_groups", num_groups, 1)
    c = check_int("num_channels", num_channels, 1)
    if c % g:
        raise InvalidArgumentError(
            "errors_b.num_groups_divisible",
            c=c,
            g=g,
            divisors=either(nearest_divisors(c, g)),
            multiples=either(nearest_multiples(c, g)),
        )
    if not check_bool("affine", affine):
        return Worked(0, msg("param_text.no_affine"), "0")
    return Worked(2 * c, f"2·{group_digits(c)} = {group_digits(2 * c)}", "2·C")


def embedding_params(num_embeddings: int, embedding_dim: int) -> Worked:
    """Return the parameters of nn.Embedding: one weight row of embedding_dim per token."""
    n = check_int("num_embeddings", num_embeddings, 1)
    dim = check_int("embedding_dim", embedding_dim, 1)
    return sum_of([(product(n, dim), "num_embeddings·embedding_dim", n * dim)])


def _check_conv(
    in_channels: object, out_channels: object, kernel_size: object, groups: object, ndim: object
) -> tuple[int, int, int, tuple[int, ...]]:
    """Return (C_in, C_out, groups, kernel sizes) after torch's checks, groups dividing both."""
    dims = check_ndim(ndim)
    c_in = check_int("in_channels", in_channels, 1)
    c_out = check_int("out_channels", out_channels, 1)
    g = check_int("groups", groups, 1)
    for name, channels in [("in_channels", c_in), ("out_channels", c_out)]:
        if channels % g:
            common = math.gcd(c_in, c_out)
            raise InvalidArgumentError(
                "groups_divisible",
                name=name,
                channels=channels,
                groups=g,
                c_in=c_in,
                c_out=c_out,
                divisors=either(nearest_divisors(common, g)),
                multiples=either(nearest_multiples(channels, g)),
            )
    return c_in, c_out, g, per_dimension("kernel_size", kernel_size, dims, 1)


def sum_of(terms: list[Term]) -> Worked:
    """Return the sum of the terms, with the worked and letter formulas joined by ' + '."""
    if not terms:
        return Worked(0, msg("param_text.none"), "0")
    value = sum(term[2] for term in terms)
    worked = " + ".join(term[0] for term in terms)
    return Worked(value, f"{worked} = {group_digits(value)}", " + ".join(term[1] for term in terms))


def product(*factors: int) -> str:
    """Return the factors joined by `·`, e.g. `784·256`."""
    return "·".join(group_digits(f) for f in factors)


def nearest_divisors(n: int, near: int) -> list[int]:
    """Return the divisors of n just below and just above `near` (one when they coincide)."""
    # Pairs (d, n/d) up to √n: fast even for n near 2³¹.
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    divisors = sorted({*small, *(n // d for d in small)})
    below = max(d for d in divisors if d <= near)
    above = [d for d in divisors if d >= near]
    return sorted({below, above[0]}) if above else [below]


def nearest_multiples(n: int, factor: int) -> list[int]:
    """Return the multiples of `factor` just below and just above n (ignoring 0)."""
    below = n // factor * factor
    return [m for m in (below, below + factor) if m > 0]


def either(values: list[int]) -> str:
    """Return one value as it is, two as the `Message` `a or b` (shown as 一 或 二 in Chinese)."""
    if len(values) == 1:
        return str(values[0])
    return msg("engine.layers.either", first=values[0], second=values[1])
