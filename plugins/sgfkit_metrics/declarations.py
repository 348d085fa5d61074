"""What the metrics plugin declares (parameters), importable without torch."""
from __future__ import annotations

from typing import ClassVar

from sgfkit.declarations import MetricDeclaration
from sgfkit.params import Param


class MDSMetricDeclaration(MetricDeclaration):
    """Manipulation disentanglement score (SGF paper, section 4.4.1)."""

    params: ClassVar[dict[str, Param]] = {
        "delta": Param(float, 0.2, "an attribute 'changed' when its score moved by more than delta (unset: the "
                       "recipe's evaluation.delta)", min=0.0, follows="evaluation.delta"),
        "plot": Param(bool, True, "draw the MDC figure"),
        "scored": Param(list, None, "names of the attributes counted for disentanglement (default: every "
                        "evaluator column, less keypoints)", nullable=True, item_type=str),
        "exclude_keypoints": Param(bool, True, "leave the evaluator's keypoint columns (pixel positions it "
                                   "declares with keypoint_columns()) out of the disentanglement count"),
    }
