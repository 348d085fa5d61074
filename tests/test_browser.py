"""report.html and ``sgfkit serve`` in a real browser: Playwright driving Debian's chromium.

No browser is downloaded: the tests use the system chromium (``apt-get install chromium``; .ci/run
installs it) through ``executable_path``, and skip with the reason only where none is installed.
The pages run under their own Content-Security-Policy here, so a blocked script would fail them.
"""
from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import sgfkit

pytestmark = [pytest.mark.integration, pytest.mark.slow]

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[dev]'")

TINY = Path(__file__).parent / "fixtures" / "core" / "recipes" / "tiny.yaml"


def find_chromium() -> str | None:
    """The system chromium: $SGFKIT_CHROMIUM, else chromium / chromium-browser on PATH."""
    configured = os.environ.get("SGFKIT_CHROMIUM")
    if configured:
        return configured
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    executable = find_chromium()
    if executable is None:
        pytest.skip("no chromium found (Debian: apt-get install chromium; or set SGFKIT_CHROMIUM)")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=executable)
        yield b
        b.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def test_report_html_loads_its_images_and_shows_its_tables(tmp_path, monkeypatch, tiny_plugins, page):
    monkeypatch.chdir(tmp_path)
    run_dir = sgfkit.run(TINY).run_dir.resolve()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto((run_dir / "report.html").as_uri())
    sync_api.expect(page.locator("h1")).to_have_text("sgfkit run: tiny")
    # keyboard: the first Tab reaches the skip link, Enter moves to the report
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the report"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"
    images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.alt])")
    assert len(images) == 2 and all(done and width > 0 and alt for done, width, alt in images), images
    tables = page.locator("table")
    assert tables.count() >= 6
    folded = page.locator("details table")
    assert folded.count() == 1 and not folded.first.is_visible()  # all metric values, folded
    page.locator("details summary").first.focus()
    page.keyboard.press("Enter")  # unfolds with the keyboard
    for i in range(tables.count()):
        assert tables.nth(i).is_visible()
    sync_api.expect(page.locator("#metrics table").first).to_contain_text("gain at strongest")
    # nothing was fetched but the page itself and its embedded images
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    # a narrow screen: the page does not scroll sideways; the wide edit grid scrolls inside its region
    page.set_viewport_size({"width": 360, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    grid = page.locator("#edits .scroll").first
    assert grid.evaluate("e => e.scrollWidth > e.clientWidth")


def _start_serve(run_dir: Path, cwd: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "sgfkit", "serve", str(run_dir), "--port", "0"], cwd=cwd,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        first = lines.get(timeout=60)
    except queue.Empty:
        proc.kill()
        raise AssertionError("sgfkit serve printed nothing in 60 s") from None
    assert first.startswith("serving ") and " at http://127.0.0.1:" in first, first
    return proc, first.split(" at ", 1)[1].split()[0]


def test_serve_page_edits_live_and_shows_request_errors(tmp_path, monkeypatch, tiny_plugins, page, subprocess_env):
    monkeypatch.chdir(tmp_path)
    run_dir = sgfkit.run(TINY, overrides=["evaluation=null"]).run_dir
    proc, url = _start_serve(run_dir, tmp_path, subprocess_env())
    try:
        page.goto(url)
        expect = sync_api.expect
        expect(page.locator("body")).to_have_attribute("data-ready", "1")
        expect(page.locator("#status")).to_contain_text("unchanged")
        before = page.get_attribute("#result-img", "src")
        source_red = float(page.locator("#reading tbody tr").first.locator("td").nth(0).inner_text())
        # move the red slider with the keyboard (End = its maximum, 1.0)
        page.focus("#s-red")
        page.keyboard.press("End")
        expect(page.locator("#status")).to_contain_text("done, 4 steps")
        assert page.get_attribute("#result-img", "src") != before
        cells = page.locator("#reading tbody tr").first.locator("td")
        assert cells.nth(1).inner_text() == "1.00"
        assert float(cells.nth(2).inner_text()) > source_red + 0.05
        assert page.locator("#path img").count() == 3
        # a bad request from the page gets its JSON error
        reply = page.evaluate("""async () => {
            const r = await fetch('/api/edit', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                               body: JSON.stringify({seed: 0, method: 'shift', target: {red: 7}})});
            return [r.status, await r.json()];
        }""")
        assert reply[0] == 400 and reply[1]["error"] == "red must be a number from 0 to 1, got 7"
        # ... and the page shows one it caused itself, then keeps working
        page.fill("#seed", "-5")
        page.keyboard.press("Tab")
        expect(page.locator("#error")).to_contain_text("seed must be a whole number from 0 to 2147483647, got -5")
        page.fill("#seed", "3")
        page.keyboard.press("Tab")
        expect(page.locator("#error")).to_have_text("")
        page.focus("#s-red")
        page.keyboard.press("Home")
        expect(page.locator("#status")).to_contain_text("done, 4 steps")
        assert page.locator("#reading tbody tr").first.locator("td").nth(1).inner_text() == "0.00"
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C: a clean stop
        try:
            assert proc.wait(timeout=20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
