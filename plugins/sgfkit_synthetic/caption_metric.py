"""caption-success: did caption edits reach what the caption names, and what else changed?

For each example edit whose target is ``{"caption": text}`` and whose evaluator produced discrete
facts (``synth-flowers-truth``): an edit *succeeds* on a sample when every fact the caption names
(:func:`captions.parse_caption`) holds in ``facts_after`` (:func:`captions.fact_holds`: a colour
list such as "red and purple" holds only for a visible mix of those colours); *side effects* count
the facts the caption does not name that differ between ``facts_before`` and ``facts_after``.
Compositions are also scored fact by fact (``per_fact``: the share of samples where each named
fact holds), so "large and red" shows which half failed.

A failure has two causes that call for different fixes, so they are counted apart from the per-sample
status: ``reader_wrong`` is the share of edits that stopped as converged (the condition encoder read the
target, within the manipulator's tolerance) while the truth says a named fact does not hold: the reader's
error, which no better path fixes; the remaining failures never reached the target by the reader either.
"""
from __future__ import annotations

from typing import Any

from sgfkit.components import EditEvaluation, EditOutcome, Metric, MetricResult

from sgfkit_synthetic.captions import FACT_KEYS, fact_holds, parse_caption
from sgfkit_synthetic.declarations import CaptionSuccessDeclaration


#: the per-sample status of an edit whose encoder reading reached the target (one of sgfkit.components.EDIT_STATUSES)
CONVERGED = "converged"


def score_caption_edit(caption: str, facts_before: list[dict[str, Any]],
                       facts_after: list[dict[str, Any]], status: list[str] | None = None) -> dict[str, float]:
    """Success rate, mean matched share, per-fact success and mean number of unnamed facts changed
    (``other_changed``; ``changed_per_fact``: the share of samples where each unnamed fact changed).
    With the per-sample ``status``: ``reader_wrong``, the share of samples that stopped as converged and
    still fail (see the module docstring); None without statuses."""
    parsed = parse_caption(caption)
    n = len(facts_after)
    success = matched_share = 0.0
    reader_wrong = 0
    held = {key: 0 for key in parsed}
    drift = {key: 0 for key in FACT_KEYS if key not in parsed}
    for row, (before, after) in enumerate(zip(facts_before, facts_after)):
        ok = {key: fact_holds(after, key, value) for key, value in parsed.items()}
        for key, value in ok.items():
            held[key] += value
        met = bool(ok) and all(ok.values())
        success += float(met)
        reader_wrong += int(not met and status is not None and status[row] == CONVERGED)
        matched_share += sum(ok.values()) / len(ok) if ok else 0.0
        for key in drift:
            drift[key] += before.get(key) != after.get(key)
    return {"success": success / n if n else float("nan"),
            "matched_share": matched_share / n if n else float("nan"),
            "other_changed": sum(drift.values()) / n if n else float("nan"),
            "per_fact": {key: held[key] / n if n else float("nan") for key in sorted(held)},
            "changed_per_fact": {key: drift[key] / n if n else float("nan") for key in drift},
            "reader_wrong": reader_wrong / n if n and status is not None else None,
            "samples": n, "named": sorted(parsed)}


def _per_fact_cell(score: dict[str, Any]) -> str:
    """"petal_color 1.00, petal_size 0.25" (the named facts, each with its success share)."""
    return ", ".join(f"{key} {rate:.2f}" for key, rate in score["per_fact"].items())


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


#: what the columns of the caption_success table mean (shown under it in the run's report)
LEGEND: dict[str, str] = {
    "success": "share of edits after which every fact the target names holds (a colour list only as a visible mix)",
    "per fact": "share of edits after which each named fact holds, fact by fact",
    "matched share": "share of the target's facts that hold after the edit",
    "other facts changed": "mean number of facts the target does not name that changed (lower is better)",
    "reader wrong": "share of edits that stopped as converged (the encoder read the target) while a named fact does "
                    "not hold: the reader's error, not the path's (- : the method reports no convergence)",
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
            # "done" (linear methods, SGF's fast mode): no reading decided where the edit ended
            status = list(e.status) if len(e.status) == len(e.facts_after) and set(e.status) != {"done"} else None
            score = score_caption_edit(str(caption), e.facts_before, e.facts_after, status)
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
            known = [s for s in scores if s["reader_wrong"] is not None]
            values["overall"][method]["reader_wrong"] = (
                sum(s["reader_wrong"] * s["samples"] for s in known) / sum(s["samples"] for s in known)
                if len(known) == len(scores) and total else None)
        lines = ["| method | target | success | per fact | matched share | other facts changed | reader wrong | N |",
                 "|---|---|---|---|---|---|---|---|"]
        for method, label, s in rows:
            lines.append(f"| {method} | {label} | {s['success']:.3f} | {_per_fact_cell(s)} | "
                         f"{s['matched_share']:.3f} | {s['other_changed']:.2f} | {_share(s['reader_wrong'])} | "
                         f"{s['samples']} |")
        for method, o in values["overall"].items():
            lines.append(f"| {method} | **all** | {o['success']:.3f} | | {o['matched_share']:.3f} | "
                         f"{o['other_changed']:.2f} | {_share(o['reader_wrong'])} | {o['samples']} |")
        return MetricResult(values, tables={"caption_success": "\n".join(lines)}, legends={"caption_success": LEGEND})
