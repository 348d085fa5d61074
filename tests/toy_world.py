"""A tiny analytic world for tests, docs and benchmarks: no rendering cost, known answers.

:class:`ToyGenerator`: z [N, d] -> w = z + 0.3 tanh(z M) (so z and w spaces differ), num_ws = 4,
"images" [N, 3, R, R] that simply pack the w+ codes (not real pictures). :class:`ToyAttributes`
decodes them into K = 4 scores in [0, 1]: ``a0`` and ``a1`` are entangled (both read the same
direction of layers 0-1), ``a2`` and ``a3`` read layers 2-3 (``a3`` nonlinearly), so a layer-restricted
edit of layers 2-3 cannot move ``a0`` / ``a1``.
"""
from __future__ import annotations

import math
from typing import Any, ClassVar

import torch

from sgfkit.components import ConditionEncoder, Generator
from sgfkit.params import Param


class ToyGenerator(Generator):
    params: ClassVar[dict[str, Param]] = {"dim": Param(int, 8, "z and w size", min=5)}

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        d = self.params["dim"]
        self.z_dim = self.w_dim = d
        self.num_ws = 4
        self.resolution = math.ceil(math.sqrt(self.num_ws * d / 3))
        self.M = torch.randn(d, d, generator=torch.Generator().manual_seed(7)) / math.sqrt(d)

    @property
    def layer_groups(self) -> dict[str, list[int]]:
        return {"all": [0, 1, 2, 3], "coarse": [0, 1], "fine": [2, 3]}

    @property
    def w_avg(self) -> torch.Tensor:
        return torch.zeros(self.w_dim)

    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        return z + 0.3 * torch.tanh(z @ self.M.to(z))

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        flat = ws.reshape(len(ws), -1)
        r = self.resolution
        pad = torch.zeros(len(ws), 3 * r * r - flat.shape[1], dtype=ws.dtype, device=ws.device)
        return torch.cat([flat, pad], dim=1).reshape(len(ws), 3, r, r)


class ToyAttributes(ConditionEncoder):
    condition_kind: ClassVar[str] = "attributes"
    params: ClassVar[dict[str, Param]] = {"dim": Param(int, 8, "w size of the ToyGenerator", min=5)}

    @property
    def names(self) -> list[str]:
        return ["a0", "a1", "a2", "a3"]

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        d = self.params["dim"]
        ws = images.reshape(len(images), -1)[:, : 4 * d].reshape(len(images), 4, d)
        va, vb = ws[:, :2].mean(1), ws[:, 2:].mean(1)
        return torch.stack([
            torch.sigmoid(2.0 * va[:, 0]),
            torch.sigmoid(2.0 * (va[:, 1] + 0.8 * va[:, 0])),
            torch.sigmoid(2.0 * vb[:, 2]),
            torch.sigmoid(vb[:, 3] + 0.5 * vb[:, 4] ** 2 - 0.5),
        ], dim=1).float()


def toy_dataset(samples: int, seed: int = 0) -> tuple[ToyGenerator, ToyAttributes, Any]:
    """A W-space toy generator, its attribute encoder and ``samples`` measured latents (a LatentDataset)."""
    from sgfkit.dataset import LatentDataset

    g, e = ToyGenerator(space="w"), ToyAttributes()
    lat = g.sample_latents(samples, seed=seed)
    return g, e, LatentDataset(g.sample_z(samples, seed), lat.tensor, e.measure(g, lat), e.names, "w")
