"""caption-success: did caption edits reach what the caption names, and what else changed?

For each example edit whose target is ``{"caption": text}`` and whose evaluator produced discrete
facts (``synth-flowers-truth``): an edit *succeeds* on a sample when every fact the caption names
(:func:`captions.parse_caption`) holds in ``facts_after`` (:func:`captions.fact_holds`: a colour
list such as "red and purple" holds only for a visible mix of those colours); *side effects* count
the facts the caption does not name that differ between ``facts_before`` and ``facts_after``.
Compositions are also scored fact by fact (``per_fact``: the share of samples where each named
fact holds), so "large and red" shows which half failed.
"""
from __future__ import annotations

from typing import Any

from sgfkit.components import EditEvaluation, EditOutcome, Metric, MetricResult

from sgfkit_synthetic.captions import FACT_KEYS, fact_holds, parse_caption
from sgfkit_synthetic.declarations import CaptionSuccessDeclaration


def score_caption_edit(caption: str, facts_before: list[dict[str, Any]],
                       facts_after: list[dict[str, Any]]) -> dict[str, float]:
    """Success rate, mean matched share, per-fact success and mean number of unnamed facts changed
    (``other_changed``; ``changed_per_fact``: the share of samples where each unnamed fact changed)."""
    parsed = parse_caption(caption)
    n = len(facts_after)
    success = matched_share = 0.0
    held = {key: 0 for key in parsed}
    drift = {key: 0 for key in FACT_KEYS if key not in parsed}
    for before, after in zip(facts_before, facts_after):
        ok = {key: fact_holds(after, key, value) for key, value in parsed.items()}
        for key, value in ok.items():
            held[key] += value
        success += float(bool(ok) and all(ok.values()))
        matched_share += sum(ok.values()) / len(ok) if ok else 0.0
        for key in drift:
            drift[key] += before.get(key) != after.get(key)
    return {"success": success / n if n else float("nan"),
            "matched_share": matched_share / n if n else float("nan"),
            "other_changed": sum(drift.values()) / n if n else float("nan"),
            "per_fact": {key: held[key] / n if n else float("nan") for key in sorted(held)},
            "changed_per_fact": {key: drift[key] / n if n else float("nan") for key in drift},
            "samples": n, "named": sorted(parsed)}


def _per_fact_cell(score: dict[str, Any]) -> str:
    """"petal_color 1.00, petal_size 0.25" (the named facts, each with its success share)."""
    return ", ".join(f"{key} {rate:.2f}" for key, rate in score["per_fact"].items())


#: what the columns of the caption_success table mean (shown under it in the run's report)
LEGEND: dict[str, str] = {
    "success": "share of edits after which every fact the target names holds (a colour list only as a visible mix)",
    "per fact": "share of edits after which each named fact holds, fact by fact",
    "matched share": "share of the target's facts that hold after the edit",
    "other facts changed": "mean number of facts the target does not name that changed (lower is better)",
    "N": "edited samples; the **all** rows pool every target of a method",
}


class CaptionSuccess(CaptionSuccessDeclaration, Metric):
    """Share of caption edits that now match the caption (scored with the truth facts)."""

    def compute(self, evaluations: list[EditEvaluation], edits: list[EditOutcome]) -> MetricResult:
        rows: list[tuple[str, str, dict[str, Any]]] = []
        per_method: dict[str, list[dict[str, Any]]] = {}
        for e in edits:
            caption = (e.target or {}).get("caption")
            if caption is None or e.facts_after is None or e.facts_before is None:
                continue
            score = score_caption_edit(str(caption), e.facts_before, e.facts_after)
            rows.append((e.method, e.label, score))
            per_method.setdefault(e.method, []).append(score)
        if not rows:
            return MetricResult({})
        values: dict[str, Any] = {"per_target": {}, "overall": {}}
        for method, label, score in rows:
            values["per_target"].setdefault(method, {})[label] = score
        for method, scores in per_method.items():
            total = sum(s["samples"] for s in scores)
            values["overall"][method] = {
                key: sum(s[key] * s["samples"] for s in scores) / total if total else float("nan")
                for key in ("success", "matched_share", "other_changed")} | {"samples": total}
        lines = ["| method | target | success | per fact | matched share | other facts changed | N |",
                 "|---|---|---|---|---|---|---|"]
        for method, label, s in rows:
            lines.append(f"| {method} | {label} | {s['success']:.3f} | {_per_fact_cell(s)} | "
                         f"{s['matched_share']:.3f} | {s['other_changed']:.2f} | {s['samples']} |")
        for method, o in values["overall"].items():
            lines.append(f"| {method} | **all** | {o['success']:.3f} | | {o['matched_share']:.3f} | "
                         f"{o['other_changed']:.2f} | {o['samples']} |")
        return MetricResult(values, tables={"caption_success": "\n".join(lines)}, legends={"caption_success": LEGEND})
