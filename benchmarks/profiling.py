"""Where `inspect_model`'s time goes: a pyinstrument profile (cProfile where it is missing).

Self time is summed per function and per area of code, so the report can say "x% in
FlopCounterMode's Python dispatch, y% in the kernels" without reading a call tree. pyinstrument
samples, so its overhead barely skews the picture; cProfile traces every call and inflates
Python-heavy code, which is why it is only the fallback.
"""

from __future__ import annotations

import cProfile
import importlib.util
import io
import pstats
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

# First matching rule names the area; paths use '/' on every platform we run.
_DISPATCH = "FlopCounterMode: per-op Python dispatch and formulas"
_META = "torch's Python meta kernels and shape checks (_refs, _prims, _decomp)"
AREAS: tuple[tuple[str, str], ...] = (
    ("torch/utils/flop_counter.py", _DISPATCH),
    ("torch/utils/_python_dispatch.py", _DISPATCH),
    ("torch/_ops.py", _DISPATCH),
    ("torch/_dynamo/eval_frame.py", _DISPATCH),  # the disable-dynamo wrapper around __torch_dispatch__
    ("torch/_compile.py", _DISPATCH),
    ("torch/_decomp/", _META),
    ("torch/_refs/", _META),
    ("torch/_prims", _META),
    ("torch/_meta_registrations.py", _META),
    ("torch/fx/experimental/symbolic_shapes.py", _META),  # sym_eq and friends, called by the meta checks
    ("torch/__init__.py", _META),  # torch._check*, called by the meta checks
    ("torch/nn/modules/module.py", "nn.Module call machinery and hook dispatch"),
    ("torch/nn/", "layer forwards (with the C++ kernels they call)"),
    ("inspector/core/flops.py", "inspector: memo keys and dispatch (flops.py)"),
    ("inspector/", "inspector: hooks, shape records, report"),
    ("models/", "model forward code (with the kernels it calls)"),
    ("benchmarks/", "model forward code (with the kernels it calls)"),
    ("torchinfo/", "torchinfo"),
    ("<built-in>", "C++ calls from Python (op kernels, builtins)"),
    ("~", "C++ calls from Python (op kernels, builtins)"),  # cProfile's name for built-ins
)


@dataclass(frozen=True)
class Profile:
    """A profile's summary: total seconds, top functions and areas by self time, and a text view."""

    profiler: str
    total_s: float
    functions: list[tuple[str, float]]
    areas: list[tuple[str, float]]
    text: str


def area_of(path: str) -> str:
    """Return the area of code a file belongs to (see AREAS)."""
    path = path.replace("\\", "/")
    for fragment, area in AREAS:
        if fragment in path:
            return area
    return "other Python"


def _short(path: str) -> str:
    path = path.replace("\\", "/")
    for root in ("site-packages/", "/work/main/"):
        if root in path:
            return path.split(root, 1)[1]
    return path.rsplit("/", 2)[-1] if "/" in path else path


def _function_name(path: str, line: int, function: str) -> str:
    if function.startswith("pybind11_detail_function_record"):  # pyinstrument's name for an op's C++ entry
        return "<built-in> C++ op call (the kernel itself, or its meta function)"
    return f"{_short(path)}:{line} {function}"


def _pyinstrument(call: Callable[[], object]) -> tuple[float, Counter, Counter, str]:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001)
    profiler.start()
    call()
    session = profiler.stop()
    functions: Counter = Counter()
    areas: Counter = Counter()
    stack = [session.root_frame()]
    while stack:
        frame = stack.pop()
        if frame is None or frame.is_synthetic_leaf:
            continue
        real_children = [child for child in frame.children if not child.is_synthetic_leaf]
        own = frame.time - sum(child.time for child in real_children)
        path = frame.file_path or ""
        functions[_function_name(path, frame.line_no, frame.function)] += own
        areas[area_of(path)] += own
        stack += real_children
    text = profiler.output_text(unicode=True, color=False, show_all=False)
    return session.duration, functions, areas, text


def _cprofile(call: Callable[[], object]) -> tuple[float, Counter, Counter, str]:
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.runcall(call)
    total = time.perf_counter() - start
    functions: Counter = Counter()
    areas: Counter = Counter()
    stats = pstats.Stats(profiler)
    for (path, line, name), (_, _, self_s, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        functions[_function_name(path, line, name)] += self_s
        areas[area_of(path)] += self_s
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
    return total, functions, areas, out.getvalue()


def profile_call(call: Callable[[], object], top: int = 10) -> Profile:
    """Return where `call()`'s time goes, by pyinstrument when installed, else cProfile."""
    use_pyinstrument = importlib.util.find_spec("pyinstrument") is not None
    total, functions, areas, text = (_pyinstrument if use_pyinstrument else _cprofile)(call)
    return Profile(
        "pyinstrument" if use_pyinstrument else "cProfile",
        total,
        [(name, seconds) for name, seconds in functions.most_common(top) if seconds > 0],
        [(name, seconds) for name, seconds in areas.most_common() if seconds > 0],
        text,
    )
