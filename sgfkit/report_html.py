"""``report.html``: one self-contained page that shows a run folder in a browser.

Reads only what the run folder holds (metrics.json, environment.json, recipe.resolved.yaml, the
metric tables ``*.md`` and figures ``*.png``, edits.png), so it can be regenerated for any run with
:func:`write_report_html`. Images are embedded as data URIs and curves drawn as inline SVG: the
page needs no network and no other file. Accessible by construction: every image has an alt text,
tables have captions and header cells, wide content sits in keyboard-focusable scroll regions,
and the layout reflows on a narrow screen.
"""
from __future__ import annotations

import base64
import html
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sgfkit.outputs import write_text_atomic
from sgfkit.report_model import layers_text
from sgfkit.run_outputs import _flatten  # the same dotted keys report.md shows

#: scalar values shown in the metrics table (the rest stay in metrics.json)
MAX_METRIC_ROWS = 200
#: fit diagnostics shown unfolded: the ones that say whether a fit can be trusted
_HEADLINE = re.compile(r"loss|spectral|fidelity|r2|dependence|accuracy|mse|error", re.IGNORECASE)
MAX_HEADLINE_ROWS = 12
#: points drawn per curve (longer curves are subsampled evenly)
MAX_CURVE_POINTS = 400

_CSS = """
:root { --fg: #1b1b1b; --bg: #fff; --muted: #555; --rule: #d0d0d0; --accent: #0b57d0; --warn: #8a4b00;
        --bar: #7aa7e8; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e8e8e8; --bg: #161616; --muted: #b0b0b0; --rule: #444; --accent: #8ab4f8; --warn: #f0b35b;
          --bar: #3d6bb3; }
  img.plot { background: #fff; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
       background: var(--bg); }
main, header, nav { max-width: 72rem; margin: 0 auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin: 1rem 0 0.25rem; overflow-wrap: anywhere; }
h2 { font-size: 1.3rem; margin-top: 2rem; border-bottom: 1px solid var(--rule); }
h3 { font-size: 1.05rem; margin-top: 1.25rem; overflow-wrap: anywhere; }
a { color: var(--accent); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.skip { position: absolute; left: -999px; }
.vh { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
details { margin: 0.75rem 0; }
summary { cursor: pointer; }
.skip:focus { left: 1rem; top: 1rem; background: var(--bg); padding: 0.5rem; z-index: 1; }
nav ul { display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; padding: 0; list-style: none; }
.muted { color: var(--muted); }
.scroll { overflow-x: auto; max-width: 100%; width: fit-content; }
.scroll img { display: block; max-width: none; }
figure { margin: 1rem 0; }
figure img.plot { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 0.5rem 0; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding: 0.25rem 0; }
th, td { border: 1px solid var(--rule); padding: 0.2rem 0.5rem; text-align: left; vertical-align: top; }
td.num { text-align: right; }
.bar { display: inline-block; height: 0.7rem; background: var(--bar); vertical-align: middle; }
.warn { color: var(--warn); }
pre { overflow-x: auto; padding: 0.75rem; border: 1px solid var(--rule); font-size: 0.85rem; }
svg.curve { max-width: 100%; height: auto; }
svg.curve text { fill: currentColor; font-size: 11px; }
@media (max-width: 40rem) { body { font-size: 15px; } th, td { padding: 0.15rem 0.3rem; } }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _png_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# -- building blocks ------------------------------------------------------------------------------

def html_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], caption: str, raw: bool = False,
               show_caption: bool = True) -> str:
    """A captioned table in a keyboard-scrollable region; cells are escaped unless ``raw``.

    ``show_caption=False`` keeps the caption for screen readers only (a heading already names the table).
    """
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in headers)
    cap_class = "" if show_caption else ' class="vh"'
    body = []
    for row in rows:
        cells = []
        for cell in row:
            text = str(cell) if raw else _e(_fmt(cell))
            cls = ' class="num"' if _is_number(cell) else ""
            cells.append(f"<td{cls}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="scroll" role="region" tabindex="0" aria-label="{_e(caption)}">'
            f"<table><caption{cap_class}>{_e(caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>")


def markdown_to_html(text: str, caption: str, show_caption: bool = True) -> str:
    """The markdown the metrics write (pipe tables, plain lines) as HTML; anything else stays text."""
    out: list[str] = []
    table: list[list[str]] = []

    def flush() -> None:
        if table:
            header, *rows = table
            out.append(html_table(header, [[_cell(c) for c in r] for r in rows], caption, show_caption=show_caption))
            table.clear()

    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("|") and stripped.endswith("|"):
            cells = [c.strip() for c in stripped[1:-1].split("|")]
            if all(set(c) <= set("-: ") and c for c in cells):
                continue  # the |---|---| separator row
            table.append(cells)
            continue
        flush()
        if stripped:
            out.append(f"<p>{_e(stripped.replace('**', '').strip('#').strip())}</p>")
    flush()
    return "\n".join(out)


def _cell(text: str) -> Any:
    plain = text.replace("**", "").replace("`", "")
    try:
        return float(plain) if any(ch in plain for ch in ".eE") else int(plain)
    except ValueError:
        return plain


def svg_curve(values: Sequence[float], title: str, x_label: str = "record", width: int = 560,
              height: int = 180) -> str:
    """An inline SVG line chart of ``values`` with its range in words (for screen readers too)."""
    points = [float(v) for v in values if _is_number(v) and math.isfinite(float(v))]
    if len(points) < 2:
        return ""
    if len(points) > MAX_CURVE_POINTS:
        step = len(points) / MAX_CURVE_POINTS
        points = [points[int(i * step)] for i in range(MAX_CURVE_POINTS)] + [points[-1]]
    log = min(points) > 0 and max(points) / min(points) > 100  # losses spanning decades read better in log
    ys = [math.log10(p) for p in points] if log else points
    lo, hi = min(ys), max(ys)
    span = hi - lo or 1.0
    left, right, top, bottom = 52, 8, 18, 22
    pw, ph = width - left - right, height - top - bottom
    coords = " ".join(f"{left + pw * i / (len(ys) - 1):.1f},{top + ph * (1 - (y - lo) / span):.1f}"
                      for i, y in enumerate(ys))
    summary = (f"{title}: {len(values)} values from {_fmt(points[0])} to {_fmt(points[-1])}, "
               f"min {_fmt(min(points))}, max {_fmt(max(points))}" + (" (log scale)" if log else ""))
    top_label, bottom_label = (10 ** hi, 10 ** lo) if log else (hi, lo)
    return (f'<figure><svg class="curve" role="img" viewBox="0 0 {width} {height}" width="{width}" '
            f'height="{height}" aria-label="{_e(summary)}"><title>{_e(summary)}</title>'
            f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="currentColor" '
            f'stroke-opacity="0.3"/>'
            f'<polyline points="{coords}" fill="none" stroke="#0b57d0" stroke-width="1.5"/>'
            f'<text x="{left - 4}" y="{top + 4}" text-anchor="end">{_e(_fmt(top_label))}</text>'
            f'<text x="{left - 4}" y="{top + ph}" text-anchor="end">{_e(_fmt(bottom_label))}</text>'
            f'<text x="{left}" y="{height - 6}">{_e(x_label)} 0</text>'
            f'<text x="{left + pw}" y="{height - 6}" text-anchor="end">{len(values) - 1}</text>'
            f'<text x="{left}" y="12">{_e(title)}{" (log scale)" if log else ""}</text>'
            f"</svg><figcaption class=\"muted\">{_e(summary)}</figcaption></figure>")


def _image(path: Path, alt: str, caption: str, wide: bool) -> str:
    if not path.is_file():
        return f'<p class="warn">{_e(path.name)} is missing from the run folder.</p>'
    img = f'<img src="{_png_uri(path)}" alt="{_e(alt)}"' + ("" if wide else ' class="plot"') + ">"
    if wide:  # a grid wider than the screen scrolls sideways instead of shrinking to illegible
        img = f'<div class="scroll" role="region" tabindex="0" aria-label="{_e(caption)} (scrollable)">{img}</div>'
    return f"<figure>{img}<figcaption>{_e(caption)}</figcaption></figure>"


# -- sections -------------------------------------------------------------------------------------

def _edits_section(run_dir: Path, metrics: dict[str, Any]) -> str:
    edits = metrics.get("edits") or []
    blocks = sorted({f"{e['method']} -> {e['label']}" for e in edits})
    alt = (f"Grid of example edits, {len(blocks)} blocks ({'; '.join(blocks)}). Each row is one seed: "
           "the source image, points along the edit path, and the result, each labelled with the "
           "encoder's reading.")
    w_plus = any(e.get("layers") is not None for e in edits)
    rows = []
    for e in edits:
        statuses = {s: e["status"].count(s) for s in dict.fromkeys(e["status"])}
        steps = e.get("steps") or []
        rows.append([e["method"], e["label"], json.dumps(e["target"], ensure_ascii=False)]
                    + ([layers_text(e.get("layers"))] if w_plus else [])
                    + [", ".join(f"{k} {v}" for k, v in statuses.items()),
                       round(sum(steps) / len(steps), 2) if steps else "-"])
    header = ["method", "edit", "target"] + (["w+ layers"] if w_plus else []) + ["status (samples)", "mean steps"]
    return (_image(run_dir / "edits.png", alt, "edits.png: source | path | result per seed", wide=True)
            + html_table(header, rows, "Example edits")
            + _videos_table(run_dir, metrics))


def _videos_table(run_dir: Path, metrics: dict[str, Any]) -> str:
    """Links to the edit videos beside this page (the page stays self-contained: videos are not embedded)."""
    from sgfkit.report_model import video_rows

    rows = [[f'<a href="{_e(v["file"])}">{_e(v["file"])}</a>' if (run_dir / v["file"]).is_file()
             else f"{_e(v['file'])} (missing)", _e(v["shows"])] for v in video_rows(metrics)]
    return html_table(["file", "shows"], rows, "Edit videos (files in the run folder)", raw=True) if rows else ""


def _metrics_section(run_dir: Path, metrics: dict[str, Any]) -> str:
    """The metrics' own tables and figures first, then every scalar value (folded)."""
    parts = []
    files = metrics.get("files") or {}
    for name in files.get("tables", []):
        path = run_dir / name
        if path.is_file():
            parts.append(f"<h3>{_e(name[:-3])}</h3>"
                         + markdown_to_html(path.read_text(encoding="utf-8"), name[:-3], show_caption=False))
    for name in files.get("figures", []):
        stem = name[:-4]
        parts.append(f"<h3>{_e(stem)}</h3>" + _image(
            run_dir / name, f"Plot {stem} written by the metric (for MDC plots: the attribute change "
            "of the target against the largest change of any other attribute, per method)", name, wide=False))
    flat: list[tuple[str, Any]] = []
    for label, values in (metrics.get("metrics") or {}).items():
        _flatten(label, values, flat)
    scalars = [(k, v) for k, v in flat if not isinstance(v, (list, dict))]
    if scalars:
        rows = [[k, v] for k, v in scalars[:MAX_METRIC_ROWS]]
        if len(scalars) > MAX_METRIC_ROWS:
            rows.append(["...", f"{len(scalars) - MAX_METRIC_ROWS} more values in metrics.json"])
        table = html_table(["metric", "value"], rows, "Metric values")
        parts.append(table if not parts else
                     f"<details><summary>All {len(scalars)} metric values</summary>{table}</details>")
    return "\n".join(parts) or "<p>No metrics were computed in this run.</p>"


