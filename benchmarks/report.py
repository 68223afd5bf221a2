"""Numbers → results.md. Works from the JSON document alone, so a saved run can be re-rendered.

Derived figures are computed here once (Δ% vs the FlopCounterMode reference, ours/torchinfo ratio) and stored
in the JSON too, so the table, the chart and the targets all read the same values.
"""

from __future__ import annotations

from benchmarks.round_trip import section as round_trip_section
from benchmarks.speed import speed_section
from benchmarks.tools import Tool

GB_BYTES = 1.5e9  # "1.5 GB" in the issue, read strictly as 1.5·10⁹ bytes (≈ 1431 MiB)
TARGET_MIB = GB_BYTES / 2**20
HEADER = (
    "model",
    "device",
    "input",
    "tool",
    "median ms",
    "IQR ms",
    "CPU ms",
    "peak MiB",
    "params",
    "FLOPs",
    "Δ% vs FlopCounterMode+attn",
    "ours/torchinfo",
)


def _key(row: dict) -> tuple[str, str]:
    return (row["case"], row["device"])


def derive(rows: list[dict]) -> list[dict]:
    """Return the rows with `delta_pct` (FLOPs vs the reference count) and, on ours, `ratio`.

    The reference is FlopCounterMode+attn (torch's counter, attention counted on CPU too), or plain
    FlopCounterMode where that row is missing: against the plain counter every transformer on CPU
    would show a meaningless +15,000%, and the plain row's own Δ% already shows what it misses.
    """
    reference: dict[tuple[str, str], int] = {}
    for tool in (Tool.FLOP_COUNTER, Tool.FLOP_COUNTER_ATTENTION):  # the second wins where both ran
        reference.update({_key(r): r["flops"] for r in rows if r["tool"] == tool and r["flops"] is not None})
    torchinfo = {_key(r): r["median_ms"] for r in rows if r["tool"] == Tool.TORCHINFO and r.get("median_ms")}
    for row in rows:
        base = reference.get(_key(row))
        row["delta_pct"] = None if base in (None, 0) or row["flops"] is None else 100 * (row["flops"] - base) / base
        slower = torchinfo.get(_key(row))
        ours = row["tool"] == Tool.OURS and slower and row.get("median_ms")
        row["ratio"] = row["median_ms"] / slower if ours else None
    return rows


def si(value: float | None, digits: int = 4) -> str:
    """Return a number with an SI prefix and `digits` significant digits, e.g. 8.178 G."""
    if value is None:
        return "—"
    for factor, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.{digits}g} {prefix}"
    return f"{value:.{digits}g}"


def _delta(value: float | None) -> str:
    if value is None:
        return "—"
    if value == 0:
        return "0 (equal)"
    return f"{value:+.2g}%" if abs(value) < 0.01 else f"{value:+.1f}%"


def _ms(value: float | None) -> str:
    return "—" if value is None else (f"{value:.1f}" if value < 100 else f"{value:.0f}")


