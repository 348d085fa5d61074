"""Regenerate the README's screenshots of report.html and ``sgfkit serve`` (needs a system chromium).

    python docs/screenshots.py            # about a minute on 2 CPU cores

Makes a small synth-faces run (SGF + InterFaceGAN, benchmarks/bench_serve.py's settings with a
20-sample MDC sweep), photographs the top of its report.html (desktop and phone widths), then starts
``sgfkit serve`` on it, moves the smile slider of seed 1 to 1.0 with the keyboard and photographs
the editor. Writes docs/images/report_html.png, report_html_metrics.png, report_html_narrow.png
and serve.png.
"""
from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "benchmarks"))

from bench_serve import make_run, start_server  # noqa: E402


def main() -> None:
    from playwright.sync_api import expect, sync_playwright

    chromium = os.environ.get("SGFKIT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("no chromium found: apt-get install chromium (or set SGFKIT_CHROMIUM)")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    out = HERE / "images"
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        run_dir = make_run(Path(tmp), evaluation=True)
        browser = pw.chromium.launch(executable_path=chromium)
        page = browser.new_page(viewport={"width": 1100, "height": 760})
        page.goto((run_dir / "report.html").as_uri())
        page.screenshot(path=str(out / "report_html.png"))
        page.locator("#metrics").screenshot(path=str(out / "report_html_metrics.png"))
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(out / "report_html_narrow.png"))
        proc, port = start_server(run_dir, Path(tmp))
        try:
            page.set_viewport_size({"width": 1100, "height": 760})
            page.goto(f"http://127.0.0.1:{port}/")
            expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=60_000)
            page.select_option("#method", "SGF")
            page.fill("#seed", "1")
            page.keyboard.press("Tab")
            expect(page.locator("#source-img")).to_have_attribute("alt", re.compile("seed 1:"))
            page.focus("#s-smile")
            page.keyboard.press("End")
            expect(page.locator("#status")).to_have_text(re.compile(r"^(?!unchanged|editing).* steps, "),
                                                         timeout=60_000)
            page.screenshot(path=str(out / "serve.png"))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        browser.close()
    print("wrote " + ", ".join(str(out / n) for n in ("report_html.png", "report_html_metrics.png",
                                                      "report_html_narrow.png", "serve.png")))


if __name__ == "__main__":
    main()
