"""PyTorch Shape Inspector: what real PyTorch does with a layer or model, and why.

The public API: inspect a model or one layer, explain its numbers, plan its training memory,
initialise it, build a network from a spec, and read checkpoints — all as dataclasses of numbers;
the CLI (`python -m inspector`) and the web app turn them into text.
"""

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
