"""A small CNN that regresses landmarks and attributes (the paper's KeypointsAttr encoder, small).

Input: images [N, 3, S, S] in [-1, 1] at the net's ``input_size``; two coordinate channels are
appended (CoordConv) so the convolutions know where they are, which makes pixel-accurate
regression much easier for a small net. Output: ``coords`` [N, L, 2] normalised image coordinates
in the ``align_corners=False`` convention (-1 = left/top image edge, +1 = right/bottom edge) and
``attribute_logits`` [N, A] (sigmoid -> [0, 1]).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class LandmarkNetConfig:
    num_points: int
    num_attributes: int
    input_size: int = 64
    width: int = 32       # channels of the first stage; doubled at each of the first 3 downsamplings
    hidden: int = 256     # width of the fully connected layer

    def as_dict(self) -> dict:
        return asdict(self)


def _block(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class LandmarkNet(nn.Module):
    """CoordConv CNN: a full-resolution stem, 4 stages (stride-2 conv + conv; S -> S/16), an MLP head."""

    def __init__(self, config: LandmarkNetConfig) -> None:
        super().__init__()
        self.config = config
        w = config.width
        chans = [w, 2 * w, 4 * w, 4 * w]
        layers: list[nn.Module] = [_block(5, w, 1)]
        cin = w
        for cout in chans:
            layers += [_block(cin, cout, 2), _block(cout, cout, 1)]
            cin = cout
        self.features = nn.Sequential(*layers)
        side = config.input_size // 16
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(cin * side * side, config.hidden), nn.ReLU(inplace=True),
                                  nn.Linear(config.hidden, 2 * config.num_points + config.num_attributes))
        coords = (torch.arange(config.input_size, dtype=torch.float32) * 2 + 1) / config.input_size - 1
        self.register_buffer("coord_x", coords.view(1, 1, 1, -1).expand(1, 1, config.input_size, -1).clone(),
                             persistent=False)
        self.register_buffer("coord_y", coords.view(1, 1, -1, 1).expand(1, 1, -1, config.input_size).clone(),
                             persistent=False)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """images [N, 3, S, S] in [-1, 1] -> (coords [N, L, 2] in [-1, 1] units, attribute logits [N, A])."""
        n = images.shape[0]
        x = torch.cat([images, self.coord_x.expand(n, -1, -1, -1), self.coord_y.expand(n, -1, -1, -1)], dim=1)
        out = self.head(self.features(x))
        num_points = self.config.num_points
        return out[:, : 2 * num_points].view(n, num_points, 2), out[:, 2 * num_points:]


def normalised_to_pixels(u: torch.Tensor, size: int) -> torch.Tensor:
    """[-1, 1] image units -> pixels of an image ``size`` wide (0 = centre of the first pixel)."""
    return (u + 1) * (size / 2) - 0.5


def pixels_to_normalised(px: torch.Tensor, size: int) -> torch.Tensor:
    return (px + 0.5) * (2 / size) - 1
