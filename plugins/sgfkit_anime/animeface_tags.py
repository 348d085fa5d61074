"""``animeface-tags``: the paper's real KeypointsAttr = animeface-2009 landmarks + illustration2vec tags.

Names: the animeface points (``<point>_x`` / ``<point>_y``, pixels) followed by the selected
illustration2vec tags (probabilities in [0, 1]). Needs the animeface package and the
illustration2vec files (see the plugin README). The default tags are common Danbooru general
tags; a tag the tag list does not hold is reported with the closest match.
"""
from __future__ import annotations

from typing import Any

import torch

from sgfkit_anime.animeface_encoder import AnimeFaceEncoder
from sgfkit_anime.illustration2vec import Illustration2Vec
from sgfkit_anime.keypoint_targets import KeypointTargetsMixin
from sgfkit_anime.declarations import AnimeFaceTagsEncoderDeclaration



class AnimeFaceTagsEncoder(AnimeFaceTagsEncoderDeclaration, KeypointTargetsMixin):
    """Keypoints from animeface + attributes from illustration2vec, concatenated."""

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        self.keypoints = AnimeFaceEncoder(**{k: p[k] for k in AnimeFaceEncoder.params})
        self.tagger = Illustration2Vec(**{k: p[k] for k in Illustration2Vec.params})
        self.point_names = self.keypoints.point_names
        self.pixel_scale = float(p["pixel_scale"])
        self._names = self.keypoints.names + self.tagger.names

    @property
    def names(self) -> list[str]:
        return self._names

    def to(self, device: torch.device | str) -> AnimeFaceTagsEncoder:
        super().to(device)
        self.tagger.to(device)
        return self

    def encode(self, images: torch.Tensor, first_index: int = 0) -> torch.Tensor:
        """images [N, 3, H, W] in [-1, 1] -> [N, 2P + T]."""
        points = self.keypoints.encode(images, first_index=first_index)
        return torch.cat([points, self.tagger.encode(images).to(points)], dim=1)

    measure = AnimeFaceEncoder.measure  # same batching, missing faces named by sample index

    def versions(self) -> dict[str, Any]:
        return self.tagger.versions()
