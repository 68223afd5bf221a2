"""Start the real app for the browser tests: `streamlit run app.py` on a free loopback port.

One helper for every test that needs a live server (tests/test_browser.py, tests/test_load.py),
used through the `streamlit_server` fixture in conftest.py. The server's output goes to a log
file, not a pipe: a pipe nobody reads fills up under load and would stall the server.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STARTUP_S = 90  # importing torch and streamlit on a busy 2-core machine
STOP_S = 10


@dataclass(frozen=True)
class Server:
    """A running `streamlit run app.py`: its base URL, process id and log file."""

    url: str
    pid: int
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def health_ok(url: str, timeout: float = 2.0) -> bool:
    """Return whether `url`/_stcore/health answers 'ok' within `timeout` seconds."""
    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=timeout) as response:
        return response.status == 200 and response.read().strip() == b"ok"


def wait_healthy(url: str, process: subprocess.Popen, log: Path, startup_s: float = STARTUP_S) -> None:
    deadline = time.monotonic() + startup_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}: {log.read_text(errors='replace')}")
        try:
            if health_ok(url):
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"streamlit did not answer {url}/_stcore/health within {startup_s} s")


@contextmanager
def streamlit_server() -> Iterator[Server]:
    """Run the app on a free loopback port until the block ends; the server is always terminated."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]
    with tempfile.TemporaryDirectory(prefix="streamlit-test-") as folder:
        log = Path(folder) / "server.log"
        with log.open("w") as output:
            process = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
            try:
                url = f"http://127.0.0.1:{port}"
                wait_healthy(url, process, log)
                yield Server(url, process.pid, log)
            finally:
                process.terminate()
                try:
                    process.wait(timeout=STOP_S)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


# Debian's Chromium, with the flags this machine's closed network needs (no background fetches).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@contextmanager
def chromium_browser() -> Iterator[object]:
    """Yield Debian's Chromium driven by playwright (sync API), closed afterwards. The caller skips first
    when the browser or the playwright package is missing."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def chromium_page(width: int = 1440, height: int = 1000) -> Iterator[object]:
    """Yield a new Chromium tab of `width` × `height` pixels (see `chromium_browser`)."""
    with chromium_browser() as browser:
        yield browser.new_page(viewport={"width": width, "height": height})


def screenshot(page: object, name: str, folder: Path) -> Path:
    """Write the whole page to FOLDER/NAME.png and return the path.

    Tests pass the `screenshot_dir` fixture (a tmp dir); `python -m tests.screenshots` points it
    at docs/screenshots/ for the README's pictures.
    """
    folder.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)  # no hover toolbar or focus ring in the picture
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.set_viewport_size({"width": 1440, "height": 2000})  # the app scrolls inside its own pane: show it all
    main = page.locator('[data-testid="stMain"]')
    if main.count():
        main.first.evaluate("pane => pane.scrollTo(0, 0)")
    page.wait_for_timeout(2000)  # let the layout settle and plotly draw before the picture is taken
    path = folder / f"{name}.png"
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1440, "height": 1000})
    return path
