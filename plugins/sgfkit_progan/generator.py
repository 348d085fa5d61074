"""The ``progan`` generator: a Z-space-only ProGAN (InterFaceGAN CelebA-HQ or pytorch_GAN_zoo PGAN).

Latents are z [N, z_dim]. Like InterFaceGAN, z is rescaled to norm sqrt(z_dim) before the network
(boundaries are learnt on such codes); the network's pixel norm makes the output nearly
independent of that scale anyway. Images come back as [N, 3, R, R] RGB, clamped to [-1, 1] unless
``clamp: false``.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from sgfkit.components import Generator
from sgfkit.errors import ComponentError, WeightsError
from sgfkit.weights import locate_weights, sha256_of
from sgfkit_progan.checkpoints import load_progan
from sgfkit_progan.declarations import ProGANGeneratorDeclaration
from sgfkit_progan.ganzoo_net import GanZooConfig, GanZooGNet
from sgfkit_progan.interfacegan_net import InterFaceGANConfig, InterFaceGANProGAN


def normalize_z(z: torch.Tensor) -> torch.Tensor:
    """InterFaceGAN's preprocessing: each row of z [N, d] scaled to L2 norm sqrt(d)."""
    return z / z.norm(dim=1, keepdim=True).clamp_min(1e-12) * math.sqrt(z.shape[1])


def random_network(arch: str, resolution: int, z_dim: int, channels: list[int] | None,
                   seed: int) -> torch.nn.Module:
    """A randomly initialised network (tests, benchmarks); weights ~ N(0, 1), biases ~ 0.1 N(0, 1)."""
    blocks = int(math.log2(resolution)) - 1
    if channels is None:
        channels = [min(512, 16384 // (4 * 2 ** i)) for i in range(blocks)]   # 512 up to 32 px ... 16 @ 1024 px
    if len(channels) != blocks:
        raise ComponentError(f"progan: channels needs {blocks} entries for {resolution} px, got {len(channels)}")
    net: torch.nn.Module
    if arch == "interfacegan":
        net = InterFaceGANProGAN(InterFaceGANConfig((z_dim, *channels)))
    else:
        net = GanZooGNet(GanZooConfig(z_dim=z_dim, depth_scale0=channels[0], depth_other_scales=tuple(channels[1:])))
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name == "lod":
                continue
            p.copy_(torch.randn(p.shape, generator=gen) * (0.1 if name.endswith("bias") else 1.0))
    return net.eval()


class ProGANGenerator(ProGANGeneratorDeclaration, Generator):
    """Progressive GAN generator working in Z space only."""

    def __init__(self, base_dir: Path | None = None, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        if p["truncation"] != 1.0:
            raise ComponentError("progan has no w space, so truncation does not apply; remove 'truncation'")
        self.checkpoint_path: Path | None = None
        if p["checkpoint"] is None:
            self.net = random_network(p["architecture"], p["resolution"], p["z_dim"], p["channels"], p["init_seed"])
            self.info: dict[str, Any] = {"format": f"random {p['architecture']}", "resolution": p["resolution"],
                                         "z_dim": p["z_dim"]}
        else:
            self.checkpoint_path = locate_weights(p["checkpoint"], base_dir=base_dir, verify_sha256=p["verify_sha256"])
            self.net, self.info = load_progan(self.checkpoint_path, p["format"])
        self.net.requires_grad_(False)
        self.z_dim = int(self.info["z_dim"])
        self.w_dim = self.z_dim
        self.num_ws = 1
        self.resolution = int(self.info["resolution"])

    def synthesize_z(self, z: torch.Tensor) -> torch.Tensor:
        """z [N, z_dim] -> images [N, 3, R, R] (in [-1, 1] when ``clamp``); differentiable."""
        if z.dim() != 2 or z.shape[1] != self.z_dim:
            raise ComponentError(f"progan expects z of shape [N, {self.z_dim}], got {list(z.shape)}")
        if self.params["normalize_z"]:
            z = normalize_z(z)
        img = self.net(z.to(self.device, torch.float32))
        return img.clamp(-1.0, 1.0) if self.params["clamp"] else img

    def versions(self) -> dict[str, Any]:
        out: dict[str, Any] = {"format": self.info["format"], "resolution": self.resolution}
        if self.checkpoint_path is not None:
            out["checkpoint"] = str(self.checkpoint_path)
            try:
                out["sha256"] = sha256_of(self.checkpoint_path)
            except OSError as exc:  # pragma: no cover - file vanished after loading
                raise WeightsError(f"{self.checkpoint_path}: cannot read ({exc})") from None
        return out
