"""Image distances the optimisation projector minimises.

``pixel-features`` (the embedded default, no downloads): mean squared pixel error plus, per layer of
the shipped face-attributes SE-ResNet (trained on synth-faces), the mean squared difference of the
channel-unit-normalised feature maps (LPIPS's normalisation, with uniform instead of learned
weights). It is a perceptual distance only for the synthetic worlds it was trained on.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def unit_normalize(x: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """[N, C, H, W] -> each pixel's channel vector divided by its norm (+ eps)."""
    return x / (x.pow(2).sum(dim=1, keepdim=True).sqrt() + eps)


class ImageDistance(nn.Module):
    """Per-image distance [N] between images [N, 3, H, W] in [-1, 1]; targets can be prepared once."""

    name = "distance"

    def prepare(self, target: torch.Tensor) -> object:
        """Precompute what the target contributes (its features)."""
        return target

    def forward(self, images: torch.Tensor, prepared: object) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError


class PixelFeatureDistance(ImageDistance):
    """mean (x - y)^2 + feature_weight * sum_l mean (n(f_l(x)) - n(f_l(y)))^2 over a CNN's stages."""

    name = "pixel-features"

    def __init__(self, backbone: nn.Module | None, input_size: int, feature_weight: float = 1.0) -> None:
        super().__init__()
        self.backbone = backbone.eval().requires_grad_(False) if backbone is not None else None
        self.input_size = int(input_size)
        self.feature_weight = float(feature_weight)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """[N, 3, H, W] in [-1, 1] -> unit-normalised maps after the stem and each SE-ResNet stage."""
        if x.shape[-1] != self.input_size:
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False,
                              antialias=x.shape[-1] > self.input_size)
        net = self.backbone
        x = F.relu(net.bn1(net.conv1(x)))
        out = [unit_normalize(x)]
        for i in range(len(net.config.layers)):
            x = getattr(net, f"layer{i + 1}")(x)
            out.append(unit_normalize(x))
        return out

    def prepare(self, target: torch.Tensor) -> object:
        with torch.no_grad():
            return target, (self.features(target) if self.feature_weight else [])

    def forward(self, images: torch.Tensor, prepared: object) -> torch.Tensor:
        target, feats = prepared  # type: ignore[misc]
        dist = (images - target).pow(2).flatten(1).mean(dim=1)
        if self.feature_weight:
            for a, b in zip(self.features(images), feats):
                dist = dist + self.feature_weight * (a - b).pow(2).sum(dim=1).flatten(1).mean(dim=1)
        return dist
