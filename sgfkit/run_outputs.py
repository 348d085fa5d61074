"""Write a run folder: resolved recipe, environment, metrics, grids, latents, report.

Files: recipe.resolved.yaml, environment.json, metrics.json, edits.png, ``<metric>_<figure>.png``,
``<metric>_<table>.md``, latents.npz, ``video_*.mp4|gif`` (``edits.video``), report.md, report.html.
Every write is atomic.
"""
from __future__ import annotations

import platform
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sgfkit.outputs import (create_run_dir, figure_png, render_grid, write_bytes_atomic, write_json_atomic,
                            write_npz_atomic, write_text_atomic)
from sgfkit.report_model import flatten, layers_text

if TYPE_CHECKING:
    from sgfkit.stages import RunContext

_flatten = flatten  # report_html imports it under this name


#: metric values listed in report.md (the rest are in metrics.json; metric tables follow anyway)
MAX_REPORT_VALUES = 40


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-") or "x"


def environment(comps: Any, device: str) -> dict[str, Any]:
    """Versions of python, torch, numpy, sgfkit, every plugin distribution; the device and platform."""
    import torch

    from sgfkit import __version__
    from sgfkit.plugins import get_plugin_set
    from sgfkit.registry import get_registry

    plugins = {p.name: {"distribution": p.distribution, "version": p.version, "status": p.status}
               for p in get_plugin_set().plugins}
    dists = sorted({f"{p.distribution}=={p.version}" for p in get_plugin_set().plugins
                    if p.distribution and p.status == "loaded"})
    registry = get_registry()
    components = {}
    for role, comp in [("generator", comps.generator), ("encoder", comps.encoder), ("evaluator", comps.evaluator),
                       *[(f"manipulator:{m.label}", m) for m in comps.manipulators],
                       *[(f"metric:{label}", m) for label, m in comps.metrics]]:
        spec = registry.get(comp.kind, comp.registry_name)
        components[role] = {"type": spec.name, "plugin": spec.plugin, "distribution": spec.distribution,
                            "version": spec.version, "versions": comp.versions()}
    return {"python": platform.python_version(), "platform": platform.platform(), "torch": torch.__version__,
            "numpy": np.__version__, "sgfkit": __version__, "device": device, "threads": _threads(),
            "cuda": torch.version.cuda if torch.cuda.is_available() else None,
            "argv": list(sys.argv), "plugins": plugins, "distributions": dists, "components": components}


def _threads() -> dict[str, Any]:
    """torch's thread count now, with how it was chosen (``--threads``, recipe or the machine default)."""
    import torch

    from sgfkit.threads import last_choice

    return {**(last_choice() or {"source": "torch default", "reason": ""}), "threads": torch.get_num_threads()}


def _latent_arrays(records: list[Any]) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    for i, rec in enumerate(records):
        prefix = f"{i:02d}_{_slug(rec.outcome.method)}_{_slug(rec.outcome.label)}"
        arrays[f"{prefix}_sources"] = rec.sources
        arrays[f"{prefix}_results"] = rec.results
        arrays[f"{prefix}_path"] = rec.path
    return arrays


def write_run_outputs(parent: Path, ctx: RunContext) -> tuple[Path, dict[str, Any]]:
    """Create the run folder under ``parent`` and write every output of a finished run's context;
    returns (run folder, metrics.json content).

    Videos (the recipe's ``edits.video``) are listed in metrics.json and the reports, so they are written
    before those.
    """
    start = time.perf_counter()
    run_dir = create_run_dir(parent, ctx.recipe.name)
    try:
        return _write_into(run_dir, ctx, start)
    except BaseException:  # Ctrl-C or a failure: no half-written run folder is left behind
        import shutil

        shutil.rmtree(run_dir, ignore_errors=True)
        raise


def _write_into(run_dir: Path, ctx: RunContext, start: float) -> tuple[Path, dict[str, Any]]:
    recipe, comps, records, results, timer = ctx.recipe, ctx.comps, ctx.records, ctx.results, ctx.timer
    video = recipe.data["edits"].get("video") if records else None
    write_text_atomic(run_dir / "recipe.resolved.yaml", recipe.to_yaml())
    env = environment(comps, ctx.device)
    write_json_atomic(run_dir / "environment.json", env)
    files: dict[str, Any] = {"figures": [], "tables": [], "legends": {}}
    if records:
        write_bytes_atomic(run_dir / "edits.png", render_grid([r.block for r in records if r.block is not None]))
        write_npz_atomic(run_dir / "latents.npz", _latent_arrays(records))
    if records and video:
        from sgfkit.videos import write_edit_videos

        with timer.stage("videos"):
            files["videos"] = write_edit_videos(run_dir, comps.generator, records, video)
    tables: dict[str, str] = {}
    for label, result in results.items():
        for name, figure in result.figures.items():
            file = f"{_slug(label)}_{_slug(name)}.png"
            write_bytes_atomic(run_dir / file, figure_png(figure))
            files["figures"].append(file)
        for name, table in result.tables.items():
            file = f"{_slug(label)}_{_slug(name)}.md"
            write_text_atomic(run_dir / file, table.rstrip() + "\n")
            files["tables"].append(file)
            tables[file] = table
            if result.legends.get(name):
                files["legends"][file] = dict(result.legends[name])
    timer.timings["outputs"] = round(time.perf_counter() - start - timer.timings.get("videos", 0.0), 4)
    edits_summary = [{"method": r.outcome.method, "label": r.outcome.label, "target": r.outcome.target,
                      "layers": r.outcome.layers, "status": r.outcome.status, "steps": r.outcome.steps.tolist()}
                     for r in records]
    metrics = {"name": recipe.name, "metrics": {label: r.values for label, r in results.items()},
               "fit": ctx.fit_reports, "timings_s": dict(timer.timings), "cache_hits": ctx.hits, "notes": ctx.notes,
               "edits": edits_summary, "files": files}
    if ctx.layer_map is not None:
        metrics["layer_map"] = ctx.layer_map.to_json()
    write_json_atomic(run_dir / "metrics.json", metrics)
    write_text_atomic(run_dir / "report.md", render_report(recipe, env, metrics, tables, bool(records)))
    from sgfkit.report_html import write_report_html

    write_report_html(run_dir)  # reads the files just written
    return run_dir, metrics


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _legend(title: str, legend: dict[str, str]) -> list[str]:
    if not legend:
        return []
    return [f"*{title}:*", ""] + [f"- **{key}**: {text}" for key, text in legend.items()] + [""]


