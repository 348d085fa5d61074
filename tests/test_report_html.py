"""report.html: written by every run, self-contained, complete, escaped and accessible (static checks).

The same page is opened in a real browser in tests/test_browser.py.
"""
from __future__ import annotations

import base64
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

import sgfkit
from sgfkit.report_html import markdown_to_html, render_report_html, svg_curve, write_report_html

TINY = Path(__file__).parent / "fixtures" / "core" / "recipes" / "tiny.yaml"


class _Page(HTMLParser):
    """Collects tags with their attributes, and the text under each table."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.tables:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


@pytest.fixture
def tiny_run(tmp_path, monkeypatch, tiny_plugins) -> Path:
    monkeypatch.chdir(tmp_path)
    return sgfkit.run(TINY).run_dir


def test_every_run_writes_a_self_contained_report(tiny_run):
    text = (tiny_run / "report.html").read_text()
    page = parse(text)
    images = [attrs for tag, attrs in page.tags if tag == "img"]
    assert len(images) == 2  # edits.png and the metric's figure
    for attrs in images:
        assert attrs["alt"] and len(attrs["alt"]) > 20  # a real description, not a file name
        assert attrs["src"].startswith("data:image/png;base64,")
    # the embedded bytes are exactly the run folder's images
    embedded = [base64.b64decode(a["src"].split(",", 1)[1]) for a in images]
    assert embedded[0] == (tiny_run / "edits.png").read_bytes()
    assert embedded[1] == (tiny_run / "tiny-gain_curve.png").read_bytes()
    assert Image.open(io.BytesIO(embedded[0])).size == Image.open(tiny_run / "edits.png").size
    # nothing is fetched from anywhere: no remote URL, no script, and a CSP that forbids both
    assert not re.search(r"(src|href)=\"(https?:)?//", text)
    assert "<script" not in text
    assert "default-src 'none'" in text


def test_the_report_shows_tables_fits_timings_recipe_and_versions(tiny_run):
    page = parse((tiny_run / "report.html").read_text())
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    by_header = {tuple(t[0]): t[1:] for t in page.tables if t}
    edits = by_header[("method", "edit", "target", "w+ layers", "status (samples)", "mean steps")]
    assert ["shift", "redder", '{"red": 1.0}', "0", "done 2", "4"] in edits and len(edits) == 4  # coarse: layer 0
    assert ["shift", "less-blue", '{"blue": 0.0}', "0-2", "done 2", "4"] in edits  # all three layers
    gain = by_header[("method", "attribute", "gain at strongest")]  # the metric's markdown table
    assert ["shift", "red", "0.462"] in gain
    values = dict(map(tuple, by_header[("metric", "value")]))
    assert float(values["tiny-gain.gain.shift.red"]) == pytest.approx(metrics["metrics"]["tiny-gain"]["gain"]["shift"]["red"],
                                                                      rel=1e-3)
    fits = [t[1:] for t in page.tables if t[0] == ["diagnostic", "value"]]
    assert fits == [[["mse", f"{metrics['fit'][label]['mse']:.4g}"], ["samples", "128"]]
                    for label in ("shift", "shift-ridge")]
    timings = {row[0] for row in by_header[("stage", "seconds", "share")]}
    assert timings == set(metrics["timings_s"])
    versions = dict(map(tuple, by_header[("", "version")]))
    assert versions["device"] == "cpu" and versions["sgfkit"] == sgfkit.__version__
    text = (tiny_run / "report.html").read_text()
    assert "type: tiny-shift" in text and "sgfkit-tiny==0.1.0" in text  # resolved recipe, distributions


def test_accessibility_basics(tiny_run):
    text = (tiny_run / "report.html").read_text()
    page = parse(text)
    tags = [t for t, _ in page.tags]
    assert '<html lang="en">' in text and 'name="viewport"' in text
    assert {"main", "nav", "header"} <= set(tags)
    assert tags.count("caption") == tags.count("table")  # every table is named
    assert all(a.get("scope") == "col" for t, a in page.tags if t == "th")
    # every section heading is reachable from the navigation by keyboard
    links = [a["href"] for t, a in page.tags if t == "a"]
    sections = [a["id"] for t, a in page.tags if t == "section"]
    assert links[0] == "#main" and links[1:] == [f"#{s}" for s in sections]
    # wide content scrolls inside focusable regions instead of widening the page
    regions = [a for t, a in page.tags if a.get("role") == "region"]
    assert regions and all(a.get("tabindex") == "0" and a.get("aria-label") for a in regions)


def test_user_text_is_escaped(tmp_path, monkeypatch, tiny_plugins):
    monkeypatch.chdir(tmp_path)
    run = sgfkit.run(TINY, overrides=["edits.targets.0.label=<img src=x onerror=alert(1)>", "evaluation=null"])
    text = (run.run_dir / "report.html").read_text()
    assert "<img src=x" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text


def _fake_run(folder: Path, fit: dict, timings: dict | None = None) -> Path:
    folder.mkdir()
    (folder / "metrics.json").write_text(json.dumps({
        "name": "fake", "metrics": {}, "fit": fit, "timings_s": timings or {"fit:SGF": 2.0}, "cache_hits": {},
        "notes": ["a note"], "edits": [], "files": {"figures": [], "tables": []}}))
    return folder


def test_fit_diagnostics_show_curves_and_warnings(tmp_path):
    fit = {"SGF": {"spectral_radius_max": 1.7, "step_fidelity": 0.93, "loss_curve": [1.0, 0.5, 0.1, 0.05],
                   "warnings": ["spectral radius of dF/dz reaches 1.70"], "condition_names": ["a", "b"]}}
    text = render_report_html(_fake_run(tmp_path / "run", fit))
    page = parse(text)
    rows = next(t for t in page.tables if t[0] == ["diagnostic", "value"])
    assert ["spectral_radius_max", "1.7"] in rows and ["step_fidelity", "0.93"] in rows
    assert '<svg class="curve" role="img"' in text and "SGF: loss_curve: 4 values from 1 to 0.05" in text
    assert '<ul class="warn"><li>spectral radius of dF/dz reaches 1.70</li></ul>' in text
    assert "<li>a note</li>" in text and "No metrics were computed" in text
    assert "edits.png" not in text  # no edits section for a run without edits
    # report.html can be (re)written for any run folder
    assert write_report_html(tmp_path / "run").read_text() == text


def test_long_fit_reports_fold_all_but_the_headline(tmp_path):
    fit = {"InterFaceGAN": {f"attr{i}_accuracy": 0.9 for i in range(30)} | {"samples": 100}}
    page = parse(render_report_html(_fake_run(tmp_path / "run", fit)))
    shown, folded = [t for t in page.tables if t[0] == ["diagnostic", "value"]]
    assert len(shown) == 1 + 12 and len(folded) == 1 + 31


def test_svg_curve():
    assert svg_curve([1.0], "one") == "" and svg_curve([float("nan"), 2.0], "bad") == ""
    log = svg_curve([100.0, 10.0, 1.0, 0.1], "loss")
    assert "(log scale)" in log and "min 0.1, max 100" in log
    linear = svg_curve(list(range(1000)), "ramp")
    assert "(log scale)" not in linear and "1000 values from 0 to 999" in linear
    points = re.search(r'points="([^"]+)"', linear).group(1).split()
    assert len(points) <= 401  # long curves are subsampled


def test_markdown_tables_become_html_tables():
    text = markdown_to_html("| a | b |\n|---|:-:|\n| x | 1.5 |\n| **y** | 2 |\n\nnote <b>", "t")
    page = parse(text)
    assert page.tables == [[["a", "b"], ["x", "1.5"], ["y", "2"]]]
    assert '<td class="num">1.5</td>' in text and "<p>note &lt;b&gt;</p>" in text
