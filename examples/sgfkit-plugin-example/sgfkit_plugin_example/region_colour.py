"""RegionColour: conditions = the mean colour of one rectangle of the image.

Images [N, 3, H, W] in [-1, 1] -> conditions [N, 3] in [0, 1], named
``region_red``, ``region_green``, ``region_blue``. Targets use those names,
e.g. ``{region_red: 1.0}`` ("make the centre red").
"""
from __future__ import annotations

from typing import Any, ClassVar

import torch

from sgfkit import ConditionEncoder, Param


class RegionColour(ConditionEncoder):
    """Mean colour of a rectangle given as fractions of the image: [x0, y0, x1, y1]."""

    condition_kind: ClassVar[str] = "attributes"
    params: ClassVar[dict[str, Param]] = {
        "region": Param(list, [0.25, 0.25, 0.75, 0.75],
                        "rectangle [x0, y0, x1, y1] as fractions of the width and height", item_type=float),
    }

    @classmethod
    def check_recipe(cls, params: dict[str, Any], recipe: dict[str, Any]) -> list[tuple[str, str]]:
        """Reject a region that is not 4 numbers with 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1."""
        region = params["region"]
        if len(region) != 4:
            return [("region", f"expected 4 numbers [x0, y0, x1, y1], got {len(region)}: {region!r}")]
        x0, y0, x1, y1 = region
        if not (0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1):
            return [("region", f"{region!r} is not a rectangle inside the image: "
                               "need 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1")]
        return []

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        problems = self.check_recipe(self.params, {})
        if problems:
            from sgfkit import ParamError

            raise ParamError(problems, component="condition-encoder 'region-colour'")

    @property
    def names(self) -> list[str]:
        return ["region_red", "region_green", "region_blue"]

    def pixel_box(self, height: int, width: int) -> tuple[int, int, int, int]:
        """The region in pixels (y0, y1, x0, x1), at least one pixel in each direction."""
        x0, y0, x1, y1 = self.params["region"]
        top, left = int(y0 * height), int(x0 * width)
        bottom, right = max(top + 1, round(y1 * height)), max(left + 1, round(x1 * width))
        return top, min(bottom, height), left, min(right, width)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """images [N, 3, H, W] in [-1, 1] -> [N, 3] mean colour of the region in [0, 1]."""
        if images.dim() != 4 or images.shape[1] != 3:
            from sgfkit import ComponentError

            raise ComponentError(f"region-colour expects images [N, 3, H, W], got shape {list(images.shape)}")
        top, bottom, left, right = self.pixel_box(images.shape[2], images.shape[3])
        mean = images[:, :, top:bottom, left:right].mean(dim=(2, 3))
        return ((mean + 1) / 2).clamp(0, 1).float()
