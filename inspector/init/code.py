"""The copyable code that applies a scheme: an `init_fn` with the right `nn.init` calls and `model.apply`."""

from __future__ import annotations

from inspector.init.schemes import (
    INIT_LAYER_TYPES,
    SCHEMES,
    BiasInit,
    InitScheme,
    InitSpec,
    check_seed,
    make_init_spec,
)

_LAYER_TUPLE = "(" + ", ".join(f"nn.{layer.__name__}" for layer in INIT_LAYER_TYPES) + ")"
_DEFAULT_BIAS = [
    "bound = 1 / math.sqrt(m.weight[0].numel())  # fan_in = in_features (× kernel size)",
    "nn.init.uniform_(m.bias, -bound, bound)",
]


def _literal(value: float | str) -> str:
    """Return `value` as Python source; repr keeps every bit of a float, so the draws are identical."""
    return f'"{value}"' if isinstance(value, str) else repr(float(value))


def _call(spec: InitSpec, tensor: str) -> str:
    if spec.scheme is InitScheme.DEFAULT:
        return f"nn.init.kaiming_uniform_({tensor}, a=math.sqrt(5))  # PyTorch's default: U(−1/√fan_in, 1/√fan_in)"
    arguments = "".join(f", {name}={_literal(value)}" for name, value in spec.torch_kwargs().items())
    return f"nn.init.{SCHEMES[spec.scheme].function.__name__}({tensor}{arguments})"


def _bias_lines(spec: InitSpec) -> list[str]:
    if spec.bias is BiasInit.ZEROS:
        return ["nn.init.zeros_(m.bias)"]
    if spec.bias is BiasInit.DEFAULT or spec.scheme is InitScheme.DEFAULT:
        return list(_DEFAULT_BIAS)
    return [_call(spec, "m.bias")]


def init_code(
    spec: InitSpec | str, arguments: dict[str, object] | None = None, seed: int = 0, bias: BiasInit | str | None = None
) -> str:
    """Return runnable code that applies `spec` to a variable `model`, seeded like `apply_init(…, seed=seed)`."""
    if not isinstance(spec, InitSpec):
        spec = make_init_spec(spec, bias, **dict(arguments or {}))
    seed = check_seed(seed)
    needs_math = spec.scheme is InitScheme.DEFAULT or spec.bias is BiasInit.DEFAULT
    body = [
        *(["import math", ""] if needs_math else []),
        "import torch",
        "from torch import nn",
        "",
        "",
        "def init_fn(m: nn.Module) -> None:",
        f"    if isinstance(m, {_LAYER_TUPLE}):",
        f"        {_call(spec, 'm.weight')}",
        "        if m.bias is not None:",
        *(f"            {line}" for line in _bias_lines(spec)),
        "",
        "",
        "# model = your nn.Module",
        f"torch.manual_seed({seed})  # the same draws as the explorer with seed {seed}",
        "model.apply(init_fn)",
    ]
    return "\n".join(body) + "\n"
