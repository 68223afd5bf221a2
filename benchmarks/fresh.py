"""The 7B decoder on meta in a fresh Python process: what a user's first `inspect_model` costs.

The target in issue 8 (under 2 s, under 1.5 GB peak resident memory) is easiest to misread: a
warm in-process number leaves out importing torch and every first-use cost, a fresh process
includes them. Both are reported; this module measures the fresh one, its phases timed inside
the child (wall and CPU). `import torch._dynamo` is a phase of its own because torch imports it
lazily on the first call of any dispatch mode or meta reference kernel, whoever makes that call.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PHASES = ("import", "dynamo", "build", "inspect", "second_inspect")

# Run with `python -c`: the child reports its phases and its resident high-water mark as JSON.
CHILD = """
import json, sys, time
marks = [(time.perf_counter(), time.process_time())]
def mark():
    marks.append((time.perf_counter(), time.process_time()))
import torch
from inspector import inspect_model
from inspector.model.zoo import build_zoo_model, get_zoo_entry, zoo_options
mark()
import torch._dynamo
mark()
name, options = sys.argv[1], json.loads(sys.argv[2])
entry = get_zoo_entry(name)
model = build_zoo_model(name, options, "meta")
mark()
size = entry.input_size_for(**zoo_options(entry, options))
report = inspect_model(model, input_size=size, device="meta", input_dtype=entry.input_dtype)
mark()
inspect_model(model, input_size=size, device="meta", input_dtype=entry.input_dtype)
mark()
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
phases = ("import", "dynamo", "build", "inspect", "second_inspect")
out = {"peak_rss_mib": hwm / 1024, "params": report.total_params, "flops": report.flops}
for phase, (start, end) in zip(phases, zip(marks, marks[1:])):
    out[phase + "_s"], out[phase + "_cpu_s"] = end[0] - start[0], end[1] - start[1]
print(json.dumps(out))
"""


def run_fresh(name: str, options: dict[str, object], timeout_s: float = 600) -> dict[str, float]:
    """Return one fresh-process inspection of zoo model `name` on meta: phases, whole process, peak RSS."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, name, json.dumps(options)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        cwd=REPO,
        env=env,
        check=False,
    )
    process_s = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"fresh process failed: {done.stderr.strip().splitlines()[-1:]}")
    return {"process_s": process_s, **json.loads(done.stdout.strip().splitlines()[-1])}


def fresh_summary(name: str, options: dict[str, object], runs: int) -> dict[str, object]:
    """Return the medians (and all runs) of `runs` fresh-process inspections of `name` on meta."""
    results = [run_fresh(name, options) for _ in range(runs)]
    keys = ["process_s", *(f"{phase}{kind}" for phase in PHASES for kind in ("_s", "_cpu_s")), "peak_rss_mib"]
    return {
        "model": name,
        "options": options,
        "runs": len(results),
        "median": {key: statistics.median(run[key] for run in results) for key in keys},
        "max_peak_rss_mib": max(run["peak_rss_mib"] for run in results),
        "params": results[0]["params"],
        "flops": results[0]["flops"],
        "all": results,
    }
