"""Targets, distances and labels for encoders whose conditions are keypoints (+ attributes).

Condition names are ``<point>_x`` / ``<point>_y`` (pixels of the encoded image, 0 = centre of
the first pixel) optionally followed by attribute scores in [0, 1]. Target specs:

- ``{"move": {"mouth_top": [dx, dy], ...}}``: move points by pixel offsets;
- ``{"mouth_top": [x, y]}`` or ``{"mouth_top_x": x}``: absolute pixel positions;
- ``{"smile": 0.8}``: attribute values; ``{"offset": {"smile": 0.2}}``: relative changes;
- ``{"hold": ["hair_hue", "black_hair"]}``: constrain dims to stay at their current values.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from sgfkit.components import ConditionEncoder
from sgfkit.errors import ComponentError, did_you_mean
from sgfkit_anime.declarations import KeypointEncoderDeclaration


class KeypointTargetsMixin(KeypointEncoderDeclaration, ConditionEncoder):
    """Target/distance/describe for names ``<point>_x, <point>_y, ..., attributes``.

    Subclasses provide ``names``, ``point_names`` and ``pixel_scale`` (pixels that count as 1.0
    in :meth:`distance`, so that pixel errors and [0, 1] attribute errors share one tolerance).
    """

    point_names: list[str]
    pixel_scale: float = 20.0

    def keypoint_columns(self) -> list[tuple[str, str]]:
        return [(f"{p}_x", f"{p}_y") for p in self.point_names]

    # -- helpers ------------------------------------------------------------------------------
    def point_dims(self, point: str) -> tuple[int, int]:
        if point not in self.point_names:
            raise ComponentError(
                f"{self.registry_name or type(self).__name__} has no keypoint {point!r}."
                + did_you_mean(point, self.point_names) + f" Its points: {', '.join(self.point_names)}")
        return self.index_of(f"{point}_x"), self.index_of(f"{point}_y")

    def is_pixel_dim(self, index: int) -> bool:
        name = self.names[index]
        return name.endswith(("_x", "_y")) and name[:-2] in self.point_names

    @staticmethod
    def _pair(key: str, value: Any) -> tuple[float, float]:
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise ComponentError(f"target {key!r}: expected [x, y] in pixels, got {value!r}")
        return float(value[0]), float(value[1])

    def _spec_items(self, spec: dict[str, Any]) -> list[tuple[int, str, float]]:
        """(dim, mode, value) triples with mode in set | add | hold."""
        items: list[tuple[int, str, float]] = []
        for key, value in spec.items():
            if key == "move":
                if not isinstance(value, dict) or not value:
                    raise ComponentError("target 'move' expects {point: [dx, dy]} in pixels, e.g. "
                                         "{move: {mouth_top: [0, -2]}}")
                for point, delta in value.items():
                    dx, dy = self._pair(f"move.{point}", delta)
                    ix, iy = self.point_dims(point)
                    items += [(ix, "add", dx), (iy, "add", dy)]
            elif key == "offset":
                for name, delta in dict(value).items():
                    items.append((self.index_of(name), "add", float(delta)))
            elif key == "hold":
                names = [value] if isinstance(value, str) else list(value)
                for name in names:
                    if name in self.point_names:
                        items += [(d, "hold", 0.0) for d in self.point_dims(name)]
                    else:
                        items.append((self.index_of(name), "hold", 0.0))
            elif key in self.point_names:
                x, y = self._pair(key, value)
                ix, iy = self.point_dims(key)
                items += [(ix, "set", x), (iy, "set", y)]
            else:
                if isinstance(value, (list, tuple, dict)):
                    raise ComponentError(f"target {key!r}: expected a number, got {value!r}")
                items.append((self.index_of(key), "set", float(value)))
        return items

    # -- ConditionEncoder overrides -------------------------------------------------------------
    def target(self, spec: dict[str, Any], c0: torch.Tensor) -> torch.Tensor:
        c1 = c0.clone()
        for dim, mode, value in self._spec_items(spec):
            if mode == "set":
                c1[:, dim] = value
            elif mode == "add":
                c1[:, dim] = c1[:, dim] + value
        return c1

    def target_dims(self, spec: dict[str, Any]) -> list[int]:
        return sorted({dim for dim, _, _ in self._spec_items(spec)})

    def target_aspects(self, spec: dict[str, Any]) -> list[str]:
        """The dims a target moves or sets; held dims are constraints, not what the edit is about
        (``layers: auto`` must not add the layers that carry them)."""
        dims = sorted({dim for dim, mode, _ in self._spec_items(spec) if mode != "hold"})
        return [self.names[d] for d in dims]

    def dim_scales(self, dims: Sequence[int], device: torch.device | None = None) -> torch.Tensor:
        """[len(dims)] divisor per dim: ``pixel_scale`` for coordinates, 1 for attributes."""
        return torch.tensor([self.pixel_scale if self.is_pixel_dim(i) else 1.0 for i in dims],
                            device=device)

    def distance(self, c: torch.Tensor, c1: torch.Tensor, dims: Sequence[int]) -> torch.Tensor:
        """Max over ``dims`` of |c - c1|, pixels divided by ``pixel_scale`` (1.0 = that many px)."""
        idx = list(dims) or list(range(c.shape[1]))
        scale = self.dim_scales(idx, c.device).to(c.dtype)
        return ((c[:, idx] - c1[:, idx]).abs() / scale).amax(dim=1)

    def describe(self, c: torch.Tensor, dims: Sequence[int] | None = None) -> list[str]:
        """Labels like ``mouth_top (30.2, 47.1), hair_hue 0.31`` (at most 3 items)."""
        idx = list(dims) if dims else [i for i in range(len(self.names)) if not self.is_pixel_dim(i)][:2]
        if not idx:
            idx = list(range(min(2, c.shape[1])))
        items: list[tuple[str, str]] = []  # (kind, name)
        for i in idx:
            name = self.names[i]
            entry = ("point", name[:-2]) if self.is_pixel_dim(i) else ("attr", name)
            if entry not in items:
                items.append(entry)
        labels = []
        for row in c:
            parts = []
            for kind, name in items[:3]:
                if kind == "point":
                    ix, iy = self.point_dims(name)
                    parts.append(f"{name} ({float(row[ix]):.1f}, {float(row[iy]):.1f})")
                else:
                    parts.append(f"{name} {float(row[self.index_of(name)]):.2f}")
            labels.append(", ".join(parts) + (" ..." if len(items) > 3 else ""))
        return labels
