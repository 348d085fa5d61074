"""MDC / MDS arithmetic of the SGF paper (section 4.4.1), in pure numpy.

A *manipulation disentanglement curve* (MDC) is a list of (accuracy, disentanglement) points,
one per strength setting of a method, in increasing strength order. The *manipulation
disentanglement score* (MDS) is the area under it, starting from the anchor (0, 1).

Conventions (recorded with every result by the ``mds`` metric):
- a sample's target attribute *succeeds* when it moved by more than ``delta`` in the intended
  direction (samples that already had the attribute are edited the other way);
- its disentanglement is ``1 - (number of other attributes that moved by more than delta) / (K - 1)``;
- accuracy is clamped to its running maximum before integrating (this reproduces the paper's
  Table 1 values from its Table 3 rows: 0.919 for SGF gender, 0.808 for InterFaceGAN gender).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

ANCHOR = (0.0, 1.0)


def _as_points(points: Sequence[Sequence[float]]) -> np.ndarray:
    arr = np.asarray(points, dtype=np.float64).reshape(-1, 2) if len(points) else np.zeros((0, 2))
    if not np.isfinite(arr).all():
        raise ValueError("MDC points must be finite (accuracy, disentanglement) pairs")
    return arr


def mds(points: Sequence[Sequence[float]]) -> float:
    """Area under an MDC.

    Args:
        points: (accuracy, disentanglement) pairs in strength order (weakest first), each in [0, 1].
            The anchor (0, 1) is prepended here; do not include it.

    Returns:
        The trapezoid area with accuracy replaced by its running maximum (a backward step in
        accuracy adds nothing), in [0, 1].
    """
    arr = np.vstack([np.asarray(ANCHOR)[None], _as_points(points)])
    acc = np.maximum.accumulate(arr[:, 0])
    dis = arr[:, 1]
    return float(np.sum(np.diff(acc) * (dis[1:] + dis[:-1]) / 2.0))


def accumulated_mds(points: Sequence[Sequence[float]]) -> list[float]:
    """MDS of each prefix of the curve (the paper's Table 3 "accumulated" column)."""
    return [mds(points[: i + 1]) for i in range(len(points))]


def harmonic_mean(accuracy: float, disentanglement: float) -> float:
    """2 a d / (a + d); 0 when both are 0."""
    total = accuracy + disentanglement
    return 0.0 if total <= 0 else float(2.0 * accuracy * disentanglement / total)


def best_operating_point(points: Sequence[Sequence[float]]) -> dict[str, Any]:
    """The point with the highest harmonic mean of accuracy and disentanglement.

    Returns ``{"index", "accuracy", "disentanglement", "harmonic"}``; ``index`` is the position
    in ``points`` (the first one wins ties), or -1 for an empty curve.
    """
    arr = _as_points(points)
    if len(arr) == 0:
        return {"index": -1, "accuracy": 0.0, "disentanglement": 1.0, "harmonic": 0.0}
    scores = [harmonic_mean(a, d) for a, d in arr]
    i = int(np.argmax(scores))
    return {"index": i, "accuracy": float(arr[i, 0]), "disentanglement": float(arr[i, 1]),
            "harmonic": float(scores[i])}


def mdc_points(before: np.ndarray, after: np.ndarray, target_index: int, direction: np.ndarray,
               delta: float) -> list[tuple[float, float]]:
    """Accuracy and disentanglement at each strength.

    Args:
        before: [N, K] attribute scores before the edit.
        after: [S, N, K] scores after the edit at each of S strengths (weakest first),
            or [N, K] for a single strength.
        target_index: column of the targeted attribute.
        direction: [N] +1 (the attribute should rise) or -1 (it should fall).
        delta: change threshold in score units ("the attribute changed").

    Returns:
        S pairs (accuracy, disentanglement), each in [0, 1].
    """
    before = np.asarray(before, dtype=np.float64)
    after = np.asarray(after, dtype=np.float64)
    if after.ndim == 2:
        after = after[None]
    if before.ndim != 2 or after.shape[1:] != before.shape:
        raise ValueError(f"before must be [N, K] and after [S, N, K]; got {before.shape} and {after.shape}")
    n, k = before.shape
    if not 0 <= target_index < k:
        raise ValueError(f"target_index {target_index} is outside the {k} scored attributes")
    direction = np.sign(np.asarray(direction, dtype=np.float64)).reshape(n)
    moved = after - before[None]                                   # [S, N, K]
    success = direction[None] * moved[:, :, target_index] > delta  # [S, N]
    changed = np.abs(moved) > delta
    others = np.delete(changed, target_index, axis=2).sum(axis=2)  # [S, N]
    dis = 1.0 - others / max(k - 1, 1)
    return [(float(success[s].mean()), float(dis[s].mean())) for s in range(after.shape[0])]
