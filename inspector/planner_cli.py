"""The planner's subcommands: `memory` (estimate, largest batch) and `train-step` (one real step).

`add_command` registers both with the CLI (see `inspector.cli.EXTRA_COMMANDS`); each handler
returns the text to print. Numbers come from `memory_estimate` and `train_step`; only text is made here.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from inspector.errors import UnknownNameError
from inspector.memory_estimate import (
    BatchSearch,
    LossName,
    MemoryEstimate,
    OptimizerName,
    Precision,
    check_count,
    estimate_training_memory,
    largest_batch_size,
)
from inspector.shapes import format_shape_tree, parse_sizes
from inspector.train_step import TrainStepResult, measure_training_step
from inspector.units import binary_bytes, group_thousands
from inspector.zoo import parse_kwargs

FORMATS = ("table", "json")
DEFAULT_LAYERS = 10  # rows of the per-layer breakdown in the table (JSON has them all)


def _shared(parser: argparse.ArgumentParser, device_default: str) -> None:
    parser.add_argument("model", help="a zoo model or package.module:Class")
    parser.add_argument(
        "--input-size",
        help="one sample's shape without the batch dimension, e.g. 3,224,224 "
        "(default: the zoo model's); several inputs separated by ';'",
    )
    parser.add_argument("--batch-size", default="32", help="samples per step (default 32)")
    parser.add_argument(
        "--dtype",
        default="fp32",
        help=f"precision: {', '.join(Precision)} (mixed = bf16 compute, fp32 master weights; default fp32)",
    )
    parser.add_argument("--optimizer", default="adam", help=f"{', '.join(OptimizerName)} (default adam)")
    parser.add_argument("--loss", default="cross_entropy", help=f"{', '.join(LossName)} (default cross_entropy)")
    parser.add_argument("--kwargs", default=None, help="zoo options / constructor arguments as a JSON object")
    parser.add_argument("--device", default=device_default, help=f"default {device_default}")
    parser.add_argument("--format", default="table", help="table or json (default table)")


def add_command(commands: argparse._SubParsersAction) -> None:
    """Register `memory` and `train-step` on the CLI's subparsers."""
    memory = commands.add_parser("memory", help="training memory by part, and the largest batch for a budget")
    _shared(memory, "meta")
    memory.add_argument("--budget", default=None, help="memory budget, e.g. 24GB, 80 GiB, 16 (GiB) or 'device'")
    memory.add_argument("--layers", default=str(DEFAULT_LAYERS), help="layers shown in the breakdown (default 10)")
    memory.set_defaults(handler=run_memory)
    step = commands.add_parser("train-step", help="time real training steps and measure their peak memory")
    _shared(step, "cpu")
    step.add_argument("--steps", default="5", help="measured steps (default 5)")
    step.add_argument("--warmup", default="1", help="warm-up steps before measuring (default 1)")
    step.add_argument("--lr", default="0.001", help="learning rate (default 0.001)")
    step.add_argument("--dataset-size", default="50000", help="samples per epoch (default 50000)")
    step.add_argument("--epochs", default="1", help="epochs for the total time (default 1)")
    step.add_argument(
        "--misplace-input", action="store_true", help="also show PyTorch's error for an input left on another device"
    )
    step.set_defaults(handler=run_train_step)


def _format(text: str) -> str:
    chosen = str(text).strip().lower()
    if chosen not in FORMATS:
        raise UnknownNameError(f"unknown format {text!r} for the planner", f"choose one of: {', '.join(FORMATS)}")
    return chosen


def _sizes(text: str | None) -> object:
    return None if text is None else parse_sizes(text)


def run_memory(args: argparse.Namespace) -> str:
    """Return the memory estimate (and the largest batch for --budget) as a table or JSON."""
    output_format = _format(args.format)
    layers = check_count(args.layers, "--layers", 10_000, minimum=0)
    common = {
        "input_size": _sizes(args.input_size),
        "precision": args.dtype,
        "optimizer": args.optimizer,
        "device": args.device,
        "options": parse_kwargs(args.kwargs),
        "loss": args.loss,
    }
    estimate = estimate_training_memory(args.model, batch_size=args.batch_size, **common)
    search = None if args.budget is None else largest_batch_size(args.model, budget_bytes=args.budget, **common)
    if output_format == "json":
        document = {"estimate": estimate.to_dict(), "largest_batch": None if search is None else search.to_dict()}
        return json.dumps(document, indent=2, ensure_ascii=False)
    return "\n".join([*estimate_lines(estimate, layers), *([] if search is None else ["", search_line(search)])])


def run_train_step(args: argparse.Namespace) -> str:
    """Return the measured training step beside its estimate, as a table or JSON."""
    output_format = _format(args.format)
    result = measure_training_step(
        args.model,
        parse_kwargs(args.kwargs),
        _sizes(args.input_size),
        args.batch_size,
        args.device,
        args.dtype,
        args.optimizer,
        args.lr,
        args.loss,
        args.steps,
        args.warmup,
        args.dataset_size,
        args.epochs,
        misplace_input=args.misplace_input,
    )
    if output_format == "json":
        return json.dumps(result.to_dict(), indent=2, ensure_ascii=False)
    return "\n".join(step_lines(result))


