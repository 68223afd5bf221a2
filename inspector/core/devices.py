"""Which devices this process can really use, and turning a user's device string into one."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from inspector.core.errors import DeviceUnavailableError, InvalidArgumentError
from inspector.core.messages import msg


@dataclass(frozen=True)
class DeviceInfo:
    """One usable device: `name` as torch spells it, a readable `label` (a `Message` where it has words), total
    memory if known."""

    name: str
    label: str
    total_memory: int | None = None


def cuda_visible_devices() -> str | None:
    """Return `CUDA_VISIBLE_DEVICES` as this process sees it (None when unset: all GPUs)."""
    return os.environ.get("CUDA_VISIBLE_DEVICES")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> list[DeviceInfo]:
    """List cpu, each visible cuda:N with its name and memory, mps, and meta, in that order."""
    devices = [DeviceInfo("cpu", "cpu")]
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            gib = props.total_memory / 2**30
            devices.append(
                DeviceInfo(f"cuda:{index}", f"cuda:{index} — {props.name}, {gib:.0f} GiB", props.total_memory)
            )
    if _mps_available():
        devices.append(DeviceInfo("mps", msg("engine.core.device_label.mps")))
    devices.append(DeviceInfo("meta", msg("engine.core.device_label.meta")))
    return devices


def resolve_device(device: str | torch.device | None) -> torch.device:
    """Return the torch.device for `device` (None → cpu), or raise listing the devices that exist."""
    if device is None:
        return torch.device("cpu")
    if isinstance(device, torch.device):
        text = str(device)
    elif isinstance(device, str):
        text = device.strip().lower()
    else:
        raise InvalidArgumentError("core.device_not_text", type=type(device).__name__)
    names = [info.name for info in available_devices()]
    if text == "cuda" and torch.cuda.is_available():
        text = "cuda:0"
    if text in names:
        return torch.device(text)
    try:
        torch.device(text)
    except RuntimeError:
        raise DeviceUnavailableError("not_a_device", device=repr(text), choices=", ".join(names)) from None
    if text.startswith("cuda") and torch.version.cuda is None:  # no driver or GPU could help this torch
        release = torch.__version__.split("+")[0]
        raise DeviceUnavailableError("core.cpu_build", device=repr(text), version=torch.__version__, release=release)
    visible = cuda_visible_devices()
    where = f" (CUDA_VISIBLE_DEVICES={visible!r})" if visible is not None else ""
    raise DeviceUnavailableError("device_unavailable", device=repr(text), where=where, choices=", ".join(names))
