"""Training memory before a run: parameters, gradients, optimizer state and saved activations.

A chain, as accelerate's estimate-memory: `_collect` runs one forward and loss under autograd's
saved-tensor hooks on tensors that hold no memory (meta, or FakeTensorMode on the target device),
`_weight_parts` turns parameter counts into named byte parts, and only the CLI and the app format.
`largest_batch_size` fits the affine law total(B) = fixed + per_sample · B from two measurements
and checks the answer on either side with real measurements.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum

import torch
from torch import nn
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.func import functional_call
from torch.nn import functional as F

from inspector.core.devices import resolve_device
from inspector.core.errors import ForwardError, InvalidArgumentError
from inspector.core.messages import Message
from inspector.core.shapes import ShapeTree, format_shape_tree, shape_tree, validate_size
from inspector.doctor.diagnose import diagnose_failure
from inspector.model.zoo import _build_on, get_zoo_entry, import_model_class, zoo_options

MAX_BATCH_SIZE = 2**20  # far beyond any real batch; bigger is a typo
LOSS_LAYER = "(loss)"  # the breakdown's name for what the loss function saves


class Precision(StrEnum):
    """How weights and activations are stored; MIXED computes in bf16 and keeps fp32 master weights."""

    FP32 = "fp32"
    BF16 = "bf16"
    FP16 = "fp16"
    MIXED = "mixed"


class OptimizerName(StrEnum):
    """The optimizers the planner knows the state of."""

    SGD = "sgd"
    SGD_MOMENTUM = "sgd_momentum"
    ADAM = "adam"
    ADAMW = "adamw"


class LossName(StrEnum):
    """The losses a training step can use; targets are made to fit the model's output."""

    CROSS_ENTROPY = "cross_entropy"
    MSE = "mse"


COMPUTE_DTYPE = {
    Precision.FP32: torch.float32,
    Precision.BF16: torch.bfloat16,
    Precision.FP16: torch.float16,
    Precision.MIXED: torch.bfloat16,  # bf16 needs no loss scaling, unlike fp16
}
STATE_SLOTS = {
    OptimizerName.SGD: 0,  # plain SGD keeps nothing between steps
    OptimizerName.SGD_MOMENTUM: 1,  # momentum_buffer: one tensor like each parameter
    OptimizerName.ADAM: 2,  # exp_avg and exp_avg_sq
    OptimizerName.ADAMW: 2,  # the same two; decoupled weight decay adds none
}
ADAM_STEP_BYTES = 4  # Adam's `step` is one float32 scalar tensor per parameter tensor


_ALIASES = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16", "amp": "mixed", "crossentropy": "cross_entropy"}


def parse_choice(kind: type[StrEnum], value: object, what: str) -> StrEnum:
    """Return the member of `kind` named `value`, or raise listing the choices."""
    text = str(value).strip().lower().replace("-", "_") if isinstance(value, str) else None
    text = _ALIASES.get(text, text)
    if text in {member.value for member in kind}:
        return kind(text)
    raise InvalidArgumentError(
        f"unknown {what} {value!r}",
        f"choose one of: {', '.join(kind)}",
        key="errors_b.unknown_choice",
        params={"name": _what(what), "value": repr(value), "choices": ", ".join(kind)},
    )


def _what(what: str) -> Message:
    """Return the name of a checked value (`batch size`, `optimizer`) as a Message its catalogues may translate."""
    return Message(what, "engine.errors_b.what." + (re.sub(r"\W+", "_", what).strip("_") or "value"))


def check_count(value: object, what: str, maximum: int, minimum: int = 1) -> int:
    """Return `value` as a whole number in [minimum, maximum], or raise saying the range."""
    number = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif (isinstance(value, float) and value.is_integer()) or (  # NaN and inf are not integers
        isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value)
    ):
        number = int(value)
    hint = f"give a whole number from {minimum:,} to {maximum:,}"
    if number is None:
        raise InvalidArgumentError(
            f"{what} must be a whole number, got {value!r}",
            hint,
            key="errors_b.count_not_whole",
            params={"what": _what(what), "value": repr(value), "minimum": f"{minimum:,}", "maximum": f"{maximum:,}"},
        )
    if not minimum <= number <= maximum:
        raise InvalidArgumentError(
            f"{what} must be between {minimum:,} and {maximum:,}, got {number:,}",
            hint,
            key="errors_b.count_out_of_range",
            params={"what": _what(what), "value": f"{number:,}", "minimum": f"{minimum:,}", "maximum": f"{maximum:,}"},
        )
    return number


