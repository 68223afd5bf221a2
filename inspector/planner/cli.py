"""The planner's subcommands: `memory` (estimate, largest batch) and `train-step` (one real step).

`add_command` registers both with the CLI (see `inspector.cli.EXTRA_COMMANDS`); each handler
returns the text to print. Numbers come from `estimate`, `largest_batch` and `train_step`; only text is made here.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from inspector.core.errors import UnknownNameError
from inspector.core.formatting import display_width, pad
from inspector.core.i18n import DEFAULT_LANG, has_message, localize, t
from inspector.core.messages import msg
from inspector.core.shapes import format_shape_tree, parse_sizes
from inspector.core.units import binary_bytes, group_thousands
from inspector.model.zoo import parse_kwargs
from inspector.planner.choices import LossName, OptimizerName, Precision, check_count
from inspector.planner.estimate import MemoryEstimate, estimate_training_memory
from inspector.planner.largest_batch import BatchSearch, largest_batch_size
from inspector.planner.train_step import TrainStepResult, measure_training_step

FORMATS = ("table", "json")
DEFAULT_LAYERS = 10  # rows of the per-layer breakdown in the table (JSON has them all)


def _shared(parser: argparse.ArgumentParser, device_default: str, lang: str) -> None:
    parser.add_argument("model", help=t("cli_help.planner.model", lang))
    parser.add_argument("--input-size", help=t("cli_help.planner.input_size", lang))
    parser.add_argument("--batch-size", default="32", help=t("cli_help.planner.batch_size", lang))
    precisions = ", ".join(Precision)
    parser.add_argument("--dtype", default="fp32", help=t("cli_help.planner.dtype", lang, precisions=precisions))
    optimizers, losses = ", ".join(OptimizerName), ", ".join(LossName)
    parser.add_argument(
        "--optimizer", default="adam", help=t("cli_help.planner.optimizer", lang, optimizers=optimizers)
    )
    parser.add_argument("--loss", default="cross_entropy", help=t("cli_help.planner.loss", lang, losses=losses))
    parser.add_argument("--kwargs", default=None, help=t("cli_help.planner.kwargs", lang))
    parser.add_argument(
        "--device", default=device_default, help=t("cli_help.planner.device", lang, device=device_default)
    )
    parser.add_argument("--format", default="table", help=t("cli_help.planner.format", lang))


def add_command(commands: argparse._SubParsersAction, lang: str = DEFAULT_LANG) -> None:
    """Register `memory` and `train-step` on the CLI's subparsers, their help in `lang`."""
    memory = commands.add_parser("memory", help=t("cli_help.command.memory", lang))
    _shared(memory, "meta", lang)
    memory.add_argument("--budget", default=None, help=t("cli_help.planner.budget", lang))
    memory.add_argument("--layers", default=str(DEFAULT_LAYERS), help=t("cli_help.planner.layers", lang))
    memory.set_defaults(handler=run_memory)
    step = commands.add_parser("train-step", help=t("cli_help.command.train_step", lang))
    _shared(step, "cpu", lang)
    for name, default in (("steps", "5"), ("warmup", "1"), ("lr", "0.001"), ("dataset_size", "50000"), ("epochs", "1")):
        step.add_argument(f"--{name.replace('_', '-')}", default=default, help=t(f"cli_help.planner.{name}", lang))
    step.add_argument("--misplace-input", action="store_true", help=t("cli_help.planner.misplace_input", lang))
    step.set_defaults(handler=run_train_step)


def _format(text: str) -> str:
    chosen = str(text).strip().lower()
    if chosen not in FORMATS:
        raise UnknownNameError("planner.unknown_format", name=repr(text), choices=", ".join(FORMATS))
    return chosen


def _sizes(text: str | None) -> object:
    return None if text is None else parse_sizes(text)


def run_memory(args: argparse.Namespace) -> str:
    """Return the memory estimate (and the largest batch for --budget) as a table or JSON."""
    output_format = _format(args.format)
    layers = check_count(args.layers, msg("engine.errors_b.what.layers"), 10_000, minimum=0)
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
    lang = getattr(args, "lang", DEFAULT_LANG)
    found = [] if search is None else ["", search_line(search, lang)]
    return "\n".join([*estimate_lines(estimate, layers, lang), *found])


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
    return "\n".join(step_lines(result, getattr(args, "lang", DEFAULT_LANG)))


