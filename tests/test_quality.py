"""Quality gates inside the one test command: lint, format and types fail the run like a broken test.

Each gate runs the installed tool as a subprocess over the whole tree, with its caches outside the
tree (tests never write into it). The coverage floor is enforced by pytest-cov itself when the suite
runs with `--cov` (see [tool.coverage] in pyproject.toml); the tests here keep its settings and the
README's figure in step.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import inspector

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, check=False)


def _passes(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"


def test_ruff_finds_nothing():
    _passes(_run("ruff", "check", "--no-cache", "."))


def test_tree_is_ruff_formatted():
    _passes(_run("ruff", "format", "--check", "--no-cache", "."))


@pytest.mark.slow
def test_mypy_finds_no_type_error():
    # The files, the per-module strictness and the cache dir (outside the tree) live in [tool.mypy].
    _passes(_run("mypy"))


def _strict_modules() -> set[str]:
    overrides = PYPROJECT["tool"]["mypy"]["overrides"]
    strict = [entry for entry in overrides if entry.get("disallow_any_generics")]
    assert len(strict) == 1, "one override block carries the strict flags"
    return set(strict[0]["module"])


def test_every_public_name_is_type_checked_strictly():
    # A name added to inspector.__all__ from a new module must bring its module into the strict block.
    homes = {getattr(inspector, name).__module__ for name in inspector.__all__}
    assert homes, "inspector.__all__ names at least one object"
    missing = sorted(homes - _strict_modules())
    assert missing == [], f"add to the strict mypy override in pyproject.toml: {missing}"


def test_strict_modules_exist():
    # A module renamed or removed must leave the strict list too, or mypy checks nothing under that name.
    for module in _strict_modules():
        importlib.import_module(module)


def test_coverage_measures_lines_and_branches_of_the_engine():
    run = PYPROJECT["tool"]["coverage"]["run"]
    assert run["branch"] is True
    assert run["source"] == ["inspector"]
    assert not run["data_file"].startswith("."), "the data file lives outside the tree"


def test_readme_quotes_the_coverage_floor():
    floor = PYPROJECT["tool"]["coverage"]["report"]["fail_under"]
    tests_section = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## Tests\n", 1)[1]
    assert re.search(rf"\b{floor:g} ?%", tests_section), f"README's Tests section states the floor, {floor:g} %"


def test_ci_runs_the_readme_test_command():
    quick_start = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## Quick start\n", 1)[1]
    commands = re.findall(r"```bash\n(.+?)\n```", quick_start)
    test_command = commands[1]
    assert "--cov" in test_command, "the one test command measures coverage and enforces its floor"
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci_lines


def test_pre_commit_runs_the_same_checks():
    config = (ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    for entry in ("ruff check", "ruff format --check", "mypy"):
        assert f"entry: {entry}" in config or f"entry: python -m {entry}" in config, entry