@dataclass(frozen=True)
class LayerActivations:
    """Saved-activation bytes attributed to one module: the innermost one running when saved."""

    name: str
    type: str
    bytes: int
    tensors: int


@dataclass(frozen=True)
class MemoryEstimate:
    """Training memory in bytes, by named part; `total` assumes every part is held at once."""

    model: str
    batch_size: int
    input_shapes: tuple[tuple[int, ...], ...]
    output_shape: tuple[int, ...]
    precision: str
    optimizer: str
    loss: str
    device: str  # whose kernels the forward followed (meta: device-independent ones)
    parameter_count: int
    trainable_parameter_count: int
    parameters: int
    buffers: int
    gradients: int
    master_weights: int
    optimizer_state: int
    activations: int
    outputs: int
    inputs: int
    layers: tuple[LayerActivations, ...]

    def parts(self) -> dict[str, int]:
        """Return the named parts in the order they are presented."""
        names = ("parameters", "buffers", "gradients", "master_weights", "optimizer_state", "activations")
        return {name: getattr(self, name) for name in (*names, "outputs", "inputs")}

    @property
    def total(self) -> int:
        """Return the sum of all parts."""
        return sum(self.parts().values())

    def to_dict(self) -> dict[str, object]:
        """Return the estimate as JSON-ready data, total included."""
        return {**asdict(self), "total": self.total}


@dataclass(frozen=True)
class Subject:
    """The model to plan for, with its per-sample input shapes and the dtype of token inputs."""

    model: nn.Module
    label: str
    sample_shapes: tuple[tuple[int, ...], ...]
    token_dtype: torch.dtype | None  # integer inputs (token ids): classes are the output's last dim


def _sample_shapes(input_size: object) -> tuple[tuple[int, ...], ...]:
    if isinstance(input_size, Sequence) and input_size and all(isinstance(s, Sequence) for s in input_size):
        return tuple(validate_size(tuple(s), "sample shape") for s in input_size)
    return (validate_size(tuple(input_size) if isinstance(input_size, Sequence) else input_size, "sample shape"),)


def load_model(
    name: str, options: Mapping[str, object] | None, device: torch.device, dtype: torch.dtype | None = None
) -> tuple[nn.Module, str, torch.dtype | None, tuple[int, ...] | None]:
    """Return a zoo model or `module:Class` built on `device`, its label, token dtype and default sample shape."""
    if not isinstance(name, str):
        raise InvalidArgumentError(
            f"model must be a zoo name or module:Class, got {type(name).__name__}",
            key="errors_b.model_not_name",
            params={"type": type(name).__name__},
        )
    if ":" in name:
        factory = import_model_class(name)
        return _build_on(lambda: factory(**dict(options or {})), device, dtype, name), name, None, None
    entry = get_zoo_entry(name)
    values = zoo_options(entry, options)
    model = _build_on(lambda: entry.build(**values), device, dtype, entry.name)
    token_dtype = None if entry.input_dtype.is_floating_point else entry.input_dtype
    return model, entry.name, token_dtype, entry.input_size_for(**values)[1:]


def resolve_subject(model: str | nn.Module, options: Mapping[str, object] | None, input_size: object) -> Subject:
    """Return the model built on meta (a module is used as is) with its per-sample input shapes."""
    if isinstance(model, nn.Module):
        module, label, token_dtype, default = model, type(model).__name__, None, None
    else:
        module, label, token_dtype, default = load_model(model, options, torch.device("meta"))
    if input_size is None and default is None:
        raise InvalidArgumentError(
            f"{label} is not a zoo model, so its input size is unknown",
            "give the shape of one sample without the batch dimension, e.g. 3,224,224",
            key="errors_b.sample_shape_unknown",
            params={"model": label},
        )
    return Subject(module, label, _sample_shapes(default if input_size is None else input_size), token_dtype)


