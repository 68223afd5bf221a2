"""`python -m inspector build spec.json`: inspect a network spec, and let the shape doctor fix it.

A spec that fits prints the same report as `model` (table, json, csv, markdown). One that does not
is a user error: one line naming the layer, the reason with both shapes, and the fixes (exit 2).
`--fix` applies the first fix until the spec fits and prints the fixed spec as JSON (the fixes
applied go to stderr, so stdout can be redirected to a file). `--code` prints the PyTorch code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from inspector.builder.build import build_network, fix_until_fits, propagate
from inspector.builder.code import CodeStyle, generate_code
from inspector.builder.templates import TEMPLATES, template_spec
from inspector.core.errors import ForwardError, InvalidArgumentError
from inspector.core.formatting import OutputFormat, parse_format, render_report
from inspector.core.i18n import DEFAULT_LANG, localized, t
from inspector.core.messages import NONE, msg
from inspector.core.shapes import format_shape_tree
from inspector.doctor.diagnose import Diagnosis
from inspector.layers.network_spec import MAX_SPEC_BYTES, NetworkSpec
from inspector.model.inspection import inspect_model


def add_command(commands: argparse._SubParsersAction, lang: str = DEFAULT_LANG) -> None:
    """Add the `build` subcommand."""
    build = commands.add_parser("build", help=t("cli_help.command.build", lang))
    build.add_argument("spec", help=t("cli_help.build.spec", lang, templates=", ".join(TEMPLATES)))
    build.add_argument("--device", default="cpu", help=t("cli_help.common.device", lang))
    build.add_argument("--dtype", default=None, help=t("cli_help.common.dtype", lang))
    formats = ", ".join(OutputFormat)
    build.add_argument("--format", default="table", help=t("cli_help.common.format", lang, formats=formats))
    build.add_argument("--fix", action="store_true", help=t("cli_help.build.fix", lang))
    styles = t("cli_help.or", lang).join(CodeStyle)
    build.add_argument("--code", default=None, help=t("cli_help.build.code", lang, styles=styles))
    build.set_defaults(handler=run_build)


def load_spec(source: str) -> NetworkSpec:
    """Return the spec in file `source` ('-' reads stdin), or the template of that name."""
    if source == "-":
        return NetworkSpec.from_json(sys.stdin.read(MAX_SPEC_BYTES + 1))
    path = Path(source)
    if not path.exists() and source in TEMPLATES:
        return template_spec(source)
    try:
        with path.open("rb") as handle:
            text = handle.read(MAX_SPEC_BYTES + 1)
    except OSError as error:
        raise InvalidArgumentError(
            "builder.spec_unreadable", source=repr(source), reason=error.strerror, templates=", ".join(TEMPLATES)
        ) from None
    return NetworkSpec.from_json(text)


def does_not_fit(diagnosis: Diagnosis) -> ForwardError:
    """Return the one-line error for a spec whose layer `diagnosis` names cannot take its input."""
    fixes = NONE
    if any(fix.applicable for fix in diagnosis.fixes):
        fixes = msg("cli.build.fix_first")
    shape = format_shape_tree(list(diagnosis.input_shape))
    return ForwardError(
        "builder.does_not_fit",
        module_name=diagnosis.layer_name,
        module_type=diagnosis.layer_type,
        input_shape=list(diagnosis.input_shape),
        torch_message=diagnosis.torch_message,
        index=diagnosis.layer_index,
        name=diagnosis.layer_name,
        type=diagnosis.layer_type,
        shape=shape,
        hint=diagnosis.hint(),
        fixes=fixes,
    )


def run_build(args: argparse.Namespace) -> str:
    """Return the output of `build`; raises InspectorError (exit 2) for a bad spec or one that does not fit."""
    output_format = parse_format(args.format)
    lang = getattr(args, "lang", DEFAULT_LANG)
    spec = load_spec(args.spec)
    if args.fix:
        return _fixed(spec, args.device, args.dtype, lang)
    result = propagate(spec, args.device, args.dtype)
    if result.diagnosis is not None:
        raise does_not_fit(result.diagnosis)
    if args.code is not None:
        return generate_code(spec, args.code, result)
    model = build_network(spec, args.device, args.dtype)
    name = Path(args.spec).stem if args.spec not in TEMPLATES else args.spec
    report = inspect_model(
        model, spec.input_shape, device=args.device, dtype=args.dtype, input_dtype=spec.input_dtype, name=name
    )
    return render_report(report, output_format, lang=lang)


def _fixed(spec: NetworkSpec, device: str, dtype: str | None, lang: str = DEFAULT_LANG) -> str:
    fixed, applied, result = fix_until_fits(spec, device, dtype)
    for fix in applied:
        sys.stderr.write(t("cli.build.applied", lang, fix=localized(fix.description, lang)) + "\n")
    if result.diagnosis is not None:
        error = does_not_fit(result.diagnosis)
        done = NONE
        if applied:
            done = msg("cli.build.after_fixes", count=len(applied))
        raise ForwardError("builder.no_fix", error=error, done=done)
    return fixed.to_json()