def table(rows: list[dict]) -> list[str]:
    """Return the side-by-side table as Markdown lines, skipped cases once, errors as footnotes."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    notes: list[str] = []
    shown_skips: set[tuple[str, str]] = set()
    for row in rows:
        cells = [row["case"], row["device"], row["input"]]
        error = row.get("error")
        if error and error.startswith("skipped"):
            if _key(row) not in shown_skips:
                shown_skips.add(_key(row))
                lines.append("| " + " | ".join([*cells, "all", error, *[""] * (len(HEADER) - 5)]) + " |")
            continue
        tool = row["tool"]
        if error:
            notes.append(f"{row['case']} on {row['device']}, {tool}: {error}")
            tool += f" [{len(notes)}]"
        iqr = f"{_ms(row['q1_ms'])}–{_ms(row['q3_ms'])}" if row.get("median_ms") is not None else "—"
        peak = "—" if row.get("peak_mib") is None else f"{row['peak_mib']:.1f}"
        params = "—" if row["params"] is None else f"{row['params']:,}"
        ratio = "" if row.get("ratio") is None else f"**{row['ratio']:.2f}**"
        lines.append(
            "| "
            + " | ".join(
                [
                    *cells,
                    tool,
                    _ms(row.get("median_ms")),
                    iqr,
                    _ms(row.get("cpu_median_ms")),
                    peak,
                    params,
                    si(row["flops"]),
                    _delta(row.get("delta_pct")),
                    ratio,
                ]
            )
            + " |"
        )
    lines += [""] + [f"[{number}] {note}" for number, note in enumerate(notes, 1)]
    return lines


def _find(rows: list[dict], case: str, device: str, tool: str) -> dict | None:
    return next((r for r in rows if r["case"] == case and r["device"] == device and r["tool"] == tool), None)


def findings(rows: list[dict]) -> list[str]:
    """Return what the FLOP and parameter columns say, as sentences a reader can check in the table."""
    out = []
    gaps = sorted(
        {
            f"{r['case']} ({r['device']})"
            for r in rows
            if r["tool"] == Tool.FLOP_COUNTER and r.get("delta_pct") not in (None, 0)
        }
    )
    if gaps:
        out.append(
            "Plain FlopCounterMode counts attention as 0 FLOPs on CPU in " + ", ".join(gaps) + " (its negative Δ%): "
            "torch's formula registry has no entry for the CPU flash-attention kernel that "
            "F.scaled_dot_product_attention runs there, and nn.TransformerEncoder's eval fast path is one fused op "
            "with no formula. FlopCounterMode+attn is the same counter with torch's own attention formula "
            "registered for that kernel and the fast path off (inspector/core/flops.py, EXTRA_FORMULAS): the "
            "like-for-like reference of the Δ% column. On meta (and CUDA) the two agree."
        )
    ours = [r for r in rows if r["tool"] == Tool.OURS and r["flops"] is not None]
    unequal = [
        f"{r['case']} ({r['device']})"
        for r in ours
        if (ref := _find(rows, r["case"], r["device"], Tool.FLOP_COUNTER_ATTENTION)) and ref["flops"] != r["flops"]
    ]
    out.append(
        "inspect_model's FLOPs equal FlopCounterMode+attn's in every case."
        if not unequal
        else "inspect_model's FLOPs differ from FlopCounterMode+attn's in: " + ", ".join(unequal) + "."
    )
    tied = [
        f"{r['case']} ({r['device']}: {r['params']:,} vs ours {o['params']:,})"
        for r in rows
        if r["tool"] == Tool.TORCHINFO
        and r["params"] is not None
        and (o := _find(rows, r["case"], r["device"], Tool.OURS))
        and o["params"] not in (None, r["params"])
    ]
    if tied:
        out.append(
            "torchinfo's parameter total differs from ours in " + "; ".join(tied) + ". These models tie a "
            "weight (GPT's token embedding is its lm_head): torchinfo counts it once per module holding it; "
            "`sum(p.numel() for p in model.parameters())` and inspect_model count it once."
        )
    shifted = [
        f"{r['case']} ({si(o['flops'])} on {o['device']}, {si(r['flops'])} on meta)"
        for r in rows
        if r["tool"] == Tool.PTFLOPS
        and r["device"] == "meta"
        and r["flops"] is not None
        and (
            o := next(
                (
                    x
                    for x in rows
                    if x["tool"] == Tool.PTFLOPS
                    and x["case"] == r["case"]
                    and x["device"] != "meta"
                    and x["flops"] is not None
                ),
                None,
            )
        )
        and o["flops"] != r["flops"]
    ]
    if shifted:
        out.append(
            "ptflops counts differently on meta than on the real device in " + "; ".join(shifted) + ": on "
            "meta, torch runs addmm as a Python decomposition that calls torch.mm, which ptflops' functional "
            "patch counts on top of its Linear hook."
        )
    out.append(
        "torchinfo's mult-adds come from per-layer rules on parameter counts, so functional ops (attention's "
        "two matmuls, additions) are missing, and for a (B, T, C) Linear input it multiplies by the batch "
        "and not by T: hence its large negative Δ% on transformers."
    )
    return out


def _ratio(rows: list[dict], case: str, device: str) -> tuple[str, bool | None]:
    row = _find(rows, case, device, Tool.OURS)
    if row is None or row.get("ratio") is None:
        return "not measured in this run", None
    exact = row.get("delta_pct") == 0
    return f"ratio {row['ratio']:.2f}, FLOPs {'equal' if exact else 'NOT equal'}", row["ratio"] <= 1.0 and exact


def targets(data: dict) -> list[str]:
    """Return issue 8's targets, each with what this run measured and whether it holds."""
    rows, fresh, app = data["rows"], data.get("fresh_process") or {}, data.get("app") or {}
    checks: list[tuple[str, str, bool | None]] = []
    device = data["settings"]["device"]
    checks.append(
        ("inspect_model ≤ torchinfo on ResNet-50, FLOPs = FlopCounterMode's", *_ratio(rows, "resnet50", device))
    )
    checks.append(("inspect_model ≤ torchinfo on the 7B decoder on meta, FLOPs equal", *_ratio(rows, "gpt_7b", "meta")))
    median = fresh.get("median") if fresh.get("model") == "gpt_7b" else None
    if median:
        checks.append(
            (
                "7B on meta, fresh process: < 2 s and < 1.5 GB peak RSS",
                f"{median['process_s']:.2f} s, {fresh['max_peak_rss_mib']:.0f} MiB",
                median["process_s"] < 2 and fresh["max_peak_rss_mib"] < TARGET_MIB,
            )
        )
    warm = _find(rows, "gpt_7b", "meta", Tool.OURS)
    if warm and warm.get("median_ms") is not None:
        checks.append(
            (
                "7B on meta, warm in-process inspect_model: < 2 s",
                f"{warm['median_ms'] / 1000:.2f} s",
                warm["median_ms"] < 2000,
            )
        )
    for key, label, limit in (
        ("layer_lab_change", "Layer Lab interaction (AppTest) < 100 ms median", 100),
        ("model_cached", "cached Model Inspector redraw (AppTest) < 300 ms", 300),
        ("first_output_warm", "first page output in Chromium < 3 s (warm server)", 3000),
        ("first_output_cold", "first page output in Chromium < 3 s (cold server)", 3000),
    ):
        if isinstance(app.get(key), dict):
            checks.append((label, f"{app[key]['median_ms']:.0f} ms", app[key]["median_ms"] < limit))
    mark = {True: "✅ met", False: "❌ not met", None: "—"}
    return ["| target | measured | |", "|---|---|---|"] + [f"| {t} | {m} | {mark[ok]} |" for t, m, ok in checks]


