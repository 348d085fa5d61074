"""A contractive auxiliary mapping: F(u, c) whose Jacobian in u has norm <= ``kappa`` < 1 everywhere.

SGF's step ``(I - dF/du)^-1 dF/dc dc`` and its Neumann series assume F is a contraction in u; the
paper's AdaIN blocks do not guarantee it (normalising by a per-sample std has an unbounded slope).
Here the u-path is built only from 1-Lipschitz pieces, so the bound holds for every input:

    h_0 = u
    h_{i+1} = W_i leaky_relu(a_i(c) * h_i + b_i(c))     ||W_i||_2 <= 1, |a_i(c)| < 1 (tanh gains)
    F(u, c) = kappa * (s * u + (1 - s) * h_L) + g(c)     s in (0, 1) (sigmoid), 0 < kappa < 1

so ||dF/du||_2 <= kappa * (s + (1 - s)) = kappa and rho(dF/du) <= kappa. The condition enters
without limits through the gains a_i, the shifts b_i and the offset g(c) (a small MLP of c).
Why this recovers the right direction: for the linear part, F(u, c) = kappa u + g(c) trained on
MSE gives g(c) = (1 - kappa) E[u | c], and the fixed point u = g(c) / (1 - kappa) moves with c as
the conditional mean does.

Training uses torch's spectral-norm parametrisation; :meth:`ContractiveMapping.frozen` bakes the
weights and divides each W by max(1, exact ||W||_2), so the power-iteration estimate used during
training cannot leave a frozen W with norm above 1.
"""
from __future__ import annotations

import torch
import torch.nn.functional as nnf
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

SLOPE = 0.2
#: initial gain pre-activation: tanh(2) = 0.96, so F starts close to kappa * u
GAIN_BIAS = 2.0


class ContractiveMapping(nn.Module):
    """F(u [B, d], c [B, k]) -> [B, d] with ||dF/du|| <= kappa; ``num_layers`` blocks of width d."""

    def __init__(self, latent_dim: int, cond_dim: int, num_layers: int, width: int, kappa: float) -> None:
        super().__init__()
        if not 0.0 < kappa < 1.0:
            raise ValueError(f"kappa must lie in (0, 1), got {kappa}")
        dims = [latent_dim] + [width] * (num_layers - 1) + [latent_dim]
        self.linears = nn.ModuleList(spectral_norm(nn.Linear(dims[i], dims[i + 1])) for i in range(num_layers))
        self.styles = nn.ModuleList(nn.Linear(cond_dim, 2 * dims[i]) for i in range(num_layers))
        for style, d in zip(self.styles, dims):
            nn.init.normal_(style.weight, std=0.01)
            nn.init.zeros_(style.bias)
            with torch.no_grad():
                style.bias[:d] = GAIN_BIAS
        self.offset = nn.Sequential(nn.Linear(cond_dim, width), nn.LeakyReLU(SLOPE), nn.Linear(width, latent_dim))
        self.skip_logit = nn.Parameter(torch.zeros(()))
        self.latent_dim, self.cond_dim, self.num_layers, self.width, self.kappa = (
            latent_dim, cond_dim, num_layers, width, kappa)

    def forward(self, u: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return contractive_forward(self._weights(), self.num_layers, self.kappa, u, c)

    def _weights(self) -> dict[str, torch.Tensor]:
        t: dict[str, torch.Tensor] = {"skip_logit": self.skip_logit}
        for i in range(self.num_layers):
            t[f"linears.{i}.weight"], t[f"linears.{i}.bias"] = self.linears[i].weight, self.linears[i].bias
            t[f"styles.{i}.weight"], t[f"styles.{i}.bias"] = self.styles[i].weight, self.styles[i].bias
        for j in (0, 2):
            t[f"offset.{j}.weight"], t[f"offset.{j}.bias"] = self.offset[j].weight, self.offset[j].bias
        return t

    @torch.no_grad()
    def frozen(self) -> FrozenContractiveMapping:
        """Plain-tensor copy; every W is rescaled so that its exact spectral norm is <= 1."""
        self.eval()
        tensors = {k: v.detach().clone() for k, v in self._weights().items()}
        for i in range(self.num_layers):
            w = tensors[f"linears.{i}.weight"]
            tensors[f"linears.{i}.weight"] = w / torch.linalg.matrix_norm(w, ord=2).clamp_min(1.0)
        tensors["kappa"] = torch.tensor(self.kappa)
        return FrozenContractiveMapping(tensors, self.num_layers)


def contractive_forward(t: dict[str, torch.Tensor], num_layers: int, kappa: float | torch.Tensor,
                        u: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """The formula in the module docstring, over a dict of weights (shared by training and editing)."""
    h = u
    for i in range(num_layers):
        gain, shift = nnf.linear(c, t[f"styles.{i}.weight"], t[f"styles.{i}.bias"]).chunk(2, dim=1)
        h = nnf.linear(nnf.leaky_relu(torch.tanh(gain) * h + shift, SLOPE),
                       t[f"linears.{i}.weight"], t[f"linears.{i}.bias"])
    s = torch.sigmoid(t["skip_logit"])
    g = nnf.linear(nnf.leaky_relu(nnf.linear(c, t["offset.0.weight"], t["offset.0.bias"]), SLOPE),
                   t["offset.2.weight"], t["offset.2.bias"])
    return kappa * (s * u + (1 - s) * h) + g


class FrozenContractiveMapping:
    """The contractive F as a pure function of (u, c) over baked weights (safe in torch.func)."""

    kind = "contractive"

    def __init__(self, tensors: dict[str, torch.Tensor], num_layers: int) -> None:
        self.tensors = tensors
        self.num_layers = num_layers
        self.latent_dim = int(tensors["linears.0.weight"].shape[1])
        self.cond_dim = int(tensors["styles.0.weight"].shape[1])

    @property
    def kappa(self) -> float:
        return float(self.tensors["kappa"])

    def __call__(self, u: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return contractive_forward(self.tensors, self.num_layers, self.tensors["kappa"].to(u), u, c)

    def lipschitz_bound(self) -> float:
        """Upper bound of ||dF/du||_2 over all inputs, from the baked weights: kappa * (s + (1 - s) prod ||W_i||)."""
        s = float(torch.sigmoid(self.tensors["skip_logit"]))
        prod = 1.0
        for i in range(self.num_layers):
            prod *= float(torch.linalg.matrix_norm(self.tensors[f"linears.{i}.weight"], ord=2))
        return self.kappa * (s + (1 - s) * prod)

    def to(self, device: torch.device | str) -> FrozenContractiveMapping:
        self.tensors = {k: v.to(device) for k, v in self.tensors.items()}
        return self

    @property
    def device(self) -> torch.device:
        return self.tensors["linears.0.weight"].device
