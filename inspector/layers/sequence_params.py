"""Parameter counts of the sequence layers: RNN, LSTM and GRU, multi-head attention, the Transformer encoder layer.

Counts are what `sum(p.numel() for p in layer.parameters())` gives, worked out in the user's numbers as
in `param_formulas` (whose term sums and fixes these share), in the order torch registers the tensors.
"""

from __future__ import annotations

from enum import StrEnum

from inspector.core.errors import InvalidArgumentError
from inspector.core.messages import msg
from inspector.core.worked import Worked
from inspector.layers.checks import check_bool, check_int, group_digits
from inspector.layers.param_formulas import (
    either,
    layernorm_params,
    linear_params,
    nearest_divisors,
    nearest_multiples,
    product,
    sum_of,
)


class RecurrentKind(StrEnum):
    """The recurrent layers torch has; each has its own number of gates."""

    RNN = "RNN"
    LSTM = "LSTM"
    GRU = "GRU"


GATES = {RecurrentKind.RNN: 1, RecurrentKind.LSTM: 4, RecurrentKind.GRU: 3}


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
            label, count = msg("param_text.layer_one"), ""
        else:
            label, count = msg("param_text.layers", last=layers - 1), f"{layers - 1}·"
        later_formula = _times(directions, later.formula)
        total = value + later_value
        formula = msg(
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
    return Worked(value, formula, msg("param_text.recurrent_symbolic"))


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
            "heads_divisible",
            e=e,
            heads=heads,
            divisors=either(nearest_divisors(e, heads)),
            multiples=either(nearest_multiples(e, heads)),
        )
    k_dim = e if kdim is None else check_int("kdim", kdim, 1)
    v_dim = e if vdim is None else check_int("vdim", vdim, 1)
    with_bias = check_bool("bias", bias)
    if k_dim == e and v_dim == e:
        terms = [(f"3·{product(e, e)}", "3·E·E (in_proj_weight)", 3 * e * e)]
    else:
        projections = [(e, "E", "q"), (k_dim, "kdim", "k"), (v_dim, "vdim", "v")]
        terms = [(product(e, d), f"E·{name} ({x}_proj_weight)", e * d) for d, name, x in projections]
    if with_bias:
        terms.append((f"3·{group_digits(e)}", "3·E (in_proj_bias)", 3 * e))
    if check_bool("add_bias_kv", add_bias_kv):
        terms.append((f"2·{group_digits(e)}", "2·E (bias_k, bias_v)", 2 * e))
    terms.append((product(e, e), "E·E (out_proj.weight)", e * e))
    if with_bias:
        terms.append((group_digits(e), "E (out_proj.bias)", e))
    return sum_of(terms)


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
    return Worked(value, formula, msg("param_text.encoder_symbolic"))


def _check_projection(kind: RecurrentKind, proj_size: object, hidden: int) -> int:
    """Return proj_size after torch's checks: LSTM only, and smaller than hidden_size."""
    projection = check_int("proj_size", proj_size, 0)
    if projection and kind is not RecurrentKind.LSTM:
        raise InvalidArgumentError("errors_b.proj_size_lstm_only", kind=kind.value)
    if projection >= hidden:
        raise InvalidArgumentError(
            "errors_b.proj_size_too_large", projection=projection, hidden=hidden, largest=hidden - 1
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
        formula += f" + {product(projection, hidden)}"
    return Worked(value, formula)


def _recurrent_kind(mode: object) -> RecurrentKind:
    """Return `mode` as a RecurrentKind, or raises naming the three."""
    try:
        return RecurrentKind(str(mode))
    except ValueError:
        raise InvalidArgumentError("errors_b.bad_rnn_mode", value=repr(mode)) from None


def _times(count: int, formula: str) -> str:
    """Return `formula`, multiplied by `count` when there is more than one direction."""
    return formula if count == 1 else f"{count}·({formula})"
