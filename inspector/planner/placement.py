"""Where the tensors of a training step are: the devices PyTorch needs to be one, and the GPUs it sees.

`DevicePlacement` records the devices of parameters, inputs, outputs, loss and gradients in a real
step; `MisplacedInput` is PyTorch's own error when the input sits elsewhere, with the one-line fix;
`visible_gpus` maps torch's GPU indices to the physical ones behind CUDA_VISIBLE_DEVICES.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from inspector.core.devices import cuda_visible_devices


@dataclass(frozen=True)
class VisibleGPU:
    """A GPU this process sees: torch's index, the physical index CUDA_VISIBLE_DEVICES maps it to."""

    index: str
    physical: str | None
    name: str
    uuid: str | None
    total_memory: int


@dataclass(frozen=True)
class DevicePlacement:
    """The devices of everything in the last step; PyTorch needs them all to be one."""

    parameters: tuple[str, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    loss: tuple[str, ...]
    gradients: tuple[str, ...]

    @property
    def same_device(self) -> bool:
        """Return whether every tensor of the step sat on one device."""
        return len({*self.parameters, *self.inputs, *self.outputs, *self.loss, *self.gradients}) == 1


@dataclass(frozen=True)
class MisplacedInput:
    """What PyTorch said when the input was left on another device than the model, and the fix."""

    model_device: str
    input_device: str
    torch_message: str | None  # None: PyTorch raised nothing
    fix: str


def visible_gpus() -> tuple[VisibleGPU, ...]:
    """Return the GPUs this process sees, with the physical index behind each (from CUDA_VISIBLE_DEVICES)."""
    if not torch.cuda.is_available():
        return ()
    mapping = [part.strip() for part in (cuda_visible_devices() or "").split(",") if part.strip()]
    gpus = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        physical = mapping[index] if index < len(mapping) else (None if mapping else str(index))
        uuid = getattr(props, "uuid", None)
        gpus.append(
            VisibleGPU(f"cuda:{index}", physical, props.name, str(uuid) if uuid else None, int(props.total_memory))
        )
    return tuple(gpus)


def other_device(device: torch.device) -> torch.device:
    """Return a device the input can wrongly sit on: cpu for an accelerator, else cuda:0, else meta."""
    if device.type != "cpu":
        return torch.device("cpu")
    return torch.device("cuda:0") if torch.cuda.is_available() else torch.device("meta")


def tensor_devices(tensors: object) -> tuple[str, ...]:
    """Return the sorted devices of the tensors in `tensors` (one tensor, or a list or tuple of them)."""
    items = tensors if isinstance(tensors, (list, tuple)) else [tensors]
    return tuple(sorted({str(t.device) for t in items if isinstance(t, torch.Tensor)}))