def _fresh_section(fresh: dict) -> list[str]:
    if not fresh:
        return ["Not run (`--skip-fresh`)."]
    if "error" in fresh:
        return [f"Failed: {fresh['error']}"]
    m = fresh["median"]
    phases = (
        ("import torch + inspector", "import"),
        ("import torch._dynamo (first use)", "dynamo"),
        ("build on meta", "build"),
        ("first inspect_model", "inspect"),
        ("second inspect_model, same process", "second_inspect"),
    )
    return [
        f"`{fresh['model']}` {fresh['options'] or ''} built and inspected on meta in a new `python -c` process, "
        f"median of {fresh['runs']} run(s). Whole process, timed from outside: **{m['process_s']:.2f} s**; peak "
        f"resident memory (VmHWM, max of runs): **{fresh['max_peak_rss_mib']:.0f} MiB**. Inside the process:",
        "",
        "| phase | wall s | CPU s |",
        "|---|---|---|",
        *[f"| {label} | {m[key + '_s']:.2f} | {m[key + '_cpu_s']:.2f} |" for label, key in phases],
        "",
        "The whole-process figure is what a user waits for on a first `python -m inspector model gpt_7b --device "
        "meta`: interpreter start and exit, importing torch, and torch._dynamo, which torch imports lazily the "
        "first time any TorchDispatchMode (FlopCounterMode included) or any Python meta kernel runs: a floor no "
        "inspector built on FlopCounterMode avoids. The warm in-process figure is the gpt_7b / meta / "
        'inspect_model row of the table above, and the "second inspect_model" phase here. CPU s is closer than '
        "wall s to what a quiet machine shows when the machine was shared.",
    ]


