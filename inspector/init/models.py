"""The models the initialisation explorer runs: the deep stacks of `models.deep`, the zoo, `hf:`, or a user's module.

The deep stacks are described with the zoo's own `ZooEntry`/`ModelOption`, so their options are
checked by the same code as the zoo's (range, type, choices), but they are not registered in
`models.ZOO`: they exist for this explorer only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from inspector.core.errors import InvalidArgumentError, UnknownNameError
from inspector.core.memory_guard import reserve
from inspector.core.preflight import Preflight, forward_backward_peak, resident_bytes
from inspector.core.shapes import validate_size
from inspector.init.schemes import Nonlinearity
from inspector.model.hf import PREFIX, shelf
from inspector.model.sources import META_ABOVE_PARAMS, TensorOutput, model_source, parameter_count, resolve_model
from inspector.model.zoo import zoo_options
from models import ZOO, ModelOption, ZooEntry
from models.deep import ActivationFunction, deep_cnn, deep_mlp

DEFAULT_BATCH = 16  # samples in the random batch: 16 × 256 activations per layer of the default MLP
MAX_BATCH = 1024
# An hf: model is built for real (init sets real values): this many parameters at most, the size above
# which the Model Inspector runs one on meta. The shelf's 7B–8B decoders are refused; GPT-2, BERT-base,
# T5-small and ViT-B/16 (61M–124M) run, in seconds to a minute on a CPU: the work grows with the
# parameters (a copy, statistics in float64, every weight's gradient) more than with the 128 tokens.
MAX_HF_PARAMS = META_ABOVE_PARAMS
_ACTIVATION = ModelOption(
    "activation",
    ActivationFunction.RELU.value,
    choices=tuple(a.value for a in ActivationFunction),
    help="the nonlinearity after every layer",
)


def _build_deep_cnn(image_size: int = 32, **options: Any) -> nn.Module:  # options checked by the zoo entry
    del image_size  # padding 1 keeps any image size: it shapes the input only
    return deep_cnn(**options)


DEEP_MODELS: dict[str, ZooEntry] = {
    "deep_mlp": ZooEntry(
        "deep_mlp",
        deep_mlp,
        (
            ModelOption("depth", 20, 1, 100, help="Linear layers"),
            ModelOption("width", 256, 1, 1024),
            _ACTIVATION,
            ModelOption("in_features", 256, 1, 100_000),
        ),
        (1, 256),
        family="mlp",
        input_size_fn=lambda o: (1, int(o["in_features"])),
    ),
    "deep_cnn": ZooEntry(
        "deep_cnn",
        _build_deep_cnn,
        (
            ModelOption("depth", 10, 1, 50, help="Conv2d layers"),
            ModelOption("channels", 16, 1, 256),
            _ACTIVATION,
            ModelOption("in_channels", 3, 1, 64),
            ModelOption("image_size", 32, 4, 128, help="height = width"),
        ),
        (1, 3, 32, 32),
        family="cnn",
        input_size_fn=lambda o: (1, int(o["in_channels"]), int(o["image_size"]), int(o["image_size"])),
    ),
}


def model_names(skip_families: tuple[str, ...] = ()) -> list[str]:
    """The names the explorer accepts: the deep stacks first, then the zoo models not in `skip_families`.

    The page skips "transformer": a GPT's batch of 16 × 1024 tokens takes minutes on a CPU.
    """
    return [*DEEP_MODELS, *(name for name, entry in ZOO.items() if entry.family not in skip_families)]


@dataclass(frozen=True)
class PreparedModel:
    """A built model with the input it takes: `label` names it in reports."""

    model: nn.Module
    label: str
    input_size: tuple[int, ...]
    input_dtype: torch.dtype = torch.float32
    vocab_size: int | None = None  # token ids are drawn from [0, vocab_size); None: all ids 0


def _batch(input_size: tuple[int, ...], batch: int | None) -> tuple[int, ...]:
    if batch is None:
        return input_size
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= MAX_BATCH:
        raise InvalidArgumentError("errors_b.bad_batch", maximum=MAX_BATCH, value=repr(batch))
    return (batch, *input_size[1:])


def _build_deep(
    entry: ZooEntry, options: Mapping[str, object] | None, device: str = "cpu"
) -> tuple[nn.Module, tuple[int, ...]]:
    values = zoo_options(entry, options)
    try:
        with torch.device(device):
            model = entry.build(**values)
    except ValueError as error:
        raise InvalidArgumentError("errors_b.could_not_build", model=entry.name, error=str(error)) from None
    return model, entry.input_size_for(**values)


# The shelf's configs within MAX_HF_PARAMS, by name (the page offers these; a test checks the list against
# the parameter counts, so it never needs transformers to be imported to be shown).
SMALL_HF = ("gpt2", "bert-base-uncased", "t5-small", "vit-base-patch16-224")


def hf_names(limit: int | None = None) -> list[str]:
    """Return the shelf's `hf:` names with at most `limit` parameters (default MAX_HF_PARAMS), counted on meta."""
    most = MAX_HF_PARAMS if limit is None else limit
    return [f"{PREFIX}{name}" for name in shelf() if parameter_count(model_source(f"{PREFIX}{name}")) <= most]