def _fit_section(metrics: dict[str, Any]) -> str:
    hits = metrics.get("cache_hits") or {}
    parts = []
    for label, report in (metrics.get("fit") or {}).items():
        cached = " (loaded from the cache)" if hits.get(f"fit:{label}") else ""
        parts.append(f"<h3>{_e(label)}{_e(cached)}</h3>")
        flat: list[tuple[str, Any]] = []
        _flatten("", report if isinstance(report, dict) else {"value": report}, flat)
        curves = [(k, v) for k, v in flat if isinstance(v, list) and len(v) >= 2 and all(map(_is_number, v))]
        warnings = [w for k, v in flat if k.endswith("warnings") and isinstance(v, list) for w in v]
        scalars = [[k, v] for k, v in flat if not isinstance(v, (list, dict))]
        headline = [row for row in scalars if _HEADLINE.search(row[0])][:MAX_HEADLINE_ROWS]
        if len(scalars) <= MAX_HEADLINE_ROWS or not headline:
            headline = scalars[:MAX_HEADLINE_ROWS]
        if headline:
            parts.append(html_table(["diagnostic", "value"], headline, f"{label}: fit diagnostics"))
        if len(scalars) > len(headline):
            parts.append(f"<details><summary>All {len(scalars)} diagnostics of {_e(label)}</summary>"
                         + html_table(["diagnostic", "value"], scalars, f"{label}: all fit diagnostics")
                         + "</details>")
        for key, values in curves:
            parts.append(svg_curve(values, f"{label}: {key}", "step" if "curve" in key else "index"))
        if warnings:
            parts.append('<ul class="warn">' + "".join(f"<li>{_e(w)}</li>" for w in warnings) + "</ul>")
    return "\n".join(parts) or "<p>Nothing was fitted in this run.</p>"


