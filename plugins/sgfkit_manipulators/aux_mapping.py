"""SGF's auxiliary mapping F(z, c) -> z: conditional linear blocks with AdaIN.

Block i: ``x_hat = (x - mean_f(x)) / (std_f(x) + eps)`` per sample over its features;
``(gamma, beta) = SN-Linear(k -> 2 * in_i)(c)``; ``h = (1 + gamma) * x_hat + beta``;
LeakyReLU(0.2); ``SN-Linear(in_i -> out_i)``. The last block outputs the latent size d.
F is strictly per-sample (no batch statistics), so its batched Jacobian is block-diagonal and
one ``torch.func.jvp`` on the whole batch yields every per-sample Jacobian-vector product.

Training uses the spectral-normalised :class:`AuxMapping`; editing uses :class:`FrozenAuxMapping`,
plain tensors with W / sigma(W) baked in, so forward-mode transforms see a pure function.
"""
from __future__ import annotations

import torch
import torch.nn.functional as nnf
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

EPS = 1e-5
SLOPE = 0.2


def adain(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """Per-sample feature normalisation of x [B, f], then per-feature scale/shift [B, f]."""
    mean = x.mean(dim=1, keepdim=True)
    std = x.std(dim=1, keepdim=True)
    return (1.0 + gamma) * ((x - mean) / (std + EPS)) + beta


class ConditionalLinearBlock(nn.Module):
    """AdaIN(x, c) -> LeakyReLU(0.2) -> SN-Linear(in_dim -> out_dim)."""

    def __init__(self, in_dim: int, out_dim: int, cond_dim: int) -> None:
        super().__init__()
        self.style = spectral_norm(nn.Linear(cond_dim, 2 * in_dim))
        self.linear = spectral_norm(nn.Linear(in_dim, out_dim))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.style(c).chunk(2, dim=1)
        return self.linear(nnf.leaky_relu(adain(x, gamma, beta), SLOPE))


class AuxMapping(nn.Module):
    """F(u [B, d], c [B, k]) -> [B, d]; ``num_layers`` blocks of hidden width ``width``."""

    def __init__(self, latent_dim: int, cond_dim: int, num_layers: int, width: int) -> None:
        super().__init__()
        dims = [latent_dim] + [width] * (num_layers - 1) + [latent_dim]
        self.blocks = nn.ModuleList(
            ConditionalLinearBlock(dims[i], dims[i + 1], cond_dim) for i in range(num_layers))
        self.latent_dim, self.cond_dim, self.num_layers, self.width = latent_dim, cond_dim, num_layers, width

    def forward(self, u: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        x = u
        for block in self.blocks:
            x = block(x, c)
        return x

    @torch.no_grad()
    def frozen(self) -> FrozenAuxMapping:
        """Plain-tensor copy with the current spectral-normalised weights baked in."""
        self.eval()
        tensors: dict[str, torch.Tensor] = {}
        for i, block in enumerate(self.blocks):
            for part in ("style", "linear"):
                layer = getattr(block, part)
                tensors[f"blocks.{i}.{part}.weight"] = layer.weight.detach().clone()
                tensors[f"blocks.{i}.{part}.bias"] = layer.bias.detach().clone()
        return FrozenAuxMapping(tensors, self.num_layers)


class FrozenAuxMapping:
    """F as a pure function of (u, c) over baked weights (safe inside torch.func transforms)."""

    def __init__(self, tensors: dict[str, torch.Tensor], num_layers: int) -> None:
        self.tensors = tensors
        self.num_layers = num_layers
        self.latent_dim = int(tensors["blocks.0.linear.weight"].shape[1])
        self.cond_dim = int(tensors["blocks.0.style.weight"].shape[1])

    def __call__(self, u: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        t = self.tensors
        x = u
        for i in range(self.num_layers):
            gamma, beta = nnf.linear(c, t[f"blocks.{i}.style.weight"], t[f"blocks.{i}.style.bias"]).chunk(2, dim=1)
            x = nnf.linear(nnf.leaky_relu(adain(x, gamma, beta), SLOPE),
                           t[f"blocks.{i}.linear.weight"], t[f"blocks.{i}.linear.bias"])
        return x

    def to(self, device: torch.device | str) -> FrozenAuxMapping:
        self.tensors = {k: v.to(device) for k, v in self.tensors.items()}
        return self

    @property
    def device(self) -> torch.device:
        return self.tensors["blocks.0.linear.weight"].device