def _app_section(app: dict) -> list[str]:
    if not app:
        return ["Not run (`--skip-app`)."]
    if "skipped" in app:
        return [f"Skipped: {app['skipped']}."]
    lines = ["| interaction | median ms | runs |", "|---|---|---|"]
    for value in app.values():
        if isinstance(value, dict):
            lines.append(f"| {value['what']} | {value['median_ms']:.0f} | {len(value['samples_ms'])} |")
    lines += [f"\n{key}: {value}" for key, value in app.items() if key.endswith("_error")]
    lines.append(
        "\nAppTest times a whole script rerun in-process (the server side of an interaction, without the "
        "browser drawing it); the Chromium times run from navigation to the Layer Lab's first result heading "
        "against a real `streamlit run`."
    )
    return lines


def _profile_section(profiles: list[dict]) -> list[str]:
    lines = [
        "Self time (time in a function itself, not in the Python functions it calls) of one warm "
        "`inspect_model`, summed by area of code and by function. pyinstrument sees Python frames only, so "
        "time in a C++ kernel shows as self time of the Python function (or `<built-in>` op call) that "
        'called it. On meta the "kernels" are torch\'s meta functions, mostly Python reference '
        "implementations (torch/_refs, torch/_prims): they compute output shapes only, yet cost the most."
    ]
    for profile in profiles:
        if "error" in profile:
            lines.append(f"\n### {profile['case']} on {profile['device']}\n\nFailed: {profile['error']}")
            continue
        total = profile["total_s"]
        lines += [
            f"\n### {profile['case']} on {profile['device']} ({profile['profiler']}, {total * 1000:.0f} ms "
            "under the profiler)",
            "",
            "| area | share |",
            "|---|---|",
        ]
        lines += [f"| {area} | {100 * seconds / total:.1f}% |" for area, seconds in profile["areas"] if seconds > 0]
        lines += ["", "| function (self time) | ms |", "|---|---|"]
        lines += [f"| `{name}` | {seconds * 1000:.1f} |" for name, seconds in profile["functions"]]
    return lines


def render_markdown(data: dict) -> str:
    """Return results.md for a run's JSON document."""
    settings = data["settings"]
    load = data.get("load_average", {})
    missing = "".join(f"\n- {tool} not compared: {why}" for tool, why in data.get("tools_missing", {}).items())
    lines = [
        "# Benchmark results",
        "",
        f"- **Date**: {data['date']}",
        f"- **Machine**: {data['machine_line']}",
        f"- **Command**: `{data['command']}`",
        f"- **Method**: in one process, per case one model and one input tensor for every tool; one warm-up run "
        f"per tool, then {settings['repeats']} rounds in which the tools take turns; then one more run per tool "
        "for peak memory.",
        f"- **Load average** (1/5/15 min) at start {load.get('start')}, at end {load.get('end')}: on a shared "
        "machine absolute times move with the load; ratios of tools measured in the same rounds move less." + missing,
        "",
        "## Targets (issue 8)",
        "",
        *targets(data),
        "",
        *speed_section(data.get("speed", {})),
        *round_trip_section(data),
        "## Side by side",
        "",
        "FLOPs are FlopCounterMode's convention: FLOPs = 2 × MACs (a multiply–accumulate counts as two). "
        "torchinfo's mult-adds, fvcore's \"flops\" and ptflops' MACs are multiply–accumulates and are doubled. "
        "Δ% = (tool − reference) / reference, the reference being FlopCounterMode+attn (torch's FlopCounterMode "
        "with attention counted on CPU too, see below). peak MiB: on cpu and meta the most resident "
        "memory the call added (VmHWM after, reset through /proc/self/clear_refs, minus VmRSS before); on CUDA "
        "`torch.cuda.max_memory_allocated` minus allocated before. ours/torchinfo: median time of inspect_model "
        "divided by torchinfo.summary's on the same case; below 1 means inspect_model is faster. IQR: first–third "
        "quartile of the timed runs.",
        "",
        *table(data["rows"]),
        "",
        *[f"- {line}" for line in findings(data["rows"])],
        "",
        "## The 7B decoder on meta: fresh process and warm",
        "",
        *_fresh_section(data.get("fresh_process") or {}),
        "",
        "## App responsiveness",
        "",
        *_app_section(data.get("app") or {}),
        "",
        "## What the time goes to",
        "",
        *_profile_section(data.get("profiles", [])),
        "",
        f"Chart of the ratios: `ratios.html`, `ratios.png` ({data.get('chart', 'not written')}).",
        "",
    ]
    return "\n".join(lines)
