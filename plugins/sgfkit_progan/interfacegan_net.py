"""ProGAN generator in the layout of InterFaceGAN's converted ``pggan_celebahq.pth``.

Our own implementation of the network that genforce/interfacegan runs (converted from NVIDIA's
official TF ``karras2018iclr-celebahq-1024x1024.pkl``). State-dict keys:

* ``lod`` []: level of detail; 0 renders at full resolution.
* ``layer{2b}.conv.weight`` / ``layer{2b+1}.conv.weight`` (no conv bias) and ``layer{k}.wscale.bias``:
  two convolutions per block b. ``layer0`` is a 4x4 conv with padding 3 on the 1x1 latent (the TF
  dense layer); later even layers upsample (nearest x2) first. With ``fused_scale`` the upsampling
  layers store ``layer{2b}.weight`` [3, 3, I, O] and run a stride-2 transposed conv instead.
* ``output{b}.conv.weight`` [3, C_b, 1, 1] and ``output{b}.wscale.bias`` [3]: ToRGB of block b.

Every conv block: pixel norm of its input -> (upsample) -> conv -> ``* gain / sqrt(fan_in) + bias`` ->
leaky ReLU 0.2 (gain sqrt(2)); ToRGB blocks use gain 1 and no activation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


def pixel_norm(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Normalise each pixel's feature vector to unit mean square over channels (dim 1)."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)


class WScale(nn.Module):
    """Equalised learning rate: multiply by ``gain / sqrt(fan_in)``, then add a per-channel bias."""

    def __init__(self, channels: int, fan_in: int, gain: float) -> None:
        super().__init__()
        self.scale = gain / math.sqrt(fan_in)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.bias.view(1, -1, 1, 1)


class PGConvBlock(nn.Module):
    """pixel norm -> optional nearest x2 upsampling -> conv -> wscale -> activation."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int = 3, padding: int = 1, upsample: bool = False,
                 fused_scale: bool = False, gain: float = math.sqrt(2.0), activation: bool = True) -> None:
        super().__init__()
        self.upsample = upsample
        self.fused = upsample and fused_scale
        if self.fused:
            # TF layout [kh, kw, in, out]; the stride-2 transposed conv uses a 4x4 box-summed kernel
            self.weight = nn.Parameter(torch.zeros(kernel, kernel, in_ch, out_ch))
        else:
            self.conv = nn.Conv2d(in_ch, out_ch, kernel, padding=padding, bias=False)
        self.wscale = WScale(out_ch, in_ch * kernel * kernel, gain)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = pixel_norm(x)
        if self.fused:
            k = F.pad(self.weight, (0, 0, 0, 0, 1, 1, 1, 1))
            k = k[1:, 1:] + k[:-1, 1:] + k[1:, :-1] + k[:-1, :-1]          # [4, 4, I, O]
            x = F.conv_transpose2d(x, k.permute(2, 3, 0, 1), stride=2, padding=1)
        else:
            if self.upsample:
                x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = self.conv(x)
        x = self.wscale(x)
        return F.leaky_relu(x, 0.2) if self.activation else x


@dataclass(frozen=True)
class InterFaceGANConfig:
    """``channels[0]`` is the latent size, ``channels[b]`` the width of block b (4 px, 8 px, ...)."""

    channels: tuple[int, ...]
    fused_scale: bool = False
    image_channels: int = 3

    @property
    def z_dim(self) -> int:
        return self.channels[0]

    @property
    def num_blocks(self) -> int:
        return len(self.channels) - 1

    @property
    def resolution(self) -> int:
        return 4 * 2 ** (self.num_blocks - 1)


#: channel table of the official CelebA-HQ 1024 model (latent 512)
CELEBAHQ_1024 = InterFaceGANConfig((512, 512, 512, 512, 512, 256, 128, 64, 32, 16))


class InterFaceGANProGAN(nn.Module):
    """z [N, z_dim] -> raw image [N, 3, R, R] (roughly [-1, 1]; not clamped)."""

    def __init__(self, config: InterFaceGANConfig) -> None:
        super().__init__()
        self.config = config
        ch = config.channels
        for b in range(1, len(ch)):
            if b == 1:
                first = PGConvBlock(ch[0], ch[1], kernel=4, padding=3)
            else:
                first = PGConvBlock(ch[b - 1], ch[b], upsample=True, fused_scale=config.fused_scale)
            self.add_module(f"layer{2 * b - 2}", first)
            self.add_module(f"layer{2 * b - 1}", PGConvBlock(ch[b], ch[b]))
            self.add_module(f"output{b - 1}", PGConvBlock(ch[b], config.image_channels, kernel=1, padding=0,
                                                          gain=1.0, activation=False))
        self.lod = nn.Parameter(torch.zeros(()), requires_grad=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = z.view(z.shape[0], z.shape[1], 1, 1)
        lod = float(self.lod)
        n = len(self.config.channels)
        image = None
        for b in range(1, n):
            if b + lod < n:   # blocks above the level of detail are replaced by upsampling the image
                x = getattr(self, f"layer{2 * b - 1}")(getattr(self, f"layer{2 * b - 2}")(x))
                image = getattr(self, f"output{b - 1}")(x)
            else:
                image = F.interpolate(image, scale_factor=2, mode="nearest")
        return image


def config_from_state_dict(state: dict[str, torch.Tensor]) -> InterFaceGANConfig:
    """Read the channel table (and fused_scale) from the weight shapes of a converted checkpoint."""
    if "layer0.conv.weight" not in state:
        raise KeyError("layer0.conv.weight")
    w0 = state["layer0.conv.weight"]
    channels = [int(w0.shape[1]), int(w0.shape[0])]
    fused = False
    b = 2
    while True:
        conv = state.get(f"layer{2 * b - 2}.conv.weight")
        fused_w = state.get(f"layer{2 * b - 2}.weight")
        if conv is not None:
            channels.append(int(conv.shape[0]))
        elif fused_w is not None:
            fused = True
            channels.append(int(fused_w.shape[3]))
        else:
            break
        b += 1
    image_channels = int(state["output0.conv.weight"].shape[0]) if "output0.conv.weight" in state else 3
    return InterFaceGANConfig(tuple(channels), fused_scale=fused, image_channels=image_channels)
