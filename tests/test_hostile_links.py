"""Hostile links against a real server: one GET must not take the server's memory.

Each link used to make the server allocate gigabytes (a 12,288-channel convolution on a 256×256
image: 6 GB; resnet50 on a 4096×4096 image: minutes of cpu and gigabytes). Now the pre-flight on
meta refuses them before anything is allocated. The proof is the kernel's own high-water mark
(VmHWM) of the server and of every worker process it has, read before and after the link.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from server import CHROMIUM, chromium_page, health_ok

pytestmark = [pytest.mark.browser, pytest.mark.slow]

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (.ci/run installs Debian's chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

RENDER_MS = 120_000  # a cold page with a model build on a busy 2-core machine
GROWTH_LIMIT = 1.5 * 2**30  # the most one hostile link may add to the server's peak
REFUSAL = "one run may use"  # engine.memory.too_big's English message
HOSTILE = {
    # 12,288 · 254 · 254 · 4 bytes = 3.2 GB of output, and as much again for oneDNN's copy
    "conv": "layer_lab?layer=Conv2d&in_channels=3&out_channels=12288&kernel_size=3&input=1,3,256,256",
    # resnet50's stem alone: 64 · 2048 · 2048 · 4 bytes = 1 GiB
    "resnet50": "model_inspector?model=resnet50&input=1,3,4096,4096",
}
READY = {  # what each warm page shows once its run is done
    "conv": ".st-key-lab-output h3",
    "resnet50": '[data-testid="stMetric"]',
}
WARM = {  # the same pages with settings that run: imports and caches loaded before the baseline
    "conv": "layer_lab?layer=Conv2d&in_channels=3&out_channels=16&kernel_size=3&input=1,3,32,32",
    "resnet50": "model_inspector?model=resnet50&input=1,3,64,64",
}


def descendants(pid: int) -> list[int]:
    """Return `pid` and every process below it (the workers), from /proc's children lists."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                queue += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def peak_bytes(pid: int) -> int:
    """Return the summed VmHWM (peak resident set) of the server and its live workers."""
    total = 0
    for process in descendants(pid):
        try:
            status = Path(f"/proc/{process}/status").read_text()
        except OSError:  # a worker that ended between the listing and the read
            continue
        total += next((int(line.split()[1]) * 1024 for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    return total


@pytest.fixture(scope="module")
def page(streamlit_server: object) -> Iterator[object]:
    with chromium_page() as tab:
        yield tab


@pytest.mark.parametrize("link", list(HOSTILE))
def test_hostile_link_is_refused_without_taking_memory(streamlit_server: object, page: object, link: str) -> None:
    url = streamlit_server.url
    page.goto(f"{url}/{WARM[link]}", wait_until="domcontentloaded")
    sync_api.expect(page.locator(READY[link]).first).to_be_visible(timeout=RENDER_MS)
    before = peak_bytes(streamlit_server.pid)

    page.goto(f"{url}/{HOSTILE[link]}", wait_until="domcontentloaded")
    sync_api.expect(page.get_by_text(REFUSAL)).to_be_visible(timeout=RENDER_MS)
    after = peak_bytes(streamlit_server.pid)

    growth = after - before
    print(f"{link}: server peak {before / 2**20:.0f} MiB before, {after / 2**20:.0f} MiB after")
    assert growth <= GROWTH_LIMIT, f"{link} raised the server's peak by {growth / 2**30:.2f} GiB"
    assert health_ok(url)
    page.goto(f"{url}/{WARM[link]}", wait_until="domcontentloaded")  # the page still works afterwards
    sync_api.expect(page.locator(READY[link]).first).to_be_visible(timeout=RENDER_MS)
