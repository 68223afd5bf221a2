"""Parameter counts of common layers, each worked out in the user's numbers.

Counts are what `sum(p.numel() for p in layer.parameters())` gives: learnable tensors only, never
buffers such as BatchNorm's running statistics. Each formula is a sum of terms, one per weight or
bias tensor, in the order torch registers them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum

from inspector.core.errors import InvalidArgumentError
from inspector.core.messages import Message
from inspector.core.worked import Worked
from inspector.layers.output_size import check_bool, check_int, check_ndim, group_digits, per_dimension

# (worked term with numbers, the same term in letters, its value)
Term = tuple[str, str, int]
KERNEL_LETTERS = {1: ("k",), 2: ("k_h", "k_w"), 3: ("k_d", "k_h", "k_w")}
BUFFERS_NOTE = "running_mean, running_var and num_batches_tracked are buffers, not parameters"


class RecurrentKind(StrEnum):
    """The recurrent layers torch has; each has its own number of gates."""

    RNN = "RNN"
    LSTM = "LSTM"
    GRU = "GRU"


GATES = {RecurrentKind.RNN: 1, RecurrentKind.LSTM: 4, RecurrentKind.GRU: 3}


def linear_params(in_features: int, out_features: int, bias: bool = True) -> Worked:
    """Return the parameters of nn.Linear: weight (out, in) and bias (out), e.g. `784·256 + 256 = 200,960`."""
    n_in = check_int("in_features", in_features, 1)
    n_out = check_int("out_features", out_features, 1)
    terms = [(_product(n_in, n_out), "in_features·out_features", n_in * n_out)]
    if check_bool("bias", bias):
        terms.append((group_digits(n_out), "out_features", n_out))
    return _sum_of(terms)


def bilinear_params(in1_features: int, in2_features: int, out_features: int, bias: bool = True) -> Worked:
    """Return the parameters of nn.Bilinear: weight (out, in1, in2) and bias (out)."""
    n1 = check_int("in1_features", in1_features, 1)
    n2 = check_int("in2_features", in2_features, 1)
    n_out = check_int("out_features", out_features, 1)
    terms = [(_product(n_out, n1, n2), "out·in1·in2", n_out * n1 * n2)]
    if check_bool("bias", bias):
        terms.append((group_digits(n_out), "out", n_out))
    return _sum_of(terms)


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
    worked = f"({group_digits(c_in)}/{g})·{_product(*kernels)}·{group_digits(c_out)}"
    terms = [(worked, f"(C_in/groups)·{letters}·C_out", weight)]
    if check_bool("bias", bias):
        terms.append((group_digits(c_out), "C_out", c_out))
    return _sum_of(terms)


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
    worked = f"{group_digits(c_in)}·({group_digits(c_out)}/{g})·{_product(*kernels)}"
    terms = [(worked, f"C_in·(C_out/groups)·{letters}", weight)]
    if check_bool("bias", bias):
        terms.append((group_digits(c_out), "C_out", c_out))
    return _sum_of(terms)


def batchnorm_params(num_features: int, affine: bool = True) -> Worked:
    """Return the parameters of BatchNormNd: γ (weight) and β (bias), C each when affine.

    The running statistics are buffers: saved in the state_dict, but not learned or counted.
    """
    c = check_int("num_features", num_features, 1)
    if not check_bool("affine", affine):
        return Worked(
            0, Message(f"affine=False: no parameters = 0 ({BUFFERS_NOTE})", "param_text.batchnorm_no_affine"), "0"
        )
    value = 2 * c
    formula = Message(
        f"2·{group_digits(c)} = {group_digits(value)} ({BUFFERS_NOTE})",
        "param_text.batchnorm",
        c=group_digits(c),
        value=group_digits(value),
    )
    return Worked(value, formula, "2·C")


def layernorm_params(
    normalized_shape: int | Sequence[int], elementwise_affine: bool = True, bias: bool = True
) -> Worked:
    """Return the parameters of nn.LayerNorm: weight and (unless bias=False) bias, each of normalized_shape."""
    if isinstance(normalized_shape, (tuple, list)):
        shape = per_dimension("normalized_shape", normalized_shape, len(normalized_shape), 1)
    else:
        shape = (check_int("normalized_shape", normalized_shape, 1),)
    if not shape:
        raise InvalidArgumentError(
            "normalized_shape is empty", "give the last dimension(s), e.g. 768", key="errors_b.normalized_shape_empty"
        )
    size, worked = math.prod(shape), _product(*shape)
    terms: list[Term] = []
    if check_bool("elementwise_affine", elementwise_affine):
        terms.append((worked, "∏normalized_shape (weight)", size))
        if check_bool("bias", bias):
            terms.append((worked, "∏normalized_shape (bias)", size))
    return _sum_of(terms)


def groupnorm_params(num_groups: int, num_channels: int, affine: bool = True) -> Worked:
    """Return the parameters of nn.GroupNorm: weight and bias of num_channels each when affine."""
    g = check_int("num_groups", num_groups, 1)
    c = check_int("num_channels", num_channels, 1)
    if c % g:
        raise InvalidArgumentError(
            f"num_channels={c} is not divisible by num_groups={g}",
            f"use num_groups {_or(_nearest_divisors(c, g))}, or num_channels {_or(_nearest_multiples(c, g))}",
            key="errors_b.num_groups_divisible",
            params={
                "c": c,
                "g": g,
                "divisors": _or(_nearest_divisors(c, g)),
                "multiples": _or(_nearest_multiples(c, g)),
            },
        )
    if not check_bool("affine", affine):
        return Worked(0, Message("affine=False: no parameters = 0", "param_text.no_affine"), "0")
    return Worked(2 * c, f"2·{group_digits(c)} = {group_digits(2 * c)}", "2·C")


def embedding_params(num_embeddings: int, embedding_dim: int) -> Worked:
    """Return the parameters of nn.Embedding: one weight row of embedding_dim per token."""
    n = check_int("num_embeddings", num_embeddings, 1)
    dim = check_int("embedding_dim", embedding_dim, 1)
    return _sum_of([(_product(n, dim), "num_embeddings·embedding_dim", n * dim)])


def rnn_params(
    mode: RecurrentKind | str,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    bias: bool = True,
    bidirectional: bool = False,
    proj_size: int = 0,
) -> Worked:
    """Return the parameters of nn.RNN, nn.LSTM or nn.GRU, worked layer by layer.

    Per layer and direction: gates·H·(input + H_r) + 2·gates·H with biases, where gates is 1, 4 or 3
    and H_r is proj_size if set, else H; a projection adds weight_hr (proj_size, H). Layers after
    the first take directions·H_r inputs.
    """
    kind = _recurrent_kind(mode)
    first_input = check_int("input_size", input_size, 1)
    hidden = check_int("hidden_size", hidden_size, 1)
    layers = check_int("num_layers", num_layers, 1)
    directions = 2 if check_bool("bidirectional", bidirectional) else 1
    projection = _check_projection(kind, proj_size, hidden)
    with_bias = check_bool("bias", bias)
    first = _recurrent_layer(GATES[kind], hidden, first_input, projection, with_bias)
    value, formula = directions * first.value, _times(directions, first.formula)
    if layers > 1:  # later layers read both directions' outputs, of size proj_size or H
        inputs = directions * (projection or hidden)
        later = _recurrent_layer(GATES[kind], hidden, inputs, projection, with_bias)
        later_value = (layers - 1) * directions * later.value
        if layers == 2:
            label, count = Message("layer 1", "param_text.layer_one"), ""
        else:
            label, count = Message(f"layers 1–{layers - 1}", "param_text.layers", last=layers - 1), f"{layers - 1}·"
        later_formula = _times(directions, later.formula)
        total = value + later_value
        formula = Message(
            f"layer 0: {formula} = {group_digits(value)}; "
            f"{label}: {count}{later_formula} = {group_digits(later_value)}; "
            f"total {group_digits(value)} + {group_digits(later_value)} = {group_digits(total)}",
            "param_text.recurrent_layers",
            first=formula,
            first_value=group_digits(value),
            label=label,
            later=f"{count}{later_formula}",
            later_value=group_digits(later_value),
            total=group_digits(total),
        )
        value = total
    else:
        formula = f"{formula} = {group_digits(value)}"
    symbolic = Message(
        "directions·(gates·H·(input + H) + 2·gates·H) per layer; gates: RNN 1, LSTM 4, GRU 3",
        "param_text.recurrent_symbolic",
    )
    return Worked(value, formula, symbolic)


def multihead_attention_params(
    embed_dim: int,
    num_heads: int,
    bias: bool = True,
    add_bias_kv: bool = False,
    kdim: int | None = None,
    vdim: int | None = None,
) -> Worked:
    """Return the parameters of nn.MultiheadAttention: q/k/v projections, out_proj, bias_k/bias_v.

    With kdim = vdim = embed_dim the three projections are one in_proj_weight (3·E, E).
    """
    e = check_int("embed_dim", embed_dim, 1)
    heads = check_int("num_heads", num_heads, 1)
    if e % heads:
        raise InvalidArgumentError(
            f"embed_dim={e} is not divisible by num_heads={heads}",
            f"use num_heads {_or(_nearest_divisors(e, heads))}, or embed_dim {_or(_nearest_multiples(e, heads))}",
            key="heads_divisible",
            params={
                "e": e,
                "heads": heads,
                "divisors": ", ".join(map(str, _nearest_divisors(e, heads))),
                "multiples": ", ".join(map(str, _nearest_multiples(e, heads))),
            },
        )
    k_dim = e if kdim is None else check_int("kdim", kdim, 1)
    v_dim = e if vdim is None else check_int("vdim", vdim, 1)
    with_bias = check_bool("bias", bias)
    if k_dim == e and v_dim == e:
        terms = [(f"3·{_product(e, e)}", "3·E·E (in_proj_weight)", 3 * e * e)]
    else:
        projections = [(e, "E", "q"), (k_dim, "kdim", "k"), (v_dim, "vdim", "v")]
        terms = [(_product(e, d), f"E·{name} ({x}_proj_weight)", e * d) for d, name, x in projections]
    if with_bias:
        terms.append((f"3·{group_digits(e)}", "3·E (in_proj_bias)", 3 * e))
    if check_bool("add_bias_kv", add_bias_kv):
        terms.append((f"2·{group_digits(e)}", "2·E (bias_k, bias_v)", 2 * e))
    terms.append((_product(e, e), "E·E (out_proj.weight)", e * e))
    if with_bias:
        terms.append((group_digits(e), "E (out_proj.bias)", e))
    return _sum_of(terms)


def transformer_encoder_layer_params(
    d_model: int, nhead: int, dim_feedforward: int = 2048, bias: bool = True
) -> Worked:
    """Return the parameters of nn.TransformerEncoderLayer: attention, two Linears, two LayerNorms."""
    attention = multihead_attention_params(d_model, nhead, bias=bias)
    d = check_int("d_model", d_model, 1)
    ff = check_int("dim_feedforward", dim_feedforward, 1)
    linear1, linear2, norm = linear_params(d, ff, bias), linear_params(ff, d, bias), layernorm_params(d, bias=bias)
    value = attention.value + linear1.value + linear2.value + 2 * norm.value

    def without_result(worked: Worked) -> str:
        return worked.formula.rsplit(" = ", 1)[0]

    formula = (
        f"self_attn {group_digits(attention.value)} + linear1 ({without_result(linear1)}) + "
        f"linear2 ({without_result(linear2)}) + norm1, norm2 2·({without_result(norm)}) "
        f"= {group_digits(value)}"
    )
    symbolic = Message(
        "self_attn + linear1 (d_model → dim_feedforward) + linear2 (back) + 2 LayerNorms", "param_text.encoder_symbolic"
    )
    return Worked(value, formula, symbolic)


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
                f"{name}={channels} is not divisible by groups={g}",
                f"use groups {_or(_nearest_divisors(common, g))} (dividing both {c_in} and {c_out}), "
                f"or {name} {_or(_nearest_multiples(channels, g))}",
                key="groups_divisible",
                params={
                    "name": name,
                    "channels": channels,
                    "groups": g,
                    "c_in": c_in,
                    "c_out": c_out,
                    "divisors": ", ".join(map(str, _nearest_divisors(common, g))),
                    "multiples": ", ".join(map(str, _nearest_multiples(channels, g))),
                },
            )
    return c_in, c_out, g, per_dimension("kernel_size", kernel_size, dims, 1)


def _check_projection(kind: RecurrentKind, proj_size: object, hidden: int) -> int:
    """Return proj_size after torch's checks: LSTM only, and smaller than hidden_size."""
    projection = check_int("proj_size", proj_size, 0)
    if projection and kind is not RecurrentKind.LSTM:
        raise InvalidArgumentError(
            f"proj_size is only supported for LSTM, not {kind.value}",
            "use proj_size=0 or mode='LSTM'",
            key="errors_b.proj_size_lstm_only",
            params={"kind": kind.value},
        )
    if projection >= hidden:
        raise InvalidArgumentError(
            f"proj_size={projection} must be smaller than hidden_size={hidden}",
            f"use proj_size ≤ {hidden - 1}, or 0 for no projection",
            key="errors_b.proj_size_too_large",
            params={"projection": projection, "hidden": hidden, "largest": hidden - 1},
        )
    return projection


