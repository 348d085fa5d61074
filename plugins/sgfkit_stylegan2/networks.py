"""The StyleGAN2 generator (NVlabs stylegan2-ada-pytorch architecture), written from its maths.

Module and parameter names follow the official state dict (``mapping.fc0.weight``,
``synthesis.b8.conv0.affine.bias``, ...), so an official state dict loads with ``load_state_dict``.
Only the ``skip`` architecture (every released StyleGAN2 generator) is built.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from sgfkit_stylegan2.ops import bias_act, modulated_conv2d, normalize_2nd_moment, upsample2d


def channels_from_base(channel_base: int, channel_max: int, resolution: int) -> dict[int, int]:
    """Feature maps per block resolution: ``min(channel_base // res, channel_max)`` for 4..resolution."""
    log2 = int(math.log2(resolution))
    return {2 ** i: min(channel_base // 2 ** i, channel_max) for i in range(2, log2 + 1)}


@dataclass(frozen=True)
class StyleGAN2Config:
    """Everything that fixes the generator's shapes and maths.

    Attributes:
        z_dim, w_dim, c_dim: latent, intermediate latent and label sizes (c_dim 0 = unconditional).
        resolution: output size R (a power of two >= 4); images are [N, img_channels, R, R].
        channels: feature maps per block resolution {4: C4, 8: C8, ..., R: CR}.
        mapping_layers: fully connected layers in the mapping network.
        mapping_lr: learning-rate multiplier of the mapping layers (scales stored weights at run time).
        embed_features, layer_features: label-embedding and hidden widths of the mapping (default w_dim).
        num_fp16_res: the highest resolutions that the original trained in fp16 (used only with half precision).
        conv_clamp: clamp of conv outputs (+-256 in the NVlabs training configs) or None.
        use_noise: whether the layers have noise inputs.
    """

    z_dim: int
    w_dim: int
    resolution: int
    channels: dict[int, int]
    c_dim: int = 0
    img_channels: int = 3
    mapping_layers: int = 8
    mapping_lr: float = 0.01
    embed_features: int | None = None
    layer_features: int | None = None
    num_fp16_res: int = 0
    conv_clamp: float | None = None
    use_noise: bool = True

    @property
    def block_resolutions(self) -> list[int]:
        return [2 ** i for i in range(2, int(math.log2(self.resolution)) + 1)]

    @property
    def num_ws(self) -> int:
        """w vectors the synthesis consumes: one per conv layer plus the last ToRGB (2 log2 R - 2)."""
        return 2 * int(math.log2(self.resolution)) - 2

    def with_(self, **changes: Any) -> StyleGAN2Config:
        return replace(self, **changes)


class FullyConnectedLayer(nn.Module):
    """Equalised-learning-rate linear layer: stored weight [out, in] is scaled by lr / sqrt(in) at run time."""

    def __init__(self, in_features: int, out_features: int, *, activation: str = "linear",
                 lr_multiplier: float = 1.0, bias_init: float = 0.0) -> None:
        super().__init__()
        self.activation = activation
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_multiplier)
        self.bias = nn.Parameter(torch.full([out_features], float(bias_init)))
        self.weight_gain = lr_multiplier / math.sqrt(in_features)
        self.bias_gain = lr_multiplier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [N, in] -> [N, out]."""
        w = self.weight.to(x.dtype) * self.weight_gain
        b = self.bias.to(x.dtype) * self.bias_gain
        if self.activation == "linear":
            return torch.addmm(b.unsqueeze(0), x, w.t())
        return bias_act(x.matmul(w.t()), b, self.activation)


class MappingNetwork(nn.Module):
    """z [N, z_dim] (+ one-hot c [N, c_dim]) -> w [N, w_dim]; ``w_avg`` [w_dim] is the truncation centre."""

    def __init__(self, cfg: StyleGAN2Config) -> None:
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim = cfg.z_dim, cfg.c_dim, cfg.w_dim
        embed = (cfg.embed_features or cfg.w_dim) if cfg.c_dim > 0 else 0
        hidden = cfg.layer_features or cfg.w_dim
        features = [cfg.z_dim + embed] + [hidden] * (cfg.mapping_layers - 1) + [cfg.w_dim]
        if cfg.c_dim > 0:
            self.embed = FullyConnectedLayer(cfg.c_dim, embed)
        self.num_layers = cfg.mapping_layers
        for i in range(cfg.mapping_layers):
            layer = FullyConnectedLayer(features[i], features[i + 1], activation="lrelu",
                                        lr_multiplier=cfg.mapping_lr)
            setattr(self, f"fc{i}", layer)
        self.register_buffer("w_avg", torch.zeros(cfg.w_dim))

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        parts = []
        if self.z_dim > 0:
            parts.append(normalize_2nd_moment(z.float()))
        if self.c_dim > 0:
            if c is None:
                raise ValueError("conditional mapping network needs labels c")
            parts.append(normalize_2nd_moment(self.embed(c.float())))
        x = torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        return x


def _resample_filter() -> torch.Tensor:
    """[4, 4] outer product of [1, 3, 3, 1], normalised to sum 1."""
    f = torch.tensor([1.0, 3.0, 3.0, 1.0])
    f = f[:, None] * f[None, :]
    return f / f.sum()


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv (+2x up) with demodulation, noise, bias, lrelu and optional clamp."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, *, up: bool,
                 use_noise: bool, conv_clamp: float | None) -> None:
        super().__init__()
        self.up, self.resolution, self.use_noise, self.conv_clamp = up, resolution, use_noise, conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 3, 3))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.register_buffer("resample_filter", _resample_filter())
        if use_noise:
            self.register_buffer("noise_const", torch.randn(resolution, resolution))
            self.noise_strength = nn.Parameter(torch.zeros([]))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str, fused: bool) -> torch.Tensor:
        """x [N, I, r', r'] (r' = r/2 when up), w [N, w_dim] -> [N, O, r, r]."""
        styles = self.affine(w)
        noise = None
        if self.use_noise and noise_mode == "random":
            noise = torch.randn(x.shape[0], 1, self.resolution, self.resolution, device=x.device) * self.noise_strength
        elif self.use_noise and noise_mode == "const":
            noise = self.noise_const * self.noise_strength
        x = modulated_conv2d(x, self.weight, styles, up=self.up, resample_filter=self.resample_filter,
                             noise=noise, fused=fused)
        return bias_act(x, self.bias.to(x.dtype), "lrelu", clamp=self.conv_clamp)


class ToRGBLayer(nn.Module):
    """Modulated 1x1 conv to RGB, no demodulation; styles scaled by 1/sqrt(in_channels)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, conv_clamp: float | None) -> None:
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.weight_gain = 1 / math.sqrt(in_channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor, fused: bool) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False, fused=fused)
        return bias_act(x, self.bias.to(x.dtype), "linear", clamp=self.conv_clamp)


class SynthesisBlock(nn.Module):
    """One resolution: (const | conv0 up) -> conv1 -> ToRGB, with the image upsampled and summed (skip)."""

    def __init__(self, in_channels: int, out_channels: int, cfg: StyleGAN2Config, resolution: int,
                 use_fp16: bool) -> None:
        super().__init__()
        self.in_channels, self.resolution, self.use_fp16 = in_channels, resolution, use_fp16
        self.register_buffer("resample_filter", _resample_filter())
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn(out_channels, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, cfg.w_dim, resolution, up=True,
                                        use_noise=cfg.use_noise, conv_clamp=cfg.conv_clamp)
        self.conv1 = SynthesisLayer(out_channels, out_channels, cfg.w_dim, resolution, up=False,
                                    use_noise=cfg.use_noise, conv_clamp=cfg.conv_clamp)
        self.torgb = ToRGBLayer(out_channels, cfg.img_channels, cfg.w_dim, cfg.conv_clamp)
        self.num_conv = 1 if in_channels == 0 else 2

    def forward(self, x: torch.Tensor | None, img: torch.Tensor | None, ws: torch.Tensor, noise_mode: str,
                half: bool, fused: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """ws [N, num_conv + 1, w_dim]; returns features [N, C, r, r] and the image [N, 3, r, r] (fp32)."""
        dtype = torch.float16 if (half and self.use_fp16) else torch.float32
        if fused is None:  # the official rule: one grouped conv unless a batch of half-precision activations
            fused = dtype == torch.float32 or ws.shape[0] == 1
        w_iter = iter(ws.unbind(dim=1))
        if self.in_channels == 0:
            x = self.const.to(dtype).unsqueeze(0).repeat(ws.shape[0], 1, 1, 1)
            x = self.conv1(x, next(w_iter), noise_mode, fused)
        else:
            x = self.conv0(x.to(dtype), next(w_iter), noise_mode, fused)
            x = self.conv1(x, next(w_iter), noise_mode, fused)
        if img is not None:
            img = upsample2d(img, self.resample_filter)
        y = self.torgb(x, next(w_iter), fused).float()
        img = y if img is None else img + y
        return x, img


class SynthesisNetwork(nn.Module):
    """w+ [N, num_ws, w_dim] -> raw image [N, img_channels, R, R] (about [-1, 1] for trained nets)."""

    def __init__(self, cfg: StyleGAN2Config) -> None:
        super().__init__()
        self.block_resolutions = cfg.block_resolutions
        log2 = int(math.log2(cfg.resolution))
        fp16_resolution = max(2 ** (log2 + 1 - cfg.num_fp16_res), 8)
        self.num_ws = cfg.num_ws
        for res in self.block_resolutions:
            in_channels = cfg.channels[res // 2] if res > 4 else 0
            block = SynthesisBlock(in_channels, cfg.channels[res], cfg, res,
                                   use_fp16=cfg.num_fp16_res > 0 and res >= fp16_resolution)
            setattr(self, f"b{res}", block)

    def forward(self, ws: torch.Tensor, noise_mode: str = "const", half: bool = False,
                fused: bool | None = None) -> torch.Tensor:
        """``half`` runs the fp16-flagged blocks in half precision; ``fused`` forces the modconv path."""
        ws = ws.float()
        x = img = None
        w_idx = 0
        for res in self.block_resolutions:
            block = getattr(self, f"b{res}")
            # a block's ToRGB shares its w with the next block's first conv
            x, img = block(x, img, ws.narrow(1, w_idx, block.num_conv + 1), noise_mode, half, fused)
            w_idx += block.num_conv
        return img


class StyleGAN2Network(nn.Module):
    """Mapping + synthesis, with the official state-dict layout."""

    def __init__(self, cfg: StyleGAN2Config) -> None:
        super().__init__()
        self.cfg = cfg
        self.mapping = MappingNetwork(cfg)
        self.synthesis = SynthesisNetwork(cfg)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
                truncation_cutoff: int | None = None, noise_mode: str = "const") -> torch.Tensor:
        """Convenience: z -> image, truncating like the official ``G(z, c, psi, cutoff)``."""
        w = self.mapping(z, c)
        ws = w.unsqueeze(1).repeat(1, self.cfg.num_ws, 1)
        ws = truncate_ws(ws, self.mapping.w_avg, truncation_psi, truncation_cutoff)
        return self.synthesis(ws, noise_mode)


def truncate_ws(ws: torch.Tensor, w_avg: torch.Tensor, psi: float, cutoff: int | None) -> torch.Tensor:
    """``w_avg + psi (ws - w_avg)`` on the first ``cutoff`` layers (all when None); ws [N, L, D]."""
    if psi == 1:
        return ws
    if cutoff is None:
        return w_avg.lerp(ws, psi)
    out = ws.clone()
    out[:, :cutoff] = w_avg.lerp(ws[:, :cutoff], psi)
    return out


def random_network(cfg: StyleGAN2Config, seed: int = 0) -> StyleGAN2Network:
    """A network with seeded random weights (tests, benchmarks).

    Unlike a fresh training init, biases, noise strengths and ``w_avg`` are non-zero so that noise
    and truncation have visible effects.
    """
    gen = torch.Generator().manual_seed(seed)
    net = StyleGAN2Network(cfg)
    with torch.no_grad():
        for name, tensor in list(net.named_parameters()) + list(net.named_buffers()):
            if name.endswith("resample_filter"):
                continue
            noise = torch.randn(tensor.shape, generator=gen)
            if name.endswith("weight") or name.endswith("const") or name.endswith("noise_const"):
                tensor.copy_(noise / cfg.mapping_lr if name.startswith("mapping.fc") else noise)
            elif name.endswith("affine.bias"):
                tensor.copy_(1.0 + 0.1 * noise)
            else:  # biases, noise strengths, w_avg
                tensor.copy_(0.1 * noise if not name.endswith("w_avg") else noise)
    return net.eval().requires_grad_(False)
