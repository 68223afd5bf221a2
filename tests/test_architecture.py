"""The layout is the architecture: each package imports only the packages below it (docs/ARCHITECTURE.md).

Every `import` in every module is read with `ast`, including imports inside functions, so a deferred
import cannot hide an upward dependency. `inspector/` never imports streamlit; `models/` never imports
`inspector` or streamlit.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INSPECTOR = ROOT / "inspector"

# What each package may import, besides itself. Mirrors the picture in docs/ARCHITECTURE.md.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "layers": {"core"},
    "doctor": {"core", "layers"},
    "model": {"core", "layers", "doctor"},
    "lab": {"core", "layers", "doctor", "model"},
    "builder": {"core", "layers", "doctor", "model", "lab"},
    "planner": {"core", "layers", "doctor", "model"},
    "init": {"core", "layers", "model"},
    "checkpoint": {"core", "model"},
}
TOP_LEVEL = {"__init__", "__main__", "cli"}  # wiring that belongs to no feature: may import every package
FORBIDDEN_EVERYWHERE = {"streamlit"}


def imported_modules(path: Path) -> set[str]:
    """Return the dotted names `path` imports, at any depth of the file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def package_of(path: Path) -> str:
    parts = path.relative_to(INSPECTOR).parts
    return parts[0] if len(parts) > 1 else path.stem


def inspector_packages(names: set[str]) -> set[str]:
    """Return the `inspector` packages (`core`, `doctor`, …) that the dotted names point into."""
    found = set()
    for name in names:
        parts = name.split(".")
        if parts[0] == "inspector" and len(parts) > 1 and (INSPECTOR / parts[1]).is_dir():
            found.add(parts[1])
    return found


def test_every_package_is_in_the_allowed_map() -> None:
    packages = {path.name for path in INSPECTOR.iterdir() if (path / "__init__.py").is_file()}
    assert packages == set(ALLOWED), "add the new package to ALLOWED and to docs/ARCHITECTURE.md"
    loose = {path.stem for path in INSPECTOR.glob("*.py")}
    assert loose <= TOP_LEVEL, f"modules outside any package: {sorted(loose - TOP_LEVEL)}"


@pytest.mark.parametrize("path", sorted(INSPECTOR.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path: Path) -> None:
    names = imported_modules(path)
    assert not {name.split(".")[0] for name in names} & FORBIDDEN_EVERYWHERE, "inspector/ never imports streamlit"
    package = package_of(path)
    if package in TOP_LEVEL:
        return
    upward = inspector_packages(names) - ALLOWED[package] - {package}
    assert not upward, f"{package} may import {sorted(ALLOWED[package])}, but imports {sorted(upward)}"
    assert "inspector" not in names, "import from the package that owns the name, not from inspector/__init__"


@pytest.mark.parametrize("path", sorted((ROOT / "models").glob("*.py")), ids=lambda p: p.name)
def test_models_are_plain_torch(path: Path) -> None:
    tops = {name.split(".")[0] for name in imported_modules(path)}
    assert not tops & {"inspector", "streamlit", "ui"}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_every_package_says_what_it_owns(package: str) -> None:
    docstring = ast.get_docstring(ast.parse((INSPECTOR / package / "__init__.py").read_text()))
    assert docstring and "Owns:" in docstring, f"inspector/{package}/__init__.py must say what it owns"


def test_no_source_file_is_too_long() -> None:
    # ~400 lines is where a module stops being readable in one sitting (issue #12).
    sources = [
        *INSPECTOR.rglob("*.py"),
        *(ROOT / "ui").rglob("*.py"),
        *(ROOT / "app_pages").glob("*.py"),
        *(ROOT / "models").glob("*.py"),
    ]
    long = {str(path.relative_to(ROOT)): n for path in sources if (n := len(path.read_text().splitlines())) > 400}
    assert not long, long


def test_pages_widgets_and_engine_share_names() -> None:
    # app_pages/<feature>.py, ui/<feature>/ (where it has widgets of its own) and inspector/<feature>/.
    pages = {path.stem for path in (ROOT / "app_pages").glob("*.py")}
    assert pages <= set(ALLOWED), sorted(pages - set(ALLOWED))
    ui_features = {path.name for path in (ROOT / "ui").iterdir() if (path / "__init__.py").is_file()}
    assert ui_features <= pages, sorted(ui_features - pages)
