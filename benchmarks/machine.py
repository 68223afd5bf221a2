"""What the numbers were measured on: CPU, cores, memory, load, and the versions that matter."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from pathlib import Path

import torch

PACKAGES = ("torch", "torchinfo", "streamlit", "fvcore", "ptflops", "pyinstrument", "kaleido", "plotly")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def load_average() -> list[float] | None:
    """Return the 1, 5 and 15 minute load averages, where the system has them."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def machine_info(device: str) -> dict[str, object]:
    """Return the facts a reader needs to compare these numbers with theirs."""
    info: dict[str, object] = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "ram_gib": round(_memory_gib() or 0, 1),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {package: _version(package) for package in PACKAGES},
    }
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def machine_line(info: dict[str, object]) -> str:
    """Return the machine as one line of text for the report's header."""
    versions = info["versions"]
    assert isinstance(versions, dict)
    installed = ", ".join(f"{name} {version}" for name, version in versions.items() if version)
    gpu = f", GPU {info['gpu']}" if info.get("gpu") else ""
    return (
        f"{info['cpu']}, {info['cores_usable']} of {info['cores']} cores usable, {info['ram_gib']} GiB RAM{gpu}; "
        f"Python {info['python']}, torch threads {info['torch_threads']}; {installed}"
    )
