"""The ``stylegan2`` generator component: a real StyleGAN2 checkpoint behind sgfkit's Generator API.

Latents: z [N, z_dim] ~ N(0, I); w [N, w_dim]; w+ [N, num_ws, w_dim] with num_ws = 2 log2(R) - 2.
Images: [N, 3, R, R] RGB, clamped to [-1, 1] unless ``clamp: false`` (raw output, as the reference).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from sgfkit.components import Generator
from sgfkit.errors import ComponentError, ParamError, WeightsError
from sgfkit.weights import locate_weights, sha256_of
from sgfkit_stylegan2.checkpoints import build_network, load_checkpoint
from sgfkit_stylegan2.declarations import StyleGAN2GeneratorDeclaration, stray_random_init_params
from sgfkit_stylegan2.networks import StyleGAN2Config, channels_from_base, random_network


def layer_groups_for(num_ws: int) -> dict[str, list[int]]:
    """coarse / middle / fine w+ layers.

    With at least 12 layers (128 px and up) StyleGAN's convention by index: coarse 0-3 (4-8 px),
    middle 4-7 (16-32 px), fine 8+ (64 px and up). Smaller nets are split into three runs.
    """
    if num_ws >= 12:
        bounds = (4, 8)
    else:
        third = max(num_ws // 3, 1)
        bounds = (third, min(2 * third, num_ws - 1))
    return {"all": list(range(num_ws)), "coarse": list(range(0, bounds[0])),
            "middle": list(range(bounds[0], bounds[1])), "fine": list(range(bounds[1], num_ws))}


class StyleGAN2Generator(StyleGAN2GeneratorDeclaration, Generator):
    """StyleGAN2 (NVlabs architecture) loaded from an NVlabs ``.pkl``, a rosinality ``.pt`` or a state dict."""

    def __init__(self, base_dir: Path | None = None, **params: Any) -> None:
        super().__init__(**params)
        stray = stray_random_init_params(params)
        if stray:
            raise ParamError(stray, "generator 'stylegan2'")
        p = self.params
        self.checkpoint_path: Path | None = None
        if p["checkpoint"] is None:
            cfg = StyleGAN2Config(z_dim=p["z_dim"], w_dim=p["w_dim"], c_dim=p["c_dim"], resolution=p["resolution"],
                                  channels=channels_from_base(p["channel_base"], p["channel_max"], p["resolution"]),
                                  mapping_layers=p["mapping_layers"], num_fp16_res=p["num_fp16_res"],
                                  conv_clamp=p["conv_clamp"])
            self.net = random_network(cfg, seed=p["init_seed"])
            self.info: dict[str, Any] = {"format": "random", "init_seed": p["init_seed"]}
        else:
            self.checkpoint_path = locate_weights(p["checkpoint"], base_dir=base_dir, verify_sha256=p["verify_sha256"])
            loaded = load_checkpoint(self.checkpoint_path, p["format"])
            if p["conv_clamp"] is not None:
                loaded.config = loaded.config.with_(conv_clamp=p["conv_clamp"])
            self.net = build_network(loaded, self.checkpoint_path)
            self.info = {"format": loaded.format, **loaded.info}
        cfg = self.net.cfg
        if cfg.img_channels != 3:
            raise WeightsError(f"{self.checkpoint_path}: the network makes {cfg.img_channels}-channel images; "
                               "sgfkit works with RGB (3 channels)")
        self.z_dim, self.w_dim, self.resolution, self.num_ws = cfg.z_dim, cfg.w_dim, cfg.resolution, cfg.num_ws
        self.c_dim = cfg.c_dim
        if cfg.c_dim > 0 and p["c_class"] is None:
            raise ComponentError(f"stylegan2: this network is conditional (c_dim={cfg.c_dim}); set c_class to a "
                                 f"class index in 0..{cfg.c_dim - 1}")
        if cfg.c_dim == 0 and p["c_class"] is not None:
            raise ComponentError("stylegan2: the network is unconditional; remove c_class")
        if p["c_class"] is not None and p["c_class"] >= cfg.c_dim:
            raise ComponentError(f"stylegan2: c_class {p['c_class']} is out of range: the network has classes "
                                 f"0..{cfg.c_dim - 1}")

    # -- Generator API ----------------------------------------------------------------------
    @property
    def w_avg(self) -> torch.Tensor:
        return self.net.mapping.w_avg

    @property
    def layer_groups(self) -> dict[str, list[int]]:
        return layer_groups_for(self.num_ws)

    def labels(self, n: int) -> torch.Tensor | None:
        """One-hot [n, c_dim] for ``c_class`` (None for an unconditional network)."""
        if self.c_dim == 0:
            return None
        return F.one_hot(torch.full((n,), self.params["c_class"], device=self.device), self.c_dim).float()

    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        """z [N, z_dim] -> untruncated w [N, w_dim] (differentiable)."""
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ComponentError(f"stylegan2 expects z of shape [N, {self.z_dim}], got {list(z.shape)}")
        return self.net.mapping(z.to(self.device, torch.float32), self.labels(z.shape[0]))

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        """w+ [N, num_ws, w_dim] -> images [N, 3, R, R] (clamped to [-1, 1] when ``clamp``)."""
        if ws.dim() != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
            raise ComponentError(f"stylegan2 expects w+ of shape [N, {self.num_ws}, {self.w_dim}], "
                                 f"got {list(ws.shape)}")
        half = not self.params["fp32"] and self.device.type == "cuda"
        img = self.net.synthesis(ws.to(self.device, torch.float32), self.params["noise_mode"], half=half)
        return img.clamp(-1.0, 1.0) if self.params["clamp"] else img

    def noise_buffers(self) -> list[torch.Tensor]:
        """The constant per-layer noise maps [R, R] that ``noise_mode: const`` renders with (a projector
        optimises and restores them); none in the other modes."""
        if self.params["noise_mode"] != "const":
            return []
        return [b for name, b in self.net.synthesis.named_buffers() if name.endswith("noise_const")]

    def versions(self) -> dict[str, Any]:
        cfg = self.net.cfg
        out: dict[str, Any] = {**self.info, "resolution": cfg.resolution, "z_dim": cfg.z_dim, "w_dim": cfg.w_dim,
                               "num_ws": cfg.num_ws, "conv_clamp": cfg.conv_clamp,
                               "noise_mode": self.params["noise_mode"]}
        if self.checkpoint_path is not None:
            out["checkpoint"] = str(self.checkpoint_path)
            out["sha256"] = sha256_of(self.checkpoint_path)
        return out
