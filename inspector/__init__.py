"""PyTorch Shape Inspector: what real PyTorch does with a layer or model, and why.

The public API: inspect a model or one layer, explain its numbers, plan its training memory,
initialise it, build a network from a spec, and read checkpoints — all as dataclasses of numbers;
the CLI (`python -m inspector`) and the web app turn them into text.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names, for type checkers and editors
    from inspector.builder.build import BuildResult, build_network, propagate
    from inspector.builder.code import generate_code
    from inspector.checkpoint.match import CheckpointMatch, match_checkpoint, match_module
    from inspector.checkpoint.reader import CheckpointReport, read_checkpoint
    from inspector.core.devices import DeviceInfo, available_devices, cuda_visible_devices, resolve_device
    from inspector.core.errors import (
        DeviceUnavailableError,
        ForwardError,
        InspectorError,
        InvalidArgumentError,
        UnknownNameError,
    )
    from inspector.core.report import LayerReport, ModelReport
    from inspector.core.worked import Worked
    from inspector.doctor.fixes import Fix, apply_fix
    from inspector.init.report import InitReport, init_report
    from inspector.init.schemes import InitScheme, apply_init
    from inspector.lab.inspection import LayerInspection, inspect_layer
    from inspector.layers.network_spec import NetworkSpec
    from inspector.model.inspection import inspect_model
    from inspector.model.zoo import build_zoo_model, inspect_named_model
    from inspector.planner.estimate import estimate_training_memory
    from inspector.planner.largest_batch import largest_batch_size
    from inspector.planner.train_step import measure_training_step

# What each public name is imported from. Imported on first use (`__getattr__` below): a script that
# needs one model inspection does not load the builder, planner, init and checkpoint packages.
_EXPORTS: dict[str, str] = {
    "BuildResult": "inspector.builder.build",
    "CheckpointMatch": "inspector.checkpoint.match",
    "CheckpointReport": "inspector.checkpoint.reader",
    "DeviceInfo": "inspector.core.devices",
    "DeviceUnavailableError": "inspector.core.errors",
    "Fix": "inspector.doctor.fixes",
    "ForwardError": "inspector.core.errors",
    "InitReport": "inspector.init.report",
    "InitScheme": "inspector.init.schemes",
    "InspectorError": "inspector.core.errors",
    "InvalidArgumentError": "inspector.core.errors",
    "LayerInspection": "inspector.lab.inspection",
    "LayerReport": "inspector.core.report",
    "ModelReport": "inspector.core.report",
    "NetworkSpec": "inspector.layers.network_spec",
    "UnknownNameError": "inspector.core.errors",
    "Worked": "inspector.core.worked",
    "apply_fix": "inspector.doctor.fixes",
    "apply_init": "inspector.init.schemes",
    "available_devices": "inspector.core.devices",
    "build_network": "inspector.builder.build",
    "build_zoo_model": "inspector.model.zoo",
    "cuda_visible_devices": "inspector.core.devices",
    "estimate_training_memory": "inspector.planner.estimate",
    "generate_code": "inspector.builder.code",
    "init_report": "inspector.init.report",
    "inspect_layer": "inspector.lab.inspection",
    "inspect_model": "inspector.model.inspection",
    "inspect_named_model": "inspector.model.zoo",
    "largest_batch_size": "inspector.planner.largest_batch",
    "match_checkpoint": "inspector.checkpoint.match",
    "match_module": "inspector.checkpoint.match",
    "measure_training_step": "inspector.planner.train_step",
    "propagate": "inspector.builder.build",
    "read_checkpoint": "inspector.checkpoint.reader",
    "resolve_device": "inspector.core.devices",
}

__all__ = [
    "BuildResult",
    "CheckpointMatch",
    "CheckpointReport",
    "DeviceInfo",
    "DeviceUnavailableError",
    "Fix",
    "ForwardError",
    "InitReport",
    "InitScheme",
    "InspectorError",
    "InvalidArgumentError",
    "LayerInspection",
    "LayerReport",
    "ModelReport",
    "NetworkSpec",
    "UnknownNameError",
    "Worked",
    "apply_fix",
    "apply_init",
    "available_devices",
    "build_network",
    "build_zoo_model",
    "cuda_visible_devices",
    "estimate_training_memory",
    "generate_code",
    "init_report",
    "inspect_layer",
    "inspect_model",
    "inspect_named_model",
    "largest_batch_size",
    "match_checkpoint",
    "match_module",
    "measure_training_step",
    "propagate",
    "read_checkpoint",
    "resolve_device",
]


def __getattr__(name: str) -> Any:
    """Import public name `name` from its module on first use, and keep it here."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'inspector' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
