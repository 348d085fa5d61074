"""Common generator machinery of the synthetic worlds (params, mapping, w_avg, layer groups).

A world subclass declares ``FACTORS`` (factor names read from each layer group), implements
:meth:`scene` (factors -> named scene parameters [N]) and :meth:`render` (scene -> images).
"""
from __future__ import annotations

from typing import Any, ClassVar

import torch

from sgfkit.components import Generator
from sgfkit.errors import ComponentError
from sgfkit.latents import Latents

from sgfkit_synthetic.latent_space import STATS_SAMPLES, FactorReader, MappingNetwork, layer_groups
from sgfkit_synthetic.declarations import SyntheticGeneratorDeclaration


#: pixels per render chunk (64 images at 64 px)
RENDER_CHUNK_PIXELS = 64 * 64 * 64


class SyntheticGenerator(SyntheticGeneratorDeclaration, Generator):
    """A procedural, differentiable, deterministic world with a StyleGAN-like latent space."""

    #: {layer group: factor names read from it}
    FACTORS: ClassVar[dict[str, list[str]]] = {}
    #: offset of the factor directions' seed from world_seed (distinct per world)
    FACTOR_SEED: ClassVar[int] = 1

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        self.z_dim = self.w_dim = int(p["latent_dim"])
        self.num_ws = int(p["num_ws"])
        self.resolution = int(p["resolution"])
        seed = int(p["world_seed"])
        self._groups = layer_groups(self.num_ws)
        self.mapping_net = MappingNetwork(self.w_dim, seed=seed)
        self.factors = FactorReader(self.w_dim, self._groups, self.FACTORS, seed=seed + self.FACTOR_SEED)
        with torch.no_grad():
            z = torch.randn(STATS_SAMPLES, self.z_dim, generator=torch.Generator().manual_seed(seed + 12345))
            w = self.mapping_net(z)
            self._w_avg = w.mean(dim=0)
            self.factors.calibrate(w)

    # -- Generator contract -----------------------------------------------------------------
    @property
    def layer_groups(self) -> dict[str, list[int]]:
        return {"all": list(range(self.num_ws)), **self._groups}

    @property
    def w_avg(self) -> torch.Tensor:
        return self._w_avg.to(self.device)

    def to(self, device: torch.device | str) -> SyntheticGenerator:
        super().to(device)
        self._w_avg = self._w_avg.to(self.device)
        return self

    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        """z [N, z_dim] -> untruncated w [N, w_dim]."""
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ComponentError(f"{type(self).__name__} expects z of shape [N, {self.z_dim}], "
                                 f"got {list(z.shape)}; set latent_dim to match or resample z")
        return self.mapping_net(z)

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        """w+ [N, num_ws, w_dim] -> images [N, 3, R, R] in [-1, 1]."""
        ws = self.check_ws(ws)
        # render in cache-sized chunks: the renderer is a long chain of elementwise ops, which run
        # 2x faster per image when each intermediate [chunk, R, R] field fits in the CPU cache
        chunk = max(1, RENDER_CHUNK_PIXELS // (self.resolution * self.resolution))
        if ws.shape[0] <= chunk:
            return self.render(self.scene(ws))
        return torch.cat([self.render(self.scene(part)) for part in ws.split(chunk)])

    # -- world interface --------------------------------------------------------------------
    def check_ws(self, ws: torch.Tensor) -> torch.Tensor:
        if ws.dim() != 3 or ws.shape[1] != self.num_ws or ws.shape[2] != self.w_dim:
            raise ComponentError(f"{type(self).__name__} expects w+ of shape [N, {self.num_ws}, {self.w_dim}], "
                                 f"got {list(ws.shape)}; check num_ws / latent_dim")
        return ws

    def ws_of(self, latents: Latents) -> torch.Tensor:
        """Latents of any space -> w+ [N, num_ws, w_dim] exactly as :meth:`synthesize` renders them."""
        latents.check_finite()
        t = latents.tensor.to(self.device)
        if latents.space == "z":
            return self.truncate(self.mapping(t).unsqueeze(1).expand(-1, self.num_ws, -1))
        return Latents(t, latents.space).to_wplus(self.num_ws).tensor

    def scene(self, ws: torch.Tensor) -> dict[str, torch.Tensor]:
        """w+ -> named scene parameters, each [N]."""
        raise NotImplementedError

    def render(self, scene: dict[str, torch.Tensor]) -> torch.Tensor:
        """Scene parameters -> images [N, 3, R, R] in [-1, 1]."""
        raise NotImplementedError

    def grid(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Pixel-centre coordinates in [-1, 1]: x [1, 1, R], y [1, R, 1] (y grows downwards)."""
        r = self.resolution
        c = (torch.arange(r, dtype=torch.float32, device=self.device) * 2 + 1) / r - 1
        return c.view(1, 1, r), c.view(1, r, 1)

    def to_pixels(self, u: torch.Tensor) -> torch.Tensor:
        """Normalised coordinate in [-1, 1] -> pixel units (0 = centre of the first pixel)."""
        return (u + 1) * (self.resolution / 2) - 0.5