def _timings_section(metrics: dict[str, Any]) -> str:
    timings = {k: float(v) for k, v in (metrics.get("timings_s") or {}).items() if _is_number(v)}
    longest = max(timings.values(), default=0.0) or 1.0
    rows = [[_e(stage), f"{seconds:.3f}",
             f'<span class="bar" style="width:{max(1, int(160 * seconds / longest))}px" aria-hidden="true"></span>']
            for stage, seconds in timings.items()]
    total = sum(timings.values())
    return (html_table(["stage", "seconds", "share"], rows, f"Stage timings (total {total:.2f} s)", raw=True)
            if rows else "<p>No timings recorded.</p>")


def _environment_section(env: dict[str, Any]) -> str:
    rows = [[key, env.get(key)] for key in ("sgfkit", "python", "torch", "numpy", "device", "cuda", "platform")
            if key in env]
    comps = env.get("components") or {}
    comp_rows = [[role, c.get("type"), f"{c.get('distribution') or c.get('plugin')} {c.get('version') or ''}".strip(),
                  json.dumps(c.get("versions") or {}, ensure_ascii=False)] for role, c in comps.items()]
    out = html_table(["", "version"], rows, "Versions")
    if comp_rows:
        out += html_table(["role", "component", "provided by", "provenance"], comp_rows, "Components")
    dists = env.get("distributions") or []
    if dists:
        out += "<p>Plugin distributions: " + ", ".join(f"<code>{_e(d)}</code>" for d in dists) + "</p>"
    return out


