"""Regenerate the README's pictures: `python -m tests.screenshots` writes docs/screenshots/*.png.

The one command that writes into docs/screenshots/. It runs the browser tests (a real
`streamlit run app.py` and Debian's Chromium, tests/server.py) with `--screenshots-to` pointed
there, so every picture is taken only after its test has checked the page shows torch's numbers;
the tests themselves save to a tmp dir. Extra arguments go to pytest (`-k chinese`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "docs" / "screenshots"
BROWSER_TESTS = ("tests/test_browser.py", "tests/test_browser_pages.py", "tests/test_browser_graph.py")


def main(argv: list[str] | None = None) -> int:
    """Run the browser tests saving their screenshots to docs/screenshots/; return pytest's exit code."""
    os.chdir(ROOT)  # the tests and the server they start resolve app.py from the repository root
    arguments = ["-q", "-p", "no:cacheprovider", *BROWSER_TESTS, "--screenshots-to", str(SCREENSHOTS)]
    return int(pytest.main([*arguments, *(sys.argv[1:] if argv is None else argv)]))


if __name__ == "__main__":
    sys.exit(main())