def make_targets(
    output: object, loss: LossName, classes_last: bool, device: torch.device | None = None
) -> torch.Tensor:
    """Return synthetic targets that fit `output` for `loss`, on `device` (default: the output's).

    Cross entropy gets class ids from the class dimension (dim 1, or the last one for token
    models); mse gets random values shaped like the output.
    """
    if not isinstance(output, torch.Tensor) or not output.is_floating_point():
        raise InvalidArgumentError(
            f"the loss needs the model to return one floating-point tensor, got "
            f"{getattr(output, 'dtype', type(output).__name__)}",
            key="errors_b.loss_needs_float",
            params={"got": getattr(output, "dtype", type(output).__name__)},
        )
    device = output.device if device is None else device
    if loss is LossName.MSE:
        return torch.randn(output.shape, dtype=output.dtype, device=device)
    if output.dim() < 2:
        raise InvalidArgumentError(
            f"cross_entropy needs an output with a class dimension (N, C, …); the model gives {tuple(output.shape)}",
            "use the loss 'mse'",
            key="errors_b.cross_entropy_needs_classes",
            params={"shape": tuple(output.shape)},
        )
    classes = output.shape[-1] if classes_last else output.shape[1]
    shape = output.shape[:-1] if classes_last else (output.shape[0], *output.shape[2:])
    return torch.randint(0, classes, tuple(shape), device=device)


def compute_loss(output: torch.Tensor, targets: torch.Tensor, loss: LossName, classes_last: bool) -> torch.Tensor:
    """Return the scalar loss; token models score every position: (B, T, V) → (B·T, V)."""
    if loss is LossName.MSE:
        return F.mse_loss(output, targets)
    if classes_last:
        return F.cross_entropy(output.reshape(-1, output.shape[-1]), targets.reshape(-1))
    return F.cross_entropy(output, targets)


def _weight_parts(model: nn.Module, precision: Precision, optimizer: OptimizerName) -> dict[str, int]:
    """Return the parts that depend on the weights only: they do not grow with the batch."""
    compute = COMPUTE_DTYPE[precision]

    def size(tensor: torch.Tensor) -> int:  # float tensors are stored in the compute dtype
        return tensor.numel() * (compute.itemsize if tensor.is_floating_point() else tensor.element_size())

    params = list(model.parameters())  # a tied weight is yielded once
    trainable = [p for p in params if p.requires_grad]
    trainable_numel = sum(p.numel() for p in trainable)
    # The optimizer's state is like the tensors it updates: fp32 masters under mixed precision.
    state_itemsize = 4 if precision is Precision.MIXED else compute.itemsize
    adam = optimizer in (OptimizerName.ADAM, OptimizerName.ADAMW)
    return {
        "parameters": sum(size(p) for p in params),  # 1× the weights, in the compute dtype
        "buffers": sum(size(b) for b in model.buffers()),  # running statistics and the like
        "gradients": sum(size(p) for p in trainable),  # 1× the trainable weights, same dtype
        # Mixed precision: one fp32 copy (4 bytes) of each trainable weight, which the optimizer updates.
        "master_weights": trainable_numel * 4 if precision is Precision.MIXED else 0,
        "optimizer_state": trainable_numel * state_itemsize * STATE_SLOTS[optimizer]
        + (ADAM_STEP_BYTES * len(trainable) if adam else 0),
    }


@dataclass(frozen=True)
class _Collected:
    layers: tuple[LayerActivations, ...]
    output_shape: tuple[int, ...]
    outputs: int
    inputs: int


def _storage_key(tensor: torch.Tensor) -> int:
    # On meta and fake tensors data_ptr() is 0 for every tensor, so it cannot tell storages apart.
    # `_cdata` is the address of the C++ StorageImpl that all views of one tensor share; two live
    # storages never share it, and `_collect` keeps every storage it has seen alive until it ends,
    # so an address cannot be reused for a new storage while it is being counted.
    return tensor.untyped_storage()._cdata


@contextlib.contextmanager
def _innermost_module(model: nn.Module) -> Iterator[tuple[list[str], dict[str, ShapeTree]]]:
    """Yield a stack whose last entry names the module running now, and each module's latest input shape."""
    stack = [""]
    received: dict[str, ShapeTree] = {}
    handles = []

    def enter(name: str) -> Callable[..., None]:
        def hook(_module: nn.Module, args: tuple) -> None:  # None: the input is left alone
            stack.append(name)
            received[name] = shape_tree(args[0] if len(args) == 1 else list(args))

        return hook

    def leave(*_: object) -> None:  # returns None: a forward hook's return value would replace the output
        stack.pop()  # not called when the forward raises, so the failing module stays on top

    try:
        for name, module in model.named_modules():
            handles.append(module.register_forward_pre_hook(enter(name)))
            handles.append(module.register_forward_hook(leave))
        yield stack, received
    finally:
        for handle in handles:
            handle.remove()