def _aligned(rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> list[str]:
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    cells = [
        [
            " " * (w - display_width(cell)) + cell if i in right else pad(cell, w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        for row in rows
    ]
    return ["  ".join(row).rstrip() for row in cells]


def _shapes(shapes: tuple[tuple[int, ...], ...]) -> str:
    return "; ".join(format_shape_tree(list(shape)) for shape in shapes)


def _bytes(count: int) -> str:
    return f"{group_thousands(count)} B ({binary_bytes(count)})"


def estimate_lines(estimate: MemoryEstimate, layers: int = DEFAULT_LAYERS, lang: str = DEFAULT_LANG) -> list[str]:
    """Return the estimate as lines: headline, parts with their share, the biggest layers (words in `lang`)."""

    def say(key: str, **params: object) -> str:
        return t(f"cli.memory.{key}", lang, **params)

    total = estimate.total or 1
    head = [
        (
            say("model"),
            say(
                "model_value",
                model=estimate.model,
                precision=estimate.precision,
                optimizer=estimate.optimizer,
                loss=estimate.loss,
                batch=group_thousands(estimate.batch_size),
            ),
        ),
        (
            say("io"),
            f"{_shapes(estimate.input_shapes)} → {format_shape_tree(list(estimate.output_shape))}",
        ),
        (
            say("parameters"),
            say(
                "parameters_value",
                count=group_thousands(estimate.parameter_count),
                trainable=group_thousands(estimate.trainable_parameter_count),
            ),
        ),
        (say("kernels"), say("kernels_value", device=estimate.device)),
    ]
    parts = [
        (_part_name(name, lang), group_thousands(value), binary_bytes(value), f"{value / total:.1%}")
        for name, value in estimate.parts().items()
    ]
    rows = [
        (say("col_part"), say("col_bytes"), say("col_size"), say("col_share")),
        *parts,
        (say("total"), group_thousands(estimate.total), binary_bytes(estimate.total), "100.0%"),
    ]
    lines = [*_labelled(head), "", *_aligned(rows, right=(1, 2, 3))]
    ranked = sorted(estimate.layers, key=lambda layer: layer.bytes, reverse=True)[:layers]
    if ranked:
        lines += ["", say("by_layer", shown=len(ranked), count=len(estimate.layers))]
        lines += _aligned(
            [(layer.name, layer.type, str(layer.tensors), binary_bytes(layer.bytes)) for layer in ranked], right=(2, 3)
        )
    return lines


def _part_name(name: str, lang: str) -> str:
    """Return a memory part's name in `lang` (English: the field name with spaces)."""
    key = f"cli.memory.part.{name}"
    return t(key, lang) if has_message(key, lang) else name.replace("_", " ")


def _labelled(rows: Sequence[tuple[str, str]]) -> list[str]:
    """Return `label  text` lines, the labels padded to 15 terminal columns (CJK characters count two)."""
    return [f"{pad(label, 15)} {text}" for label, text in rows]


def search_line(search: BatchSearch, lang: str = DEFAULT_LANG) -> str:
    """Return the largest batch for the budget, with the estimates either side of it."""
    budget = f"{binary_bytes(search.budget_bytes)} ({group_thousands(search.budget_bytes)} B)"
    if search.largest_batch == 0:
        return t("cli.memory.largest_none", lang, budget=budget, needs=_bytes(search.bytes_at(1)))
    largest, above = search.largest_batch, search.largest_batch + 1
    capped = t("cli.memory.capped", lang) if search.capped else ""
    return t(
        "cli.memory.largest",
        lang,
        budget=budget,
        largest=group_thousands(largest),
        capped=capped,
        at_largest=group_thousands(search.bytes_at(largest)),
        at_above=group_thousands(search.bytes_at(above)),
        above=group_thousands(above),
        measured=len(search.measured),
    )


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:,.3f} s" if value < 600 else f"{value / 3600:,.2f} h"


def step_lines(result: TrainStepResult, lang: str = DEFAULT_LANG) -> list[str]:
    """Return the measured step as lines: times, memory beside the estimate, devices (words in `lang`)."""

    def say(key: str, **params: object) -> str:
        return t(f"cli.step.{key}", lang, **params)

    measured = "—" if result.measured_peak_bytes is None else _bytes(result.measured_peak_bytes)
    difference = "—" if result.difference_percent is None else f"{result.difference_percent:+.1f}%"
    stopped = say("stopped", count=len(result.step_seconds)) if result.stopped else ""
    rate = "—" if result.samples_per_second is None else f"{result.samples_per_second:,.1f}"
    rows = [
        (
            say("model"),
            say(
                "model_value",
                model=result.model,
                device=result.device,
                precision=result.precision,
                optimizer=result.optimizer,
                lr=f"{result.learning_rate:g}",
                loss=result.loss,
                batch=group_thousands(result.batch_size),
            ),
        ),
        (say("steps"), say("steps_value", warmup=result.warmup, steps=result.steps_requested, stopped=stopped)),
        (say("time"), say("time_value", time=_seconds(result.seconds_per_step))),
        (say("rate"), rate),
        (
            say("epoch"),
            say(
                "epoch_value",
                steps=group_thousands(result.steps_per_epoch),
                samples=group_thousands(result.dataset_size),
                time=_seconds(result.epoch_seconds),
            ),
        ),
        (say("epochs", count=result.epochs), _seconds(result.total_seconds)),
        (say("loss"), ", ".join(f"{value:.4g}" for value in result.losses) or "—"),
        (say("peak"), f"{measured} — {localize(result.peak_method, lang)}"),
        (say("estimate"), _bytes(result.estimate.total)),
        (say("difference"), difference),
    ]
    lines = _labelled(rows)
    lines += _placement_lines(result, lang)
    return lines


def _placement_lines(result: TrainStepResult, lang: str = DEFAULT_LANG) -> list[str]:
    def say(key: str, **params: object) -> str:
        return t(f"cli.step.{key}", lang, **params)

    lines = [""]
    if result.placement is not None:
        placement = result.placement
        rows = [
            (say(key), ", ".join(devices) or "—")
            for key, devices in (
                ("parameters", placement.parameters),
                ("inputs", placement.inputs),
                ("outputs", placement.outputs),
                ("loss_device", placement.loss),
                ("gradients", placement.gradients),
            )
        ]
        rows.append((say("same_device"), say("yes") if placement.same_device else say("no")))
        lines += _labelled(rows)
    if result.misplaced is not None:
        demo = result.misplaced
        said = demo.torch_message or say("no_error")
        lines += [
            say("misplaced", input=demo.input_device, model=demo.model_device),
            f"  {said}",
            say("fix", fix=demo.fix),
        ]
    lines.append(f"CUDA_VISIBLE_DEVICES={result.cuda_visible_devices or t('cli.cuda_unset', lang)}")
    lines += [
        say(
            "gpu",
            index=gpu.index,
            physical=gpu.physical,
            name=gpu.name,
            memory=binary_bytes(gpu.total_memory),
            uuid=", " + gpu.uuid if gpu.uuid else "",
        )
        for gpu in result.visible_gpus
    ] or [say("no_gpu")]
    return lines
