"""The CLI's cold start against `import torch` alone, each in a fresh process (issue 16).

What a user feels when typing `python -m inspector layer …` is the whole process: Python, torch,
our package and the answer. torch's import is the floor nobody can go under, so the target is a
ratio to it. Commands take turns in each round; the CPU time of each child process (user + system)
is reported beside its wall time, because a shared machine's load stretches wall times unevenly.
`import torch._dynamo` is measured too: torch imports it on the first call of any function it
wraps in `_disable_dynamo`, and a forward on meta still reaches one (type promotion in its Python
decompositions), so it is what the CLI's meta preflight costs above a bare import.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # where `inspector` imports from
LAYER_ARGS = ("layer", "Linear", "--in-features", "784", "--out-features", "256")
COMMANDS: dict[str, tuple[str, ...]] = {
    "import torch": ("-c", "import torch"),
    "import torch, torch._dynamo": ("-c", "import torch, torch._dynamo"),
    "import inspector.cli": ("-c", "import inspector.cli"),
    "python -m inspector " + " ".join(LAYER_ARGS): ("-m", "inspector", *LAYER_ARGS),
}


def _run(args: tuple[str, ...]) -> tuple[float, float]:
    """Return the wall and CPU seconds of one fresh `python args…` (its output discarded)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cold_starts(rounds: int = 5) -> dict[str, dict[str, float]]:
    """Return each command's median wall and CPU seconds over `rounds` rounds of all commands in turn."""
    walls: dict[str, list[float]] = {name: [] for name in COMMANDS}
    cpus: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(rounds):
        for name, args in COMMANDS.items():
            wall, cpu = _run(args)
            walls[name].append(wall)
            cpus[name].append(cpu)
    return {
        name: {"wall_s": statistics.median(walls[name]), "cpu_s": statistics.median(cpus[name])} for name in COMMANDS
    }


def table(results: dict[str, dict[str, float]]) -> str:
    """Return the results as a Markdown table with each command's ratio to `import torch`."""
    torch_only = results["import torch"]
    lines = [
        "| command | median wall s | median CPU s | wall / import torch | CPU / import torch |",
        "|---|---|---|---|---|",
    ]
    for name, row in results.items():
        lines.append(
            f"| `{name}` | {row['wall_s']:.2f} | {row['cpu_s']:.2f} | {row['wall_s'] / torch_only['wall_s']:.2f} "
            f"| {row['cpu_s'] / torch_only['cpu_s']:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(cold_starts()))