def _prepare_hf(name: str, options: Mapping[str, object] | None, batch: int | None, device: str) -> PreparedModel:
    """Return an `hf:` model built on `device`, called with one tensor (token ids or images) by `TensorOutput`.

    Its statistics need real weights, so it is refused above MAX_HF_PARAMS before anything real is built.
    """
    source = model_source(name, options)  # batch 1 × seq_len tokens (or one image) unless `batch` says more
    assert source.hf is not None and isinstance(source.input_size, tuple), "an hf: source has its config"
    meta = source.build("meta")
    count = sum(p.numel() for p in meta.parameters())
    if count > MAX_HF_PARAMS:
        small = ", ".join(f"{PREFIX}{name}" for name in SMALL_HF)
        raise InvalidArgumentError(
            "init.hf_too_large",
            model=source.label,
            params=f"{count:,}",
            limit=f"{MAX_HF_PARAMS:,}",
            small=small,
        )
    module = meta if device == "meta" else source.build(device)
    vocab = source.hf.config.get("vocab_size")
    vocab_size = vocab if isinstance(vocab, int) and not source.hf.is_vision else None
    dtype = source.input_dtype or torch.float32
    return PreparedModel(
        TensorOutput(module, source.hf), source.label, _batch(source.input_size, batch), dtype, vocab_size
    )


def prepare_model(
    model_or_name: nn.Module | str,
    options: Mapping[str, object] | None,
    input_size: tuple[int, ...] | None,
    batch: int | None,
    device: str = "cpu",
) -> PreparedModel:
    """Return the model to initialise and its input size (batch applied; DEFAULT_BATCH for a named model).

    A named model is built on `device`: "meta" gives the pre-flight its copy without allocating.
    """
    size = validate_size(input_size) if input_size is not None else None
    if isinstance(model_or_name, nn.Module):
        if options:
            raise InvalidArgumentError("errors_b.options_for_module")
        if size is None:
            raise InvalidArgumentError("errors_b.input_size_unknown", model=type(model_or_name).__name__)
        return PreparedModel(model_or_name, type(model_or_name).__name__, _batch(size, batch))
    if str(model_or_name).strip().startswith(PREFIX):
        if size is not None:  # its input follows its config: token ids or images
            raise InvalidArgumentError("sources.hf_input", model=str(model_or_name))
        return _prepare_hf(str(model_or_name).strip(), options, batch, device)
    name = str(model_or_name).strip().lower()
    if name in DEEP_MODELS:
        model, default_size = _build_deep(DEEP_MODELS[name], options, device)
        dtype = torch.float32
    elif name in ZOO:
        model, source = resolve_model(name, options, device)  # the one resolver every command shares
        assert isinstance(source.input_size, tuple), "every zoo model takes one input"
        default_size, dtype = source.input_size, source.input_dtype or torch.float32  # None: floats
    else:
        raise UnknownNameError(
            "errors_b.unknown_init_model", name=repr(model_or_name), choices=", ".join(model_names())
        )
    if size is None:
        size, batch = default_size, DEFAULT_BATCH if batch is None else batch
    return PreparedModel(model, name, _batch(size, batch), dtype)


@contextmanager
def reserved_measurement(
    model_or_name: nn.Module | str,
    options: Mapping[str, object] | None,
    input_size: tuple[int, ...] | None,
    batch: int | None,
) -> Iterator[None]:
    """Hold, in the memory budget, what a named model's measurement needs; refuse it before building.

    The figure is found on meta: the model and its initialised copy, and the peak of one forward
    and backward (saved activations and gradients). A module the caller built is already in memory.
    """
    if isinstance(model_or_name, nn.Module):
        yield
        return
    probe = prepare_model(model_or_name, options, input_size, batch, device="meta")
    peak = forward_backward_peak(probe.model, probe.input_size, probe.input_dtype)
    with reserve(Preflight("cpu", 2 * resident_bytes(probe.model), peak), torch.device("cpu"), probe.label):
        yield


# The gain `nn.init.calculate_gain` should use for each activation of the deep stacks. GELU has no gain of
# its own in torch; it is ReLU-like for positive inputs, so ReLU's √2 is the usual choice.
GAIN_FOR_ACTIVATION: dict[ActivationFunction, Nonlinearity] = {
    ActivationFunction.RELU: Nonlinearity.RELU,
    ActivationFunction.LEAKY_RELU: Nonlinearity.LEAKY_RELU,
    ActivationFunction.TANH: Nonlinearity.TANH,
    ActivationFunction.SIGMOID: Nonlinearity.SIGMOID,
    ActivationFunction.GELU: Nonlinearity.RELU,
    ActivationFunction.SELU: Nonlinearity.SELU,
    ActivationFunction.IDENTITY: Nonlinearity.LINEAR,
}


def nonlinearity_for(activation: str) -> Nonlinearity:
    """Return the `nonlinearity=` that matches `activation` (relu for ReLU, not torch's leaky_relu default)."""
    return GAIN_FOR_ACTIVATION[ActivationFunction(activation)]
