"""The ``mds`` metric: MDC curves, MDS per method and attribute, best operating points, MDC plot.

Consumes the pipeline's :class:`EditEvaluation` sweeps (the example ``edits`` are ignored).
The arithmetic is :mod:`sgfkit.mdc`; ``delta``, N and each method's strength grid are
recorded under ``settings`` in the values.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from sgfkit.components import EditEvaluation, EditOutcome, Metric, MetricResult
from sgfkit.errors import ComponentError
from sgfkit.mdc import ANCHOR, best_operating_point, mdc_points, mds
from sgfkit_metrics.declarations import MDSMetricDeclaration


class MDSMetric(MDSMetricDeclaration, Metric):
    """Manipulation disentanglement score (SGF paper, section 4.4.1)."""

    def _columns(self, ev: EditEvaluation) -> list[int]:
        """Evaluator columns scored for ``ev`` (the target always included, first-come order kept)."""
        if self.params["scored"] is not None:
            keep = set(self.params["scored"]) | {ev.attribute}
            missing = keep - set(ev.names)
            if missing:
                raise ComponentError(f"mds: scored attributes {sorted(missing)} are not evaluator columns; "
                                     f"choose from {', '.join(ev.names)}")
            return [i for i, n in enumerate(ev.names) if n in keep]
        if self.params["exclude_keypoints"]:
            positions = {i for pair in ev.keypoints for i in pair}
            return [i for i in range(len(ev.names)) if i == ev.attribute_index or i not in positions]
        return list(range(len(ev.names)))

    def compute(self, evaluations: list[EditEvaluation], edits: list[EditOutcome]) -> MetricResult:
        if not evaluations:
            return MetricResult({})
        delta = self.params["delta"]
        methods: dict[str, dict[str, Any]] = {}
        attributes: list[str] = []
        scored = 0
        for ev in evaluations:
            cols = self._columns(ev)
            scored = len(cols)
            points = mdc_points(ev.before[:, cols], ev.after[:, :, cols], cols.index(ev.attribute_index),
                                ev.direction, delta)
            methods.setdefault(ev.method, {})[ev.attribute] = {
                "mds": mds(points), "best": {**best_operating_point(points)},
                "points": [[a, d] for a, d in points], "strengths": list(ev.strengths)}
            best = methods[ev.method][ev.attribute]["best"]
            best["strength"] = ev.strengths[best["index"]] if best["index"] >= 0 else None
            if ev.attribute not in attributes:
                attributes.append(ev.attribute)
        values: dict[str, Any] = {}
        for method, per_attr in methods.items():
            values[method] = {**per_attr, "overall": float(np.mean([v["mds"] for v in per_attr.values()]))}
        values["settings"] = {
            "delta": delta, "samples": int(evaluations[0].before.shape[0]),
            "scored_attributes": scored,
            "strengths": {m: {a: v["strengths"] for a, v in per.items()} for m, per in methods.items()}}
        tables = {"mds": mds_table(values, attributes), "best": best_table(values, attributes)}
        figures = {"mdc": mdc_figure(values, attributes)} if self.params["plot"] else {}
        return MetricResult(values, tables, figures, legends=LEGENDS)


#: what the columns of the two tables mean (shown under them in the run's report)
LEGENDS: dict[str, dict[str, str]] = {
    "mds": {
        "method": "the manipulator's label in the recipe",
        "attribute columns": "MDS per attribute: area under the manipulation-disentanglement curve, 0..1, "
                             "higher is better; bold marks the best method when there are several",
        "overall": "mean MDS over the attributes",
    },
    "best": {
        "method": "the manipulator's label in the recipe",
        "cells": "the best operating point per attribute (highest harmonic mean of the two): "
                 "accuracy / disentanglement @ edit strength; accuracy: share of edits that reached the target "
                 "attribute, disentanglement: share of the other attributes left unchanged, both 0..1",
    },
}


def _methods(values: dict[str, Any]) -> list[str]:
    return [m for m in values if m != "settings"]


def mds_table(values: dict[str, Any], attributes: list[str]) -> str:
    """Markdown: one row per method, one column per attribute, then the overall mean (best in bold)."""
    methods = _methods(values)
    cols = attributes + ["overall"]

    def cell(m: str, col: str) -> float | None:
        entry = values[m].get(col)
        return entry if isinstance(entry, float) else (entry or {}).get("mds")

    present = {c: [cell(m, c) for m in methods if cell(m, c) is not None] for c in cols}
    best = {c: max(vals) if len(vals) > 1 else None for c, vals in present.items()}   # bold only a real win
    lines = ["| method | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for m in methods:
        row = []
        for c in cols:
            v = cell(m, c)
            text = "–" if v is None else f"{v:.3f}"
            row.append(f"**{text}**" if v is not None and v == best[c] else text)
        lines.append(f"| {m} | " + " | ".join(row) + " |")
    s = values["settings"]
    lines.append("")
    lines.append(f"MDS (area under the MDC, accuracy clamped to its running maximum); delta = {s['delta']}, "
                 f"N = {s['samples']} per attribute, K = {s['scored_attributes']} scored attributes.")
    return "\n".join(lines) + "\n"


def best_table(values: dict[str, Any], attributes: list[str]) -> str:
    """Markdown: best operating point (harmonic mean) per method and attribute: acc / dis @ strength."""
    lines = ["| method | " + " | ".join(attributes) + " |", "|---|" + "---|" * len(attributes)]
    for m in _methods(values):
        row = []
        for a in attributes:
            b = values[m].get(a, {}).get("best")
            row.append("–" if not b else f"{b['accuracy']:.2f} / {b['disentanglement']:.2f} @ {b['strength']:g}")
        lines.append(f"| {m} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def mdc_figure(values: dict[str, Any], attributes: list[str]) -> Any:
    """One panel per attribute, one curve per method from the anchor (0, 1); best points circled."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    n = len(attributes)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n, 3.4), squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, attr in zip(axes[0], attributes):
        for k, m in enumerate(_methods(values)):
            entry = values[m].get(attr)
            if not entry:
                continue
            pts = np.array([ANCHOR] + [tuple(p) for p in entry["points"]])
            color = colors[k % len(colors)]
            ax.plot(pts[:, 0], pts[:, 1], "-", marker=".", color=color, label=f"{m} ({entry['mds']:.3f})")
            b = entry["best"]
            if b["index"] >= 0:
                ax.plot([b["accuracy"]], [b["disentanglement"]], "o", ms=10, mfc="none", mec=color, mew=2)
        ax.set_title(attr)
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("accuracy")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    axes[0][0].set_ylabel("disentanglement")
    fig.suptitle("Manipulation disentanglement curves (circles: best harmonic mean)", fontsize=10)
    fig.tight_layout()
    return fig