@contextlib.contextmanager
def _training_mode(model: nn.Module) -> Iterator[None]:
    modes = [(module, module.training) for module in model.modules()]
    try:
        model.train()  # training memory: dropout masks and batch statistics are saved in train mode
        yield
    finally:
        for module, training in modes:
            module.training = training


def _stand_ins(model: nn.Module, device: torch.device, compute: torch.dtype) -> dict[str, torch.Tensor]:
    """Return memory-free stand-ins for every parameter and buffer; tied names share one stand-in."""
    made: dict[int, torch.Tensor] = {}
    state = {}
    named = [*model.named_parameters(remove_duplicate=False), *model.named_buffers(remove_duplicate=False)]
    for name, tensor in named:
        if id(tensor) not in made:
            dtype = compute if tensor.is_floating_point() else tensor.dtype
            made[id(tensor)] = torch.empty(tensor.shape, dtype=dtype, device=device).requires_grad_(
                tensor.requires_grad and isinstance(tensor, nn.Parameter)
            )
        state[name] = made[id(tensor)]
    return state


def _collect(subject: Subject, batch: int, precision: Precision, loss: LossName, device: torch.device) -> _Collected:
    """Run forward and loss on memory-free tensors; return saved bytes per module, output and input sizes."""
    compute = COMPUTE_DTYPE[precision]
    model = subject.model
    types = {name: type(module).__name__ for name, module in model.named_modules()}
    seen: dict[int, torch.UntypedStorage] = {}
    per_layer: dict[str, list[int]] = {}
    # Meta runs device-independent kernels; FakeTensorMode runs the target device's own choices
    # (e.g. flash attention, which saves far less than the math path) and still allocates nothing.
    memory_free = contextlib.nullcontext() if device.type == "meta" else FakeTensorMode(allow_non_fake_inputs=True)
    with memory_free, _training_mode(model), _innermost_module(model) as (stack, received), torch.enable_grad():
        state = _stand_ins(model, device, compute)
        inputs = [_input((batch, *shape), subject.token_dtype or compute, device) for shape in subject.sample_shapes]
        excluded = {_storage_key(t) for t in [*state.values(), *inputs]}  # counted as parameters / inputs

        def pack(tensor: torch.Tensor) -> torch.Tensor:
            storage = tensor.untyped_storage()
            key = _storage_key(tensor)
            if key not in excluded and key not in seen:
                seen[key] = storage  # kept alive: see _storage_key
                record = per_layer.setdefault(stack[-1], [0, 0])
                record[0] += storage.nbytes()
                record[1] += 1
            return tensor

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
            output = _guarded(lambda: functional_call(model, state, tuple(inputs)), model, stack, received)
            token_model = subject.token_dtype is not None
            targets = make_targets(output, loss, token_model)
            excluded.add(_storage_key(targets))
            stack.append(LOSS_LAYER)
            _guarded(lambda: compute_loss(output, targets, loss, token_model), model, stack, received)
        unsaved_output = 0 if _storage_key(output) in seen else output.untyped_storage().nbytes()
        input_bytes = sum(t.untyped_storage().nbytes() for t in [*inputs, targets])
    layers = tuple(
        LayerActivations(name or subject.label, types.get(name, "loss"), b, n) for name, (b, n) in per_layer.items()
    )
    return _Collected(layers, tuple(output.shape), unsaved_output, input_bytes)


