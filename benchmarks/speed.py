"""Speed where people feel it (issue 16): the CLI's cold start and inspect_model's overhead, with targets.

`python -m benchmarks` runs this with the rest; `python -m benchmarks.speed` runs only this part
and puts its section into an existing results.md and results.json (the whole run takes long).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import cold_start, overhead
from benchmarks.machine import load_average, machine_info, machine_line

SECTION = "## Speed where people feel it (issue 16)"
COLD_START_TARGET = 1.3  # CLI layer command ≤ 1.3 × `import torch`
TORCHINFO_TARGET = 1.0  # inspect_model ≤ torchinfo.summary, median over the many-small-ops models
FLOP_COUNTER_TARGET = 1.2  # inspect_model ≤ 1.2 × FlopCounterMode alone, same median


def speed_summary(quick: bool = False) -> dict:
    """Return the cold starts and the overhead table's numbers (one round each when `quick`)."""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine_line": machine_line(machine_info("cpu")),
        "load_average": {"start": load_average()},
        "cold_start": cold_start.cold_starts(rounds=1 if quick else 5),
        "overhead": overhead.measure_all(rounds=1 if quick else 9),
    } | {"load_average_end": load_average()}


def _mark(ok: bool) -> str:
    return "✅ met" if ok else "❌ not met"


def speed_section(speed: dict) -> list[str]:
    """Return the section's Markdown lines: targets first, then both tables; nothing when not measured."""
    if not speed:
        return []
    cold, over = speed["cold_start"], speed["overhead"]
    layer = next(name for name in cold if name.startswith("python -m inspector"))
    cli_ratio = cold[layer]["cpu_s"] / cold["import torch"]["cpu_s"]
    ratios = {
        key: statistics.median(r["inspect_model"] / r[key] for r in over.values())
        for key in ("torchinfo", "FlopCounterMode")
    }
    return [
        SECTION,
        "",
        f"Measured {speed['date']} on {speed['machine_line']} (`python -m benchmarks.speed`). "
        f"Load average at start {speed['load_average']['start']}, at end {speed['load_average_end']}. "
        "Cold starts: fresh processes taking turns, median of the rounds, CPU time of the child (user + system) beside "
        "its wall time. Overhead: CPU ms per call with torch on one thread, the five calls taking turns, median.",
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| CLI `layer` cold start ≤ {COLD_START_TARGET} × `import torch` (CPU time) | {cli_ratio:.2f} "
        f"| {_mark(cli_ratio <= COLD_START_TARGET)} |",
        f"| inspect_model ≤ {TORCHINFO_TARGET} × torchinfo (median over the models) | {ratios['torchinfo']:.2f} "
        f"| {_mark(ratios['torchinfo'] <= TORCHINFO_TARGET)} |",
        f"| inspect_model ≤ {FLOP_COUNTER_TARGET} × FlopCounterMode alone (same median) "
        f"| {ratios['FlopCounterMode']:.2f} | {_mark(ratios['FlopCounterMode'] <= FLOP_COUNTER_TARGET)} |",
        "",
        cold_start.table(cold),
        "",
        overhead.table(over),
        "",
    ]


def splice(markdown: str, section: list[str]) -> str:
    """Return `markdown` with the speed section replaced by `section`, or put before "## Side by side"."""
    text = "\n".join(section)
    pattern = re.compile(re.escape(SECTION) + r".*?(?=\n## |\Z)", re.S)
    if pattern.search(markdown):
        return pattern.sub(lambda _: text.rstrip("\n") + "\n", markdown)
    return markdown.replace("## Side by side", text + "\n## Side by side", 1)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the section, and splice it into results.md and results.json at `--into`."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.speed", description=__doc__)
    parser.add_argument("--into", type=Path, default=None, help="results.md to update (results.json beside it)")
    parser.add_argument("--quick", action="store_true", help="one round each")
    args = parser.parse_args(argv)
    speed = speed_summary(args.quick)
    section = speed_section(speed)
    print("\n".join(section))
    if args.into is not None:
        args.into.write_text(splice(args.into.read_text(), section))
        data_path = args.into.parent / "results.json"
        data = json.loads(data_path.read_text())
        data["speed"] = speed
        data_path.write_text(json.dumps(data, indent=1, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