def render_report(recipe: Any, env: dict[str, Any], metrics: dict[str, Any], tables: dict[str, str],
                  has_edits: bool) -> str:
    """A markdown page: a short summary first (what ran, headline numbers, warnings, pictures), then the
    tables with legends, fits, notes and timings; every metric value as a flat list comes last."""
    from sgfkit.report_model import build_report_model

    model = build_report_model(recipe.data, env, metrics, tables)
    lines = [f"# sgfkit run: {model.title}", "", "## Summary", ""]
    lines += [f"- {fact}" for fact in model.what_ran]
    if model.headline:
        lines += ["", "| metric | value | |", "|---|---|---|"]
        lines += [f"| {h['metric']} | {h['key']} | {_fmt(h['value'])} |" for h in model.headline]
        lines += ["", "*value*: every number named `overall` (the mean over attributes or targets); "
                      "the tables below break it down.", ""]
    else:
        lines.append("")
    lines += ["**Warnings:**" if model.warnings else "**Warnings:** none", ""]
    lines += [f"- {w}" for w in model.warnings] + ([""] if model.warnings else [])
    if has_edits:
        lines += ["![edits](edits.png)", ""]
    other_pictures = [p for p in model.pictures if p != "edits.png"]
    if other_pictures:
        lines += ["Figures: " + ", ".join(f"[{p}]({p})" for p in other_pictures), ""]
    if model.videos:
        lines += ["Videos: " + ", ".join(f"[{v['file']}]({v['file']}) ({v['shows']})" for v in model.videos), ""]
    lines += ["Files: `recipe.resolved.yaml`, `environment.json`, `metrics.json`"
              + (", `edits.png`, `latents.npz`" if has_edits else "") + ".", ""]
    if model.edits:
        w_plus = any(e["layers"] is not None for e in model.edits)
        lines += ["## Example edits", "", "| method | edit |" + (" w+ layers |" if w_plus else "")
                  + " samples by status |", "|---|---|" + ("---|" if w_plus else "") + "---|"]
        lines += [f"| {e['method']} | {e['label']} | " + (f"{layers_text(e['layers'])} | " if w_plus else "")
                  + ", ".join(f"{status} {n}" for status, n in e["statuses"].items()) + " |" for e in model.edits]
        lines += [""] + _legend("status", model.status_legend)
    for table in model.tables:
        lines += [f"### {table.title}", "", table.markdown.rstrip(), ""] + _legend("columns", table.legend)
    for file in metrics["files"]["figures"]:
        lines += [f"### {file[:-4]}", "", f"![{file}]({file})", ""]
    if metrics["fit"]:
        lines += ["## Fitting", ""]
        for label, report in metrics["fit"].items():
            cached = " (from cache)" if metrics["cache_hits"].get(f"fit:{label}") else ""
            flat: list[tuple[str, Any]] = []
            flatten("", report, flat)
            summary = ", ".join(f"{k} {_fmt(v)}" for k, v in flat[:12] if not isinstance(v, list))
            lines.append(f"- **{label}**{cached}: {summary}")
        lines.append("")
    if metrics["notes"]:
        lines += ["## Notes", ""] + [f"- {note}" for note in metrics["notes"]] + [""]
    lines += ["## Stage timings", "", "| stage | seconds |", "|---|---|"]
    lines += [f"| {stage} | {seconds:.3f} |" for stage, seconds in metrics["timings_s"].items()]
    if model.flat_values:
        shown = model.flat_values[:MAX_REPORT_VALUES]
        lines += ["", "## All metric values", "", "| metric | value |", "|---|---|"]
        lines += [f"| {key} | {_fmt(v)} |" for key, v in shown]
        if len(model.flat_values) > MAX_REPORT_VALUES:
            lines.append(f"| ... | {len(model.flat_values) - MAX_REPORT_VALUES} more values in `metrics.json` |")
    lines += ["", "## Environment", "", f"python {env['python']} on {env['platform']}", ""]
    lines += [f"- {d}" for d in env["distributions"]]
    return "\n".join(lines) + "\n"
