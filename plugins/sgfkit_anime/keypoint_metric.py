"""``keypoint-moves`` metric: score keypoint / attribute edits against the evaluator's truth.

For each example edit (an :class:`EditOutcome`), with the evaluator's declared keypoint columns
``<point>_x/_y`` (pixels) and its other columns (attributes):

- ``move_error_px``: mean over samples and moved points of |actual move - requested move| (px);
- ``moved_px``: mean length of the actual moves of the targeted points (px);
- ``success``: share of samples whose every moved point landed within ``tolerance_px`` of its
  target and every attribute target within ``delta``;
- ``hold_change``: mean |after - before| of held attributes (e.g. hair colour; lower is better), and
  ``hold_changes`` the same per held attribute;
- ``other_points_px``: mean move of points the target did not name (side effects on geometry);
- ``other_attributes_changed``: mean number of untargeted attributes that changed by > ``delta``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from sgfkit.components import EditEvaluation, EditOutcome, Metric, MetricResult
from sgfkit.errors import ComponentError
from sgfkit_anime.declarations import KeypointMovesMetricDeclaration


def _points(edit: EditOutcome) -> list[str]:
    """The evaluator's landmarks by point name: the columns it declares (``keypoint_columns()``, carried
    as ``edit.keypoints``), named ``<point>_x`` / ``<point>_y``."""
    return [edit.names[x].removesuffix("_x") for x, _ in edit.keypoints]


class KeypointMovesMetric(KeypointMovesMetricDeclaration, Metric):
    """How well edits moved the requested keypoints, kept held attributes and spared the rest."""

    def score(self, edit: EditOutcome) -> dict[str, Any]:
        names = list(edit.names)
        col = {n: i for i, n in enumerate(names)}
        points = _points(edit)
        attributes = [n for n in names if not any(n in (f"{p}_x", f"{p}_y") for p in points)]
        before, after = np.asarray(edit.before, np.float64), np.asarray(edit.after, np.float64)
        n = before.shape[0]
        target = dict(edit.target)
        moves: dict[str, np.ndarray] = {}
        for point, delta in dict(target.get("move", {})).items():
            if point not in points:
                raise ComponentError(f"keypoint-moves: the evaluator has no point {point!r}; its points: "
                                     f"{', '.join(points)}")
            moves[point] = np.asarray(delta, np.float64)
        for point in points:  # absolute positions {point: [x, y]} become per-sample moves
            if point in target and isinstance(target[point], (list, tuple)):
                xy = [col[f"{point}_x"], col[f"{point}_y"]]
                moves[point] = np.asarray(target[point], np.float64)[None] - before[:, xy]
        attr_targets = {k: float(v) for k, v in target.items()
                        if k in attributes and not isinstance(v, (list, tuple, dict))}
        holds = [h for h in ([target["hold"]] if isinstance(target.get("hold"), str) else target.get("hold", []))
                 if h in attributes]
        ok = np.ones(n, dtype=bool)
        move_err, moved = [], []
        for point, want in moves.items():
            xy = [col[f"{point}_x"], col[f"{point}_y"]]
            actual = after[:, xy] - before[:, xy]
            err = np.linalg.norm(actual - want, axis=1)
            move_err.append(err)
            moved.append(np.linalg.norm(actual, axis=1))
            ok &= err <= self.params["tolerance_px"]
        for name, value in attr_targets.items():
            ok &= np.abs(after[:, col[name]] - value) <= self.params["delta"]
        named = set(moves)
        others = [p for p in points if p not in named]
        other_px = [np.linalg.norm(after[:, [col[f"{p}_x"], col[f"{p}_y"]]] - before[:, [col[f"{p}_x"], col[f"{p}_y"]]],
                                   axis=1) for p in others]
        untargeted = [a for a in attributes if a not in attr_targets and a not in holds]
        changed = (np.abs(after[:, [col[a] for a in untargeted]] - before[:, [col[a] for a in untargeted]])
                   > self.params["delta"]).sum(axis=1) if untargeted else np.zeros(n)
        result: dict[str, Any] = {
            "samples": int(n),
            "success": float(ok.mean()) if n else 0.0,
            "move_error_px": float(np.mean(move_err)) if move_err else None,
            "moved_px": float(np.mean(moved)) if moved else None,
            "other_points_px": float(np.mean(other_px)) if other_px else None,
            "other_attributes_changed": float(np.mean(changed)),
        }
        if holds:
            change = np.abs(after[:, [col[h] for h in holds]] - before[:, [col[h] for h in holds]])
            result["hold_change"] = float(np.mean(change))
            result["hold_changes"] = {h: float(v) for h, v in zip(holds, change.mean(axis=0))}
        for name, value in attr_targets.items():
            result[f"{name}_after"] = float(after[:, col[name]].mean())
        return result

    def compute(self, evaluations: list[EditEvaluation], edits: list[EditOutcome]) -> MetricResult:
        if not edits:
            return MetricResult({})
        values: dict[str, Any] = {}
        rows = []
        for edit in edits:
            scores = self.score(edit)
            values.setdefault(edit.method, {})[edit.label] = scores
            rows.append((edit.method, edit.label, scores))
        values["settings"] = {"tolerance_px": self.params["tolerance_px"], "delta": self.params["delta"]}

        def fmt(v: Any, digits: int = 2) -> str:
            return "-" if v is None else f"{v:.{digits}f}"

        lines = ["| method | edit | success | move error (px) | moved (px) | other points (px) | "
                 "hold change | other attrs changed |", "|---|---|---|---|---|---|---|---|"]
        for method, label, s in rows:
            lines.append(f"| {method} | {label} | {s['success']:.0%} | {fmt(s['move_error_px'])} | "
                         f"{fmt(s['moved_px'])} | {fmt(s['other_points_px'])} | {fmt(s.get('hold_change'), 3)} | "
                         f"{s['other_attributes_changed']:.2f} |")
        return MetricResult(values, {"keypoint_moves": "\n".join(lines)}, legends={"keypoint_moves": {
            "success": "share of edits whose target points ended within the tolerance of the asked move",
            "move error (px)": "mean distance between the asked and the reached positions of the moved points",
            "moved (px)": "mean distance the target points moved",
            "other points (px)": "mean distance the points the edit did not name moved (lower is better)",
            "hold change": "mean change of the attributes the recipe asked to hold",
            "other attrs changed": "mean number of other attributes that changed by more than delta"}})
