"""available_devices() and `python -m inspector devices` under CUDA_VISIBLE_DEVICES, against torch.

CUDA reads CUDA_VISIBLE_DEVICES once, when a process first touches it, so each setting runs in a
fresh subprocess: one asks torch alone (`torch.cuda.is_available()`, `device_count()`), the others
ask our code, all with the same environment. Without a GPU every setting gives cpu and meta only;
on a GPU machine the unset case lists every GPU and "" or a bogus value hides them all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from inspector.core.i18n import t

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_S = 120  # importing torch in a fresh process on a busy 2-core machine

TORCH_ONLY = """
import json, torch
mps = getattr(torch.backends, "mps", None)
print(json.dumps({
    "available": torch.cuda.is_available(),
    "count": torch.cuda.device_count(),
    "mps": bool(mps is not None and mps.is_available()),
}))
"""
OURS = """
import json
from inspector.core.devices import available_devices
print(json.dumps([device.name for device in available_devices()]))
"""


def run_python(arguments: list[str], visible: str | None) -> str:
    """Run `python ARGUMENTS` from the repository root with CUDA_VISIBLE_DEVICES set to `visible` (None: unset)."""
    env = {key: value for key, value in os.environ.items() if key != "CUDA_VISIBLE_DEVICES"}
    if visible is not None:
        env["CUDA_VISIBLE_DEVICES"] = visible
    done = subprocess.run(
        [sys.executable, *arguments], cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def torch_device_names(visible: str | None) -> list[str]:
    """Return the device names torch itself offers in a process with this CUDA_VISIBLE_DEVICES."""
    facts = json.loads(run_python(["-c", TORCH_ONLY], visible))
    cuda = [f"cuda:{index}" for index in range(facts["count"])] if facts["available"] else []
    return ["cpu", *cuda, *(["mps"] if facts["mps"] else []), "meta"]


@pytest.mark.parametrize("visible", [None, "", "bogus", "-1"], ids=["unset", "empty", "bogus", "minus-one"])
def test_available_devices_are_the_ones_torch_can_use(visible: str | None) -> None:
    expected = torch_device_names(visible)
    assert json.loads(run_python(["-c", OURS], visible)) == expected
    if visible is not None:  # "" hides every GPU; so do ids CUDA cannot parse
        assert not any(name.startswith("cuda") for name in expected)


@pytest.mark.parametrize("visible", [None, "", "bogus"], ids=["unset", "empty", "bogus"])
def test_devices_command_reports_the_setting_and_torchs_devices(visible: str | None) -> None:
    expected = torch_device_names(visible)
    document = json.loads(run_python(["-m", "inspector", "devices", "--format", "json"], visible))
    assert document["cuda_visible_devices"] == visible
    assert [row["name"] for row in document["devices"]] == expected
    lines = run_python(["-m", "inspector", "devices"], visible).splitlines()
    assert [line.split()[0] for line in lines[:-1]] == expected
    # the last line names the setting as the process saw it: "" is set (no GPU visible), not unset
    setting = t("cli.cuda_unset", "en") if visible is None else visible
    assert lines[-1] == f"CUDA_VISIBLE_DEVICES={setting}"