def _recurrent_layer(gates: int, hidden: int, inputs: int, projection: int, bias: bool) -> Worked:
    """Return one direction of one recurrent layer: weight_ih, weight_hh, biases, weight_hr."""
    recurrent = projection or hidden
    gate_rows = f"{gates}·{group_digits(hidden)}"
    value = gates * hidden * (inputs + recurrent)
    formula = f"{gate_rows}·({group_digits(inputs)} + {group_digits(recurrent)})"
    if bias:
        value += 2 * gates * hidden
        formula += f" + 2·{gate_rows}"
    if projection:
        value += projection * hidden
        formula += f" + {_product(projection, hidden)}"
    return Worked(value, formula)


def _recurrent_kind(mode: object) -> RecurrentKind:
    """Return `mode` as a RecurrentKind, or raises naming the three."""
    try:
        return RecurrentKind(mode)
    except ValueError:
        raise InvalidArgumentError(
            f"mode must be 'RNN', 'LSTM' or 'GRU', got {mode!r}",
            key="errors_b.bad_rnn_mode",
            params={"value": repr(mode)},
        ) from None


def _sum_of(terms: list[Term]) -> Worked:
    """Return the sum of the terms, with the worked and letter formulas joined by ' + '."""
    if not terms:
        return Worked(0, Message("no parameters = 0", "param_text.none"), "0")
    value = sum(term[2] for term in terms)
    worked = " + ".join(term[0] for term in terms)
    return Worked(value, f"{worked} = {group_digits(value)}", " + ".join(term[1] for term in terms))


def _product(*factors: int) -> str:
    """Return the factors joined by `·`, e.g. `784·256`."""
    return "·".join(group_digits(f) for f in factors)


def _times(count: int, formula: str) -> str:
    """Return `formula`, multiplied by `count` when there is more than one direction."""
    return formula if count == 1 else f"{count}·({formula})"


def _nearest_divisors(n: int, near: int) -> list[int]:
    """Return the divisors of n just below and just above `near` (one when they coincide)."""
    # Pairs (d, n/d) up to √n: fast even for n near 2³¹.
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    divisors = sorted({*small, *(n // d for d in small)})
    below = max(d for d in divisors if d <= near)
    above = [d for d in divisors if d >= near]
    return sorted({below, above[0]}) if above else [below]


def _nearest_multiples(n: int, factor: int) -> list[int]:
    """Return the multiples of `factor` just below and just above n (ignoring 0)."""
    below = n // factor * factor
    return [m for m in (below, below + factor) if m > 0]


def _or(values: list[int]) -> str:
    """Return the values as `a or b`."""
    return " or ".join(str(v) for v in values)
