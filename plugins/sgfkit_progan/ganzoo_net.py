"""ProGAN generator in the layout of facebookresearch/pytorch_GAN_zoo (``PGAN``, ``GNet``).

Our own implementation of the GNet forward pass, loading the ``avgG`` (or ``netG``) state dict:

* ``formatLayer.module.{weight [16*d0, z_dim], bias}``: dense layer to a 4x4 map of d0 channels.
* ``groupScale0.0.module.{weight [d0, d0, 3, 3], bias}``: the 4x4 conv.
* ``scaleLayers.{s}.{0,1}.module.{weight, bias}``: two 3x3 convs per added scale.
* ``toRGBLayers.{i}.module.{weight [3, d_i, 1, 1], bias}``: one ToRGB per scale; the last one renders.

Equalised learning rate the gan-zoo way: every layer's *output* (bias included) is multiplied by
``sqrt(2 / fan_in)``, ToRGB and the dense layer too. Forward: pixel norm(z) -> lrelu(dense) ->
reshape -> pixel norm -> [conv -> lrelu -> pixel norm] per layer, nearest x2 before each added
scale -> ToRGB (blended with the upsampled previous ToRGB when ``alpha > 0``) -> optional tanh.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from sgfkit_progan.interfacegan_net import pixel_norm


class EqualizedLayer(nn.Module):
    """Wraps a conv / linear ``module``; its output is scaled by He's constant sqrt(2 / fan_in)."""

    def __init__(self, module: nn.Conv2d | nn.Linear) -> None:
        super().__init__()
        self.module = module
        fan_in = math.prod(module.weight.shape[1:])
        self.scale = math.sqrt(2.0 / fan_in)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x) * self.scale


def _conv(in_ch: int, out_ch: int, kernel: int) -> EqualizedLayer:
    return EqualizedLayer(nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2))


@dataclass(frozen=True)
class GanZooConfig:
    """The GNet settings that a checkpoint's ``config`` and shapes determine."""

    z_dim: int = 512
    depth_scale0: int = 512
    depth_other_scales: tuple[int, ...] = field(default_factory=tuple)
    image_channels: int = 3
    leaky_relu_leak: float = 0.2
    normalization: bool = True
    tanh_output: bool = False   # True for the DCGAN / MSE losses, False for WGAN-GP (the zoo's models)
    alpha: float = 0.0          # blending with the previous scale (0 in finished models)

    @property
    def resolution(self) -> int:
        return 4 * 2 ** len(self.depth_other_scales)


class GanZooGNet(nn.Module):
    """z [N, z_dim] -> raw image [N, 3, R, R]."""

    def __init__(self, config: GanZooConfig) -> None:
        super().__init__()
        self.config = config
        d0 = config.depth_scale0
        self.formatLayer = EqualizedLayer(nn.Linear(config.z_dim, 16 * d0))
        self.groupScale0 = nn.ModuleList([_conv(d0, d0, 3)])
        self.scaleLayers = nn.ModuleList()
        self.toRGBLayers = nn.ModuleList([_conv(d0, config.image_channels, 1)])
        last = d0
        for depth in config.depth_other_scales:
            self.scaleLayers.append(nn.ModuleList([_conv(last, depth, 3), _conv(depth, depth, 3)]))
            self.toRGBLayers.append(_conv(depth, config.image_channels, 1))
            last = depth

    def _act_norm(self, x: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(x, self.config.leaky_relu_leak)
        return pixel_norm(x) if self.config.normalization else x

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        x = pixel_norm(z) if cfg.normalization else z
        x = F.leaky_relu(self.formatLayer(x.flatten(1)), cfg.leaky_relu_leak).view(z.shape[0], -1, 4, 4)
        x = pixel_norm(x) if cfg.normalization else x
        for conv in self.groupScale0:
            x = self._act_norm(conv(x))
        blend = None
        if cfg.alpha > 0 and len(self.scaleLayers) == 1:
            blend = F.interpolate(self.toRGBLayers[-2](x), scale_factor=2, mode="nearest")
        for s, group in enumerate(self.scaleLayers):
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            for conv in group:
                x = self._act_norm(conv(x))
            if cfg.alpha > 0 and s == len(self.scaleLayers) - 2:
                blend = F.interpolate(self.toRGBLayers[-2](x), scale_factor=2, mode="nearest")
        x = self.toRGBLayers[-1](x)
        if blend is not None:
            x = cfg.alpha * blend + (1.0 - cfg.alpha) * x
        return torch.tanh(x) if cfg.tanh_output else x


def normalize_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Accept old key names (``formatLayer.weight``) and DataParallel prefixes (``module.``)."""
    out = {}
    for key, value in state.items():
        if key.startswith("module."):
            key = key[len("module."):]
        parts = key.split(".")
        if parts[-2] != "module" and parts[-1] in ("weight", "bias"):
            parts.insert(len(parts) - 1, "module")
        out[".".join(parts)] = value
    return out


def config_from_checkpoint(state: dict[str, torch.Tensor], settings: dict) -> GanZooConfig:
    """Shapes give the widths; the checkpoint's ``config`` (``settings``) gives the behaviour flags."""
    fmt = state["formatLayer.module.weight"]
    depth0 = int(fmt.shape[0]) // 16
    others = []
    s = 0
    while f"scaleLayers.{s}.0.module.weight" in state:
        others.append(int(state[f"scaleLayers.{s}.0.module.weight"].shape[0]))
        s += 1
    loss = str(settings.get("lossCriterion", "WGANGP"))
    return GanZooConfig(
        z_dim=int(fmt.shape[1]), depth_scale0=depth0, depth_other_scales=tuple(others),
        image_channels=int(state["toRGBLayers.0.module.weight"].shape[0]),
        leaky_relu_leak=float(0.2 if settings.get("leakyReluLeak") is None else settings["leakyReluLeak"]),
        normalization=bool(True if settings.get("perChannelNormalization") is None
                           else settings["perChannelNormalization"]),
        tanh_output=loss in ("DCGAN", "MSE"),
        alpha=float(settings.get("alpha", 0.0) or 0.0))
