"""Shared fixtures: small real models that exercise what inspection must get right.

Tests never write into the tree: hypothesis keeps its files in a temporary folder, figures and
screenshots go to a session temporary folder unless `--artifacts-to` / `--screenshots-to` name one
(`python -m tests.screenshots` does, for docs/screenshots/), and a session that leaves new or
changed files under tests/, docs/screenshots/ or .hypothesis/ fails.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis import configuration as hypothesis_configuration
from hypothesis import settings
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
# Where hypothesis would write (its example database, its constants cache): a temporary folder,
# removed at exit. Set here, before any test runs, so `.hypothesis/` is never created in the tree.
_HYPOTHESIS_HOME = Path(tempfile.mkdtemp(prefix="inspector-hypothesis-"))
atexit.register(shutil.rmtree, _HYPOTHESIS_HOME, ignore_errors=True)
hypothesis_configuration.set_hypothesis_home_dir(_HYPOTHESIS_HOME)
settings.register_profile("inspector", database=None)  # no replay database: every run draws afresh
settings.load_profile("inspector")

# What a session must leave as it found it. Test sources (*.py) are left out on purpose: the
# engineers editing them while a session runs are not the tests writing into the tree.
WATCHED = ("tests", "docs/screenshots", ".hypothesis")
_TREE_KEY = pytest.StashKey[dict[str, tuple[int, int]]]()


def tree_snapshot(skip: tuple[Path, ...] = ()) -> dict[str, tuple[int, int]]:
    """Return {path: (size, mtime_ns)} of every file under WATCHED (not *.py, *.pyc, `skip` folders)."""
    files: dict[str, tuple[int, int]] = {}
    for folder in WATCHED:
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".pyc") or not path.is_file() or "__pycache__" in path.parts:
                continue
            if any(path.is_relative_to(kept) for kept in skip):
                continue
            stat = path.stat()
            files[path.relative_to(ROOT).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return files


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("inspector")
    group.addoption("--artifacts-to", metavar="DIR", help="keep figures the tests write (load.json, fuzz_count.txt)")
    group.addoption("--screenshots-to", metavar="DIR", help="keep the browser tests' screenshots (default: a tmp dir)")


def _kept_folders(config: pytest.Config) -> tuple[Path, ...]:
    """Return the folders named on the command line: writing there was asked for."""
    chosen = (config.getoption("--artifacts-to"), config.getoption("--screenshots-to"))
    return tuple(Path(folder).resolve() for folder in chosen if folder)


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[_TREE_KEY] = tree_snapshot(_kept_folders(session.config))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.config.stash.get(_TREE_KEY, None)
    if before is None:
        return
    after = tree_snapshot(_kept_folders(session.config))
    changed = sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))
    if changed:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_sep("!", f"tests wrote into the tree (use tmp_path): {', '.join(changed[:10])}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _chosen_or_temporary(config: pytest.Config, option: str, factory: pytest.TempPathFactory, name: str) -> Path:
    chosen = config.getoption(option)
    if not chosen:
        return factory.mktemp(name)
    folder = Path(chosen).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def artifacts_dir(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where tests write figures they report (a session tmp dir unless `--artifacts-to DIR`)."""
    return _chosen_or_temporary(pytestconfig, "--artifacts-to", tmp_path_factory, "artifacts")


@pytest.fixture(scope="session")
def screenshot_dir(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where browser tests save screenshots (a session tmp dir unless `--screenshots-to DIR`)."""
    return _chosen_or_temporary(pytestconfig, "--screenshots-to", tmp_path_factory, "screenshots")


class NotesMLP(nn.Module):
    """The notes' MLP, written as they write it."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = nn.Linear(784, 256)
        self.act = nn.ReLU()
        self.output = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.act(self.hidden(x)))


class TiedAutoencoder(nn.Module):
    """Decoder weight is the encoder's: one parameter, two owners."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(100, 16)
        self.head = nn.Linear(16, 100, bias=False)
        self.head.weight = self.embed.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(tokens))


class DictModel(nn.Module):
    """Keyword inputs in, a dict out."""

    def __init__(self) -> None:
        super().__init__()
        self.image = nn.Conv2d(3, 4, 3, padding=1)
        self.text = nn.Linear(12, 4)

    def forward(self, image: torch.Tensor, text: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"image": self.image(image), "text": self.text(text)}


@pytest.fixture
def notes_mlp() -> NotesMLP:
    torch.manual_seed(0)
    return NotesMLP()


@pytest.fixture
def tied() -> TiedAutoencoder:
    return TiedAutoencoder()


@pytest.fixture
def dict_model() -> DictModel:
    return DictModel()


def model_state(model: nn.Module) -> dict[str, object]:
    """Everything inspection promises to leave alone, in a comparable form."""
    return {
        "modes": [m.training for m in model.modules()],
        "devices": [str(t.device) for t in model.state_dict().values()],
        "dtypes": [str(t.dtype) for t in model.state_dict().values()],
        "requires_grad": [p.requires_grad for p in model.parameters()],
        "hooks": [(len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks)) for m in model.modules()],
        "values": {k: v.clone() for k, v in model.state_dict().items()},
    }


def assert_same_state(before: dict[str, object], after: dict[str, object]) -> None:
    values_before, values_after = before.pop("values"), after.pop("values")
    assert before == after
    assert values_before.keys() == values_after.keys()
    for key, value in values_before.items():
        assert torch.equal(value, values_after[key]), key


@pytest.fixture(scope="module")
def streamlit_server() -> object:
    """A real `streamlit run app.py` on a free loopback port for one test module (see tests/server.py)."""
    from server import streamlit_server as start  # tests/ is on sys.path: pytest's rootdir-less test folder

    with start() as server:
        yield server
