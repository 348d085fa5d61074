"""What a run report says, separate from how it is drawn: report.md (and report.html) read this model.

:func:`build_report_model` turns a run's recipe data, environment.json and metrics.json content into a
:class:`ReportModel`: a short summary (what ran, headline numbers, warnings, pictures), the metric
tables with a legend for every column and status word, and the flat list of every metric value (which
belongs at the end of a report). Pure data, no torch.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

#: what each per-sample edit status means (sgfkit.components.EDIT_STATUSES)
STATUS_LEGEND = {
    "converged": "the measured condition came within the manipulator's tolerance of the target",
    "rolled-back": "the error stopped improving (it stalled or rose) before reaching the tolerance, so the "
                   "edit stopped and returned to its best point, which was closer to the target than the source",
    "max_steps": "the step budget ran out before the tolerance was reached (the edit returns to its best point)",
    "diverging": "the error rose above the source's own, so the edit stopped and returned to its best point "
                 "(often the source itself)",
    "non-finite": "the generator or encoder produced NaN/inf; the last finite point is kept",
    "done": "a fixed-length edit (no stopping rule) took all its steps",
}


@dataclass
class ReportTable:
    """One markdown table written by a metric, with what its columns mean."""

    file: str
    title: str
    markdown: str
    legend: dict[str, str] = field(default_factory=dict)


@dataclass
class ReportModel:
    """Everything a run report shows, in reading order.

    Attributes:
        title: run name. what_ran: one-line facts (components, samples, seed, device, threads).
        headline: rows {metric, key, value} (every value named ``overall``; floats).
        warnings: stored fit warnings ``label: message`` (the same on cached reruns), then notes.
        pictures: image files in the run folder, edits grid first.
        edits: rows {method, label, statuses: {status: count}, layers: w+ indices or None}; status_legend: the
            words used in them.
        tables: metric tables with legends. flat_values: (dotted key, value) for every scalar metric value.
        videos: rows {file, shows} for the ``edits.video`` files (``shows``: which edit, or the source loop).
    """

    title: str
    what_ran: list[str]
    headline: list[dict[str, Any]]
    warnings: list[str]
    pictures: list[str]
    edits: list[dict[str, Any]]
    status_legend: dict[str, str]
    tables: list[ReportTable]
    flat_values: list[tuple[str, Any]]
    videos: list[dict[str, str]] = field(default_factory=list)


def flatten(prefix: str, value: Any, out: list[tuple[str, Any]]) -> None:
    """Nested dicts -> (dotted key, leaf) pairs, appended to ``out``."""
    if isinstance(value, dict):
        for key, sub in value.items():
            flatten(f"{prefix}.{key}" if prefix else str(key), sub, out)
    else:
        out.append((prefix, value))


def fit_warnings(fit_reports: dict[str, Any]) -> list[str]:
    """Each fit's stored warnings as ``label: message``."""
    return [f"{label}: {w}" for label, report in fit_reports.items()
            for w in (report.get("warnings", []) if isinstance(report, dict) else [])]


def _what_ran(data: dict[str, Any], env: dict[str, Any], metrics: dict[str, Any]) -> list[str]:
    def kind(section: Any) -> str:
        return section["type"] if isinstance(section, dict) else "-"

    hits = metrics.get("cache_hits", {})
    methods = [f"{m.get('label') or m['type']} ({m['type']}"
               + (", fit from cache)" if hits.get(f"fit:{m.get('label') or m['type']}") else ")")
               for m in data.get("manipulators", [])]
    threads = env.get("threads", {})
    facts = [f"generator {kind(data.get('generator'))}, encoder {kind(data.get('encoder'))}"
             + (f", evaluator {kind(data['evaluator'])}" if data.get("evaluator") else ""),
             "manipulators: " + (", ".join(methods) if methods else "none")]
    dataset = data.get("dataset") or {}
    facts.append(f"{dataset.get('samples', '?')} samples, seed {data.get('seed')}, device {env.get('device')}"
                 + (f", threads {threads['threads']} ({threads.get('source')})" if threads else ""))
    return facts


def _headline(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for label, values in metrics.get("metrics", {}).items():
        flat: list[tuple[str, Any]] = []
        flatten("", values, flat)
        for key, value in flat:
            if "overall" in key.split(".") and isinstance(value, float) and not key.endswith("samples"):
                rows.append({"metric": label, "key": key, "value": value})
    return rows


def _edit_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for e in metrics.get("edits", []):
        counts: dict[str, int] = {}
        for s in e["status"]:
            counts[s] = counts.get(s, 0) + 1
        rows.append({"method": e["method"], "label": e["label"], "statuses": counts, "layers": e.get("layers")})
    return rows


def layers_text(layers: list[int] | None) -> str:
    """w+ layer indices as runs ("0-3, 7-9"); "all" for None."""
    if layers is None:
        return "all"
    runs: list[list[int]] = []
    for i in sorted(layers):
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def video_rows(metrics: dict[str, Any]) -> list[dict[str, str]]:
    """What each video file shows: ``video_<NN>_...`` is edit record NN, ``video_sources`` the source loop."""
    edits = metrics.get("edits", [])
    rows = []
    for file in metrics.get("files", {}).get("videos", []):
        match = re.match(r"video_(\d+)_", file)
        if match and int(match.group(1)) < len(edits):
            edit = edits[int(match.group(1))]
            shows = f"{edit['method']} -> {edit['label']}: every source along its edit path"
        else:
            shows = "a loop through the edit sources"
        rows.append({"file": file, "shows": shows})
    return rows


def build_report_model(data: dict[str, Any], env: dict[str, Any], metrics: dict[str, Any],
                       tables: dict[str, str]) -> ReportModel:
    """The report of one run from its resolved recipe ``data``, environment.json and metrics.json content.

    ``tables`` maps table files (``<metric>_<table>.md``) to their markdown.
    """
    legends = metrics.get("files", {}).get("legends", {})  # declared by each metric (MetricResult.legends)
    report_tables = []
    for file, markdown in tables.items():
        stem = file.removesuffix(".md")
        legend = legends.get(file, {})
        report_tables.append(ReportTable(file, stem, markdown, dict(legend)))
    edits = _edit_rows(metrics)
    used = {s for row in edits for s in row["statuses"]}
    flat: list[tuple[str, Any]] = []
    for label, values in metrics.get("metrics", {}).items():
        flatten(label, values, flat)
    pictures = (["edits.png"] if edits else []) + list(metrics.get("files", {}).get("figures", []))
    return ReportModel(
        title=str(data.get("name")), what_ran=_what_ran(data, env, metrics), headline=_headline(metrics),
        warnings=fit_warnings(metrics.get("fit", {})), pictures=pictures, edits=edits,
        status_legend={s: STATUS_LEGEND.get(s, "(no description)") for s in STATUS_LEGEND if s in used}
        | {s: "(no description)" for s in sorted(used - set(STATUS_LEGEND))},
        tables=report_tables, flat_values=[(k, v) for k, v in flat if not isinstance(v, list)],
        videos=video_rows(metrics))
