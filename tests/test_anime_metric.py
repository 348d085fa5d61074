"""keypoint-moves metric: keypoint edits scored against truth landmarks and attributes."""
from __future__ import annotations

import numpy as np
import pytest

from sgfkit.components import EditOutcome
from sgfkit.errors import ComponentError
from sgfkit_anime.keypoint_metric import KeypointMovesMetric

NAMES = ["smile", "hair_hue", "age", "mouth_top_x", "mouth_top_y", "chin_x", "chin_y"]


def outcome(target: dict, after_delta: np.ndarray) -> EditOutcome:
    before = np.array([[0.2, 0.5, 0.3, 30.0, 40.0, 31.0, 55.0],
                       [0.6, 0.1, 0.4, 28.0, 42.0, 29.0, 56.0]])
    return EditOutcome(method="SGF", target=target, label="edit", names=NAMES, before=before,
                       after=before + after_delta, steps=np.array([5, 7]), status=["converged", "max_steps"],
                       keypoints=[(3, 4), (5, 6)])


def test_moves_holds_and_side_effects() -> None:
    delta = np.array([[0.0, 0.01, 0.3, 0.0, -2.0, 0.5, 0.0],     # on target; age changed; chin moved 0.5
                      [0.0, 0.05, 0.0, 0.0, -0.5, 0.0, 0.0]])    # moved only 0.5 of 2 px
    metric = KeypointMovesMetric(tolerance_px=1.0, delta=0.2)
    result = metric.compute([], [outcome({"move": {"mouth_top": [0, -2]}, "hold": ["hair_hue"]}, delta)])
    s = result.values["SGF"]["edit"]
    assert s["success"] == 0.5
    assert s["move_error_px"] == pytest.approx((0.0 + 1.5) / 2)
    assert s["moved_px"] == pytest.approx((2.0 + 0.5) / 2)
    assert s["hold_change"] == pytest.approx(0.03)
    assert s["other_points_px"] == pytest.approx(0.25)
    assert s["other_attributes_changed"] == pytest.approx(0.5)  # age on sample 0 only
    assert "| SGF | edit | 50% | 0.75 |" in result.tables["keypoint_moves"]


def test_absolute_points_and_attribute_targets() -> None:
    delta = np.zeros((2, len(NAMES)))
    delta[:, 0] = [0.7, 0.1]  # smile -> 0.9, 0.7
    delta[0, 5:7] = [1.0, 0.0]
    metric = KeypointMovesMetric()
    s = metric.score(outcome({"chin": [32.0, 55.0], "smile": 0.9}, delta))
    # sample 0: chin arrives at (32, 55) and smile 0.9; sample 1: chin stays at (29, 56), 3.2 px off
    assert s["success"] == 0.5
    assert s["move_error_px"] == pytest.approx((0.0 + np.hypot(3.0, 1.0)) / 2)
    assert s["smile_after"] == pytest.approx(0.8)


def test_unknown_point_and_no_edits() -> None:
    metric = KeypointMovesMetric()
    with pytest.raises(ComponentError, match="no point 'nose'"):
        metric.score(outcome({"move": {"nose": [1, 0]}}, np.zeros((2, len(NAMES)))))
    undeclared = outcome({"move": {"chin": [1, 0]}}, np.zeros((2, len(NAMES))))
    undeclared.keypoints = [(3, 4)]  # chin_x / chin_y are not declared landmarks: no point 'chin'
    with pytest.raises(ComponentError, match="no point 'chin'; its points: mouth_top"):
        metric.score(undeclared)
    assert metric.compute([], []).values == {}