def _input(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    if dtype.is_floating_point:
        return torch.empty(shape, dtype=dtype, device=device)
    return torch.zeros(shape, dtype=dtype, device=device)  # token id 0 exists in every vocabulary


def _guarded(
    action: Callable[[], object], model: nn.Module, stack: list[str], received: dict[str, ShapeTree]
) -> object:
    """Return `action()`; torch's errors become a ForwardError naming the module that was running."""
    try:
        return action()
    except (RuntimeError, ValueError, TypeError, IndexError, AssertionError) as error:
        name = stack[-1]
        module = None if name == LOSS_LAYER else model.get_submodule(name)
        kind = "loss" if module is None else type(module).__name__
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        shape = received.get(name)
        model_fix = diagnose_failure(module, shape) if module is not None else None
        input_fix = "check the input size (one sample, without the batch dimension)"
        raise ForwardError(
            f"the training forward failed in {name or type(model).__name__} ({kind}) on input "
            f"{format_shape_tree(shape)}: {message}",
            f"{model_fix}; or {input_fix}" if model_fix else f"{input_fix} and the loss",
            module_name=name,
            module_type=kind,
            input_shape=shape,
            torch_message=message,
        ) from None


def estimate_subject(
    subject: Subject,
    batch_size: int,
    precision: Precision,
    optimizer: OptimizerName,
    loss: LossName,
    device: torch.device,
) -> MemoryEstimate:
    """Return the estimate for an already resolved subject (validated arguments)."""
    collected = _collect(subject, batch_size, precision, loss, device)
    params = list(subject.model.parameters())
    return MemoryEstimate(
        model=subject.label,
        batch_size=batch_size,
        input_shapes=tuple((batch_size, *shape) for shape in subject.sample_shapes),
        output_shape=collected.output_shape,
        precision=precision.value,
        optimizer=optimizer.value,
        loss=loss.value,
        device=str(device),
        parameter_count=sum(p.numel() for p in params),
        trainable_parameter_count=sum(p.numel() for p in params if p.requires_grad),
        **_weight_parts(subject.model, precision, optimizer),
        activations=sum(layer.bytes for layer in collected.layers),
        outputs=collected.outputs,
        inputs=collected.inputs,
        layers=collected.layers,
    )


def estimate_training_memory(
    model_name_or_module: str | nn.Module,
    input_size: object = None,
    batch_size: object = 1,
    precision: str = Precision.FP32,
    optimizer: str = OptimizerName.ADAM,
    device: str | torch.device = "meta",
    *,
    options: Mapping[str, object] | None = None,
    loss: str = LossName.CROSS_ENTROPY,
) -> MemoryEstimate:
    """Return the training memory of one step, by named part, without allocating any of it.

    `input_size` is one sample's shape without the batch dimension (None: the zoo model's own);
    `device` chooses whose kernels the forward follows: 'meta' (device-independent), or a real
    device run under FakeTensorMode. A module passed in is left as found.
    """
    batch = check_count(batch_size, "batch size", MAX_BATCH_SIZE)
    chosen = (parse_choice(Precision, precision, "precision"), parse_choice(OptimizerName, optimizer, "optimizer"))
    loss_name = parse_choice(LossName, loss, "loss")
    target = resolve_device(device)
    subject = resolve_subject(model_name_or_module, options, input_size)
    return estimate_subject(subject, batch, *chosen, loss_name, target)


# GPU makers label memory in binary units: an "A100 80GB" has 81,920 MiB = 80 GiB. So GB, G and
# GiB all mean 2**30 bytes here, and a bare number means GiB, as in the presets.
_UNITS = {"": 2**30, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
BUDGET_PRESETS = {f"{gib} GB": gib * 2**30 for gib in (8, 16, 24, 40, 80)}
MIN_BUDGET = 2**20  # 1 MiB: less cannot hold a model; it is a missing unit
MAX_BUDGET = 2**50  # 1 PiB: no single device comes near it


def device_total_memory(device: torch.device) -> int:
    """Return the device's real total memory in bytes (cpu: MemTotal of /proc/meminfo)."""
    if device.type == "cuda":
        return int(torch.cuda.get_device_properties(device).total_memory)
    if device.type == "mps" and hasattr(torch.mps, "recommended_max_memory"):
        return int(torch.mps.recommended_max_memory())
    if device.type == "cpu":
        with contextlib.suppress(OSError), open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    raise InvalidArgumentError(
        f"the total memory of {device} is unknown",
        "give the budget as a size, e.g. 24GB",
        key="errors_b.memory_unknown",
        params={"device": device},
    )


def check_budget(value: object) -> int:
    """Return a budget in bytes after checking it is a finite number between 1 MiB and 1 PiB."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidArgumentError(
            f"the memory budget must be a number of bytes, got {value!r}",
            "e.g. 24GB, 80 GiB or 'device'",
            key="errors_b.budget_not_number",
            params={"value": repr(value)},
        )
    if not MIN_BUDGET <= value <= MAX_BUDGET:
        raise InvalidArgumentError(
            f"a memory budget of {value:,.0f} bytes is out of range",
            "give 1 MiB to 1 PiB, e.g. 24GB, 80 GiB or 'device'",
            key="errors_b.budget_out_of_range",
            params={"value": f"{value:,.0f}"},
        )
    return int(value)


def parse_budget(text: object, device: str | torch.device | None = None) -> int:
    """Return the bytes of a budget written '24GB', '24 GiB', '80G', '16' (GiB) or 'device' (its total)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return check_budget(text)
    raw = str(text).strip().lower() if isinstance(text, str) else ""
    if raw == "device":
        target = resolve_device(device)
        if target.type == "meta":
            raise InvalidArgumentError(
                "'device' as a budget needs a real device; meta has no memory",
                "choose a device, or give a size such as 24GB",
                key="errors_b.budget_on_meta",
            )
        return check_budget(device_total_memory(target))
    match = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)\s*([kmgt]?)(?:i?b)?", raw) or re.fullmatch(r"(\d+)\s*(b)", raw)
    if match is None:
        raise InvalidArgumentError(
            f"cannot read the memory budget {text!r}",
            f"write a size such as 24GB, 24 GiB or 80G, or 'device'; presets: {', '.join(BUDGET_PRESETS)}",
            key="errors_b.budget_unreadable",
            params={"text": repr(text), "presets": ", ".join(BUDGET_PRESETS)},
        )
    return check_budget(float(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True)
class BatchSearch:
    """The largest batch whose estimate fits `budget_bytes` (0: not even one sample).

    `fixed_bytes + per_sample_bytes · B` is the affine fit; `measured` lists every (batch, total)
    that was really measured, including the two either side of the answer.
    """

    budget_bytes: int
    largest_batch: int
    fixed_bytes: int
    per_sample_bytes: float
    measured: tuple[tuple[int, int], ...]
    capped: bool  # the budget allows more than MAX_BATCH_SIZE

    def bytes_at(self, batch: int) -> int:
        """Return the fitted total at `batch` (exact where measured: the law is affine)."""
        return dict(self.measured).get(batch, round(self.fixed_bytes + self.per_sample_bytes * batch))

    def to_dict(self) -> dict[str, object]:
        """Return the search as JSON-ready data."""
        return asdict(self)


def _search(total_at: Callable[[int], int], budget: int) -> tuple[int, float, int]:
    """Return (largest fitting batch, per-sample bytes, fixed bytes): fit, solve, then bracket and bisect."""
    one, two = total_at(1), total_at(2)
    per_sample = two - one  # the forward saves the same tensors per sample, so totals are affine
    fixed = one - per_sample
    guess = MAX_BATCH_SIZE if per_sample <= 0 else int((budget - fixed) // per_sample)
    guess = min(max(guess, 1), MAX_BATCH_SIZE)

    def fits(batch: int) -> bool:
        return batch == 0 or (batch <= MAX_BATCH_SIZE and total_at(batch) <= budget)

    # The guess is checked with a real measurement either side; should the law bend, the bracket
    # widens by doubling steps and bisection finishes, so the answer is right in any case.
    step = 1
    if fits(guess):
        low = guess
        while low < MAX_BATCH_SIZE and fits(low + step):
            low, step = low + step, step * 2
        high = low + step
    else:
        high = guess
        while high > 1 and not fits(max(high - step, 0)):
            high, step = max(high - step, 0), step * 2
        low = max(high - step, 0)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low, per_sample, fixed


def largest_batch_size(
    model_name_or_module: str | nn.Module,
    input_size: object = None,
    budget_bytes: object = None,
    precision: str = Precision.FP32,
    optimizer: str = OptimizerName.ADAM,
    device: str | torch.device = "meta",
    *,
    options: Mapping[str, object] | None = None,
    loss: str = LossName.CROSS_ENTROPY,
) -> BatchSearch:
    """Return the largest batch size whose training-memory estimate fits `budget_bytes`.

    Measures batches 1 and 2, solves the affine fit for the budget, then measures the answer and
    the answer + 1 to confirm it (a handful of memory-free forwards, never every batch size).
    """
    budget = parse_budget(budget_bytes, device)
    chosen = (parse_choice(Precision, precision, "precision"), parse_choice(OptimizerName, optimizer, "optimizer"))
    loss_name = parse_choice(LossName, loss, "loss")
    target = resolve_device(device)
    subject = resolve_subject(model_name_or_module, options, input_size)
    totals: dict[int, int] = {}

    def total_at(batch: int) -> int:
        if batch not in totals:
            totals[batch] = estimate_subject(subject, batch, *chosen, loss_name, target).total
        return totals[batch]

    largest, per_sample, fixed = _search(total_at, budget)
    return BatchSearch(
        budget, largest, fixed, float(per_sample), tuple(sorted(totals.items())), capped=largest >= MAX_BATCH_SIZE
    )