def render_report_html(run_dir: str | Path) -> str:
    """The HTML page of the run folder ``run_dir`` (reads its files; writes nothing)."""
    run_dir = Path(run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    env_file = run_dir / "environment.json"
    env = json.loads(env_file.read_text(encoding="utf-8")) if env_file.is_file() else {}
    recipe_file = run_dir / "recipe.resolved.yaml"
    recipe_text = recipe_file.read_text(encoding="utf-8") if recipe_file.is_file() else "(missing)"
    name = metrics.get("name") or run_dir.name
    sections: list[tuple[str, str, str]] = []
    if metrics.get("edits"):
        sections.append(("edits", "Example edits", _edits_section(run_dir, metrics)))
    sections.append(("metrics", "Metrics", _metrics_section(run_dir, metrics)))
    sections.append(("fit", "Fit diagnostics", _fit_section(metrics)))
    if metrics.get("notes"):
        sections.append(("notes", "Notes", "<ul>" + "".join(f"<li>{_e(n)}</li>" for n in metrics["notes"])
                         + "</ul>"))
    sections.append(("timings", "Stage timings", _timings_section(metrics)))
    sections.append(("recipe", "Resolved recipe", f'<pre tabindex="0" aria-label="recipe.resolved.yaml">'
                                                   f"<code>{_e(recipe_text)}</code></pre>"))
    sections.append(("environment", "Environment", _environment_section(env)))
    nav = "".join(f'<li><a href="#{key}">{_e(title)}</a></li>' for key, title, _ in sections)
    body = "\n".join(f'<section id="{key}" aria-labelledby="{key}-h"><h2 id="{key}-h">{_e(title)}</h2>\n'
                     f"{content}</section>" for key, title, content in sections)
    summary = (f"{run_dir.name}: sgfkit {env.get('sgfkit', '?')}, torch {env.get('torch', '?')}, "
               f"device {env.get('device', '?')}")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            # no network: nothing may load from elsewhere, not even by accident
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
            "style-src 'unsafe-inline'\">"
            f"<title>sgfkit run: {_e(name)}</title><style>{_CSS}</style></head><body>"
            '<a class="skip" href="#main">Skip to the report</a>'
            f'<header><h1>sgfkit run: {_e(name)}</h1><p class="muted">{_e(summary)}</p></header>'
            f'<nav aria-label="Sections"><ul>{nav}</ul></nav>'
            f'<main id="main" tabindex="-1">{body}</main></body></html>\n')


def write_report_html(run_dir: str | Path) -> Path:
    """(Re)write ``run_dir/report.html`` from the run folder's files; returns its path."""
    run_dir = Path(run_dir)
    return write_text_atomic(run_dir / "report.html", render_report_html(run_dir))