def _aligned(rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    cells = [
        [cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        for row in rows
    ]
    return ["  ".join(row).rstrip() for row in cells]


def _shapes(shapes: tuple[tuple[int, ...], ...]) -> str:
    return "; ".join(format_shape_tree(list(shape)) for shape in shapes)


def _bytes(count: int) -> str:
    return f"{group_thousands(count)} B ({binary_bytes(count)})"


def estimate_lines(estimate: MemoryEstimate, layers: int = DEFAULT_LAYERS) -> list[str]:
    """Return the estimate as lines: headline, parts with their share, the biggest layers."""
    total = estimate.total or 1
    head = [
        (
            "Model",
            f"{estimate.model}: {estimate.precision}, {estimate.optimizer}, {estimate.loss}, "
            f"batch {group_thousands(estimate.batch_size)}",
        ),
        (
            "Input / output",
            f"{_shapes(estimate.input_shapes)} → {format_shape_tree(list(estimate.output_shape))}",
        ),
        (
            "Parameters",
            f"{group_thousands(estimate.parameter_count)} "
            f"({group_thousands(estimate.trainable_parameter_count)} trainable)",
        ),
        ("Kernels of", f"{estimate.device} (the forward ran without allocating)"),
    ]
    parts = [
        (name.replace("_", " "), group_thousands(value), binary_bytes(value), f"{value / total:.1%}")
        for name, value in estimate.parts().items()
    ]
    rows = [
        ("Part", "Bytes", "Size", "Share"),
        *parts,
        ("total", group_thousands(estimate.total), binary_bytes(estimate.total), "100.0%"),
    ]
    lines = [*(f"{label:<15} {text}" for label, text in head), "", *_aligned(rows, right=(1, 2, 3))]
    ranked = sorted(estimate.layers, key=lambda layer: layer.bytes, reverse=True)[:layers]
    if ranked:
        lines += ["", f"Saved activations by layer (largest {len(ranked)} of {len(estimate.layers)})"]
        lines += _aligned(
            [(layer.name, layer.type, str(layer.tensors), binary_bytes(layer.bytes)) for layer in ranked], right=(2, 3)
        )
    return lines


def search_line(search: BatchSearch) -> str:
    """Return the largest batch for the budget, with the estimates either side of it."""
    budget = f"{binary_bytes(search.budget_bytes)} ({group_thousands(search.budget_bytes)} B)"
    if search.largest_batch == 0:
        return f"Largest batch for {budget}: none — batch 1 needs {_bytes(search.bytes_at(1))}"
    largest, above = search.largest_batch, search.largest_batch + 1
    capped = " (the search stops there)" if search.capped else ""
    return (
        f"Largest batch for {budget}: {group_thousands(largest)}{capped} — estimate "
        f"{group_thousands(search.bytes_at(largest))} B at {group_thousands(largest)}, "
        f"{group_thousands(search.bytes_at(above))} B at {group_thousands(above)}; "
        f"{len(search.measured)} batch sizes measured"
    )


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:,.3f} s" if value < 600 else f"{value / 3600:,.2f} h"


def step_lines(result: TrainStepResult) -> list[str]:
    """Return the measured step as lines: times, memory beside the estimate, devices."""
    measured = "—" if result.measured_peak_bytes is None else _bytes(result.measured_peak_bytes)
    difference = "—" if result.difference_percent is None else f"{result.difference_percent:+.1f}%"
    stopped = f" (stopped after {len(result.step_seconds)})" if result.stopped else ""
    rate = "—" if result.samples_per_second is None else f"{result.samples_per_second:,.1f}"
    rows = [
        (
            "Model",
            f"{result.model} on {result.device}: {result.precision}, {result.optimizer} (lr "
            f"{result.learning_rate:g}), {result.loss}, batch {group_thousands(result.batch_size)}",
        ),
        ("Steps", f"{result.warmup} warm-up + {result.steps_requested} measured{stopped}"),
        ("Time per step", f"{_seconds(result.seconds_per_step)} (median)"),
        ("Samples / s", rate),
        (
            "Epoch",
            f"{group_thousands(result.steps_per_epoch)} steps for {group_thousands(result.dataset_size)} "
            f"samples: {_seconds(result.epoch_seconds)}",
        ),
        (f"{result.epochs} epochs", _seconds(result.total_seconds)),
        ("Loss", ", ".join(f"{value:.4g}" for value in result.losses) or "—"),
        ("Peak measured", f"{measured} — {result.peak_method}"),
        ("Estimate", _bytes(result.estimate.total)),
        ("Difference", difference),
    ]
    lines = [f"{label:<15} {text}" for label, text in rows]
    lines += _placement_lines(result)
    return lines


def _placement_lines(result: TrainStepResult) -> list[str]:
    lines = [""]
    if result.placement is not None:
        placement = result.placement
        for label, devices in (
            ("parameters", placement.parameters),
            ("inputs", placement.inputs),
            ("outputs", placement.outputs),
            ("loss", placement.loss),
            ("gradients", placement.gradients),
        ):
            lines.append(f"{label:<15} {', '.join(devices) or '—'}")
        lines.append(f"{'same device':<15} {'yes' if placement.same_device else 'NO'}")
    if result.misplaced is not None:
        demo = result.misplaced
        said = demo.torch_message or "(PyTorch raised no error)"
        lines += [
            f"Input left on {demo.input_device}, model on {demo.model_device}: PyTorch says:",
            f"  {said}",
            f"Fix: {demo.fix}",
        ]
    lines.append(f"CUDA_VISIBLE_DEVICES={result.cuda_visible_devices or '(unset: all GPUs)'}")
    lines += [
        f"{gpu.index} → physical GPU {gpu.physical}: {gpu.name}, {binary_bytes(gpu.total_memory)}"
        f"{', ' + gpu.uuid if gpu.uuid else ''}"
        for gpu in result.visible_gpus
    ] or ["no GPU visible"]
    return lines
