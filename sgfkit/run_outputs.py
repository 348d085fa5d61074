"""Write a run folder: resolved recipe, environment, metrics, grids, latents, report.

Files: recipe.resolved.yaml, environment.json, metrics.json, edits.png, ``<metric>_<figure>.png``,
``<metric>_<table>.md``, latents.npz, report.md, report.html. Every write is atomic.
"""
from __future__ import annotations

import platform
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from sgfkit.outputs import (create_run_dir, figure_png, render_grid, write_bytes_atomic, write_json_atomic,
                            write_npz_atomic, write_text_atomic)


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


def write_run_outputs(parent: Path, recipe: Any, comps: Any, device: str, records: list[Any],
                      results: dict[str, Any], fit_reports: dict[str, Any], hits: dict[str, bool],
                      notes: list[str], timer: Any) -> tuple[Path, dict[str, Any]]:
    """Create the run folder and write every output; returns (run folder, metrics.json content)."""
    start = time.perf_counter()
    run_dir = create_run_dir(parent, recipe.name)
    try:
        return _write_into(run_dir, recipe, comps, device, records, results, fit_reports, hits, notes, timer, start)
    except BaseException:  # Ctrl-C or a failure: no half-written run folder is left behind
        import shutil

        shutil.rmtree(run_dir, ignore_errors=True)
        raise


def _write_into(run_dir: Path, recipe: Any, comps: Any, device: str, records: list[Any], results: dict[str, Any],
                fit_reports: dict[str, Any], hits: dict[str, bool], notes: list[str], timer: Any,
                start: float) -> tuple[Path, dict[str, Any]]:
    write_text_atomic(run_dir / "recipe.resolved.yaml", recipe.to_yaml())
    env = environment(comps, device)
    write_json_atomic(run_dir / "environment.json", env)
    files: dict[str, list[str]] = {"figures": [], "tables": []}
    if records:
        write_bytes_atomic(run_dir / "edits.png", render_grid([r.block for r in records if r.block is not None]))
        write_npz_atomic(run_dir / "latents.npz", _latent_arrays(records))
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
    timer.timings["outputs"] = round(time.perf_counter() - start, 4)
    edits_summary = [{"method": r.outcome.method, "label": r.outcome.label, "target": r.outcome.target,
                      "status": r.outcome.status, "steps": r.outcome.steps.tolist()} for r in records]
    metrics = {"name": recipe.name, "metrics": {label: r.values for label, r in results.items()},
               "fit": fit_reports, "timings_s": dict(timer.timings), "cache_hits": hits, "notes": notes,
               "edits": edits_summary, "files": files}
    write_json_atomic(run_dir / "metrics.json", metrics)
    write_text_atomic(run_dir / "report.md", render_report(recipe, env, metrics, tables, bool(records)))
    from sgfkit.report_html import write_report_html

    write_report_html(run_dir)  # reads the files just written
    return run_dir, metrics


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _flatten(prefix: str, value: Any, out: list[tuple[str, Any]]) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), sub, out)
    else:
        out.append((prefix, value))


def render_report(recipe: Any, env: dict[str, Any], metrics: dict[str, Any], tables: dict[str, str],
                  has_edits: bool) -> str:
    """A markdown page that shows the run: edits grid, metrics, tables, figures, fits, timings."""
    lines = [f"# sgfkit run: {recipe.name}", "",
             f"sgfkit {env['sgfkit']}, torch {env['torch']}, device {env['device']}, seed {recipe.data['seed']}.",
             "Files: `recipe.resolved.yaml`, `environment.json`, `metrics.json`"
             + (", `edits.png`, `latents.npz`" if has_edits else "") + ".", ""]
    fit_warnings = [f"{label}: {w}" for label, report in metrics["fit"].items()
                    for w in (report.get("warnings", []) if isinstance(report, dict) else [])]
    if fit_warnings:  # stored with each fit, so a cached rerun shows them too
        lines += ["## Warnings", ""] + [f"- {w}" for w in fit_warnings] + [""]
    if has_edits:
        lines += ["## Example edits", "", "![edits](edits.png)", ""]
    if metrics["metrics"]:
        flat: list[tuple[str, Any]] = []
        for label, values in metrics["metrics"].items():
            _flatten(label, values, flat)
        flat = [(key, v) for key, v in flat if not isinstance(v, list)]
        lines += ["## Metrics", "", "| metric | value |", "|---|---|"]
        lines += [f"| {key} | {_fmt(v)} |" for key, v in flat[:MAX_REPORT_VALUES]]
        if len(flat) > MAX_REPORT_VALUES:
            lines.append(f"| ... | {len(flat) - MAX_REPORT_VALUES} more values in `metrics.json` |")
        lines.append("")
    for file, table in tables.items():
        lines += [f"### {file[:-3]}", "", table.rstrip(), ""]
    for file in metrics["files"]["figures"]:
        lines += [f"### {file[:-4]}", "", f"![{file}]({file})", ""]
    if metrics["fit"]:
        lines += ["## Fitting", ""]
        for label, report in metrics["fit"].items():
            cached = " (from cache)" if metrics["cache_hits"].get(f"fit:{label}") else ""
            flat = []
            _flatten("", report, flat)
            summary = ", ".join(f"{k} {_fmt(v)}" for k, v in flat[:12] if not isinstance(v, list))
            lines.append(f"- **{label}**{cached}: {summary}")
        lines.append("")
    if metrics["notes"]:
        lines += ["## Notes", ""] + [f"- {note}" for note in metrics["notes"]] + [""]
    lines += ["## Stage timings", "", "| stage | seconds |", "|---|---|"]
    lines += [f"| {stage} | {seconds:.3f} |" for stage, seconds in metrics["timings_s"].items()]
    lines += ["", "## Environment", "", f"python {env['python']} on {env['platform']}", ""]
    lines += [f"- {d}" for d in env["distributions"]]
    return "\n".join(lines) + "\n"
