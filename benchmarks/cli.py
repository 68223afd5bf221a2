"""`python -m benchmarks`: run the comparison, the fresh-process check, the app timings and the
profiles, then write results.md, results.json and the ratio chart (HTML and PNG) side by side."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import torch

from benchmarks.app_timing import app_timings
from benchmarks.cases import META, Case, fresh_process_case, full_cases, quick_cases
from benchmarks.chart import write_chart
from benchmarks.compare import Row, run_all
from benchmarks.fresh import fresh_summary
from benchmarks.machine import load_average, machine_info, machine_line
from benchmarks.profiling import profile_call
from benchmarks.report import derive, render_markdown
from benchmarks.speed import speed_summary
from benchmarks.tools import available_tools, run_ours

DEFAULT_OUT = Path(__file__).resolve().parent / "results.md"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Return the command line's options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny models only (mlp, lenet5, 2-layer gpt), 2 repeats")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results.md path; JSON and chart go beside it")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per tool (default 5, quick 2)")
    parser.add_argument("--device", default="cpu", help="the real device beside meta: cpu, cuda, cuda:N")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: torch's); 1 is steadier on a busy machine",
    )
    parser.add_argument("--only", default=None, help="run only the cases whose label contains this text")
    parser.add_argument(
        "--tools",
        default=None,
        help="comma-separated tools to compare (default: all that are installed), e.g. "
        "inspect_model,torchinfo,FlopCounterMode",
    )
    parser.add_argument("--skip-app", action="store_true", help="skip the web-app timings")
    parser.add_argument("--skip-fresh", action="store_true", help="skip the fresh-process 7B check")
    parser.add_argument("--skip-profile", action="store_true", help="skip the profiles")
    parser.add_argument("--skip-speed", action="store_true", help="skip the cold start and overhead check (issue 16)")
    parser.add_argument("--no-png", action="store_true", help="write the chart as HTML only")
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 2 if args.quick else 5
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def _row_dict(row: Row) -> dict:
    data = asdict(row)
    timing = row.timing
    data.update(median_ms=None, q1_ms=None, q3_ms=None, cpu_median_ms=None)
    if timing is not None:
        data["median_ms"], data["cpu_median_ms"] = timing.median_ms, timing.cpu_median_ms
        data["q1_ms"], data["q3_ms"] = timing.iqr_ms
    return data


def _profiles(cases: list[Case], quick: bool, device: str) -> list[dict]:
    """Return the profiles of inspect_model on the two cases issue 8 names (tiny ones when quick)."""
    wanted = [("mlp", device), ("gpt 2-layer", META)] if quick else [("resnet50", device), ("gpt_7b", META)]
    profiles = []
    for label, target in wanted:
        case = next((c for c in cases if c.label == label and c.device == target and not c.skip), None)
        if case is None:
            continue
        entry: dict[str, object] = {"case": label, "device": target}
        try:
            model, data = case.make_model(), case.make_input()
            where = torch.device(target)
            run_ours(model, data, where)  # warm: first-use costs are not the steady state
            profile = profile_call(lambda model=model, data=data, where=where: run_ours(model, data, where))
            entry.update(
                profiler=profile.profiler,
                total_s=profile.total_s,
                functions=profile.functions,
                areas=profile.areas,
                text=profile.text,
            )
        except Exception as error:  # a profile is extra information; keep the rest of the run
            entry["error"] = f"{type(error).__name__}: {error}"
        profiles.append(entry)
    return profiles


def _fresh(args: argparse.Namespace) -> dict:
    if args.skip_fresh:
        return {}
    name, options = fresh_process_case(args.quick)
    print(f"fresh process: {name} on meta", file=sys.stderr, flush=True)
    try:
        return fresh_summary(name, options, runs=1 if args.quick else 3)
    except Exception as error:
        return {"model": name, "error": f"{type(error).__name__}: {error}"}


def run(args: argparse.Namespace, argv: list[str]) -> dict:
    """Return the whole run as the JSON document that results.md is rendered from."""
    start_load = load_average()
    if args.threads:
        torch.set_num_threads(args.threads)
    cases = (quick_cases if args.quick else full_cases)(args.device)
    if args.only:
        cases = [case for case in cases if args.only in case.label]
    tools, missing = available_tools()
    if args.tools:
        chosen = {name.strip() for name in args.tools.split(",")}
        tools = [tool for tool in tools if tool.value in chosen]
    rows = derive([_row_dict(row) for row in run_all(cases, tools, args.repeats)])
    data: dict[str, object] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python -m benchmarks", *argv]),
        "machine": (info := machine_info(args.device)),
        "machine_line": machine_line(info),
        "settings": {
            "quick": args.quick,
            "repeats": args.repeats,
            "device": args.device,
            "only": args.only,
            "threads": torch.get_num_threads(),
        },
        "tools_missing": {tool.value: why for tool, why in missing.items()},
        "rows": rows,
        "fresh_process": _fresh(args),
        "app": {} if args.skip_app else app_timings(args.repeats),
        "speed": {} if args.skip_speed else speed_summary(args.quick),
        "profiles": [] if args.skip_profile else _profiles(cases, args.quick, args.device),
    }
    data["load_average"] = {"start": start_load, "end": load_average()}
    return data


def write_outputs(data: dict, out: Path, png: bool) -> None:
    """Write results.md at `out`, and results.json, ratios.html and ratios.png beside it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    ratios = [(r["case"], r["device"], r["ratio"]) for r in data["rows"] if r.get("ratio") is not None]
    data["chart"] = write_chart(ratios, out.parent / "ratios.html", out.parent / "ratios.png" if png else None)
    profiles_dir = out.parent / "profiles"
    for profile in data["profiles"]:
        if text := profile.pop("text", None):  # the call trees are long: files beside the results, not in JSON
            profiles_dir.mkdir(exist_ok=True)
            (profiles_dir / f"{profile['case'].replace(' ', '_')}_{profile['device']}.txt").write_text(text)
    (out.parent / "results.json").write_text(json.dumps(data, indent=1, default=str) + "\n")
    out.write_text(render_markdown(data))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark with command-line `argv`; return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    threads = torch.get_num_threads()
    try:
        data = run(args, argv)
    finally:
        torch.set_num_threads(threads)  # a caller in the same process (the test suite) keeps its setting
    write_outputs(data, args.out, png=not args.no_png)
    print(f"wrote {args.out} ({data['chart']})")
    return 0
