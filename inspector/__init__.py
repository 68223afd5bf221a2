"""PyTorch Shape Inspector: what real PyTorch does with a layer or model, and why."""

from inspector.devices import DeviceInfo, available_devices, cuda_visible_devices, resolve_device
from inspector.errors import (
    DeviceUnavailableError,
    ForwardError,
    InspectorError,
    InvalidArgumentError,
    UnknownNameError,
)
from inspector.model_inspection import inspect_model
from inspector.report import LayerReport, ModelReport
from inspector.worked import Worked

__all__ = [
    "DeviceInfo",
    "DeviceUnavailableError",
    "ForwardError",
    "InspectorError",
    "InvalidArgumentError",
    "LayerReport",
    "ModelReport",
    "UnknownNameError",
    "Worked",
    "available_devices",
    "cuda_visible_devices",
    "inspect_model",
    "resolve_device",
]
