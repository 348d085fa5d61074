"""The SGF direction (I - dF/du)^-1 dF/dc dc and its diagnostics, for a batch of samples.

``F`` is any per-sample function (u [B, d], c [B, k]) -> [B, d] (see aux_mapping). Because it has
no cross-sample operations, its batched Jacobian is block-diagonal: one forward-mode
``torch.func.jvp`` with batched tangents gives every sample's Jacobian-vector product at once.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch.func import jacfwd, jvp, vmap

AuxFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def neumann_direction(F: AuxFn, u: torch.Tensor, c: torch.Tensor, dc: torch.Tensor, order: int = 1) -> torch.Tensor:
    """Order-m Neumann approximation of the SGF step, ``sum_{j<=m} J_u^j J_c dc`` -> [B, d].

    Args:
        u: [B, d] latents (F's units); c: [B, k] conditions (F's units); dc: [B, k] condition step.
        order: m >= 0; m + 1 JVPs in all, never a dense Jacobian.
    """
    _, v = jvp(lambda cc: F(u, cc), (c,), (dc,))
    total = v
    for _ in range(order):
        _, v = jvp(lambda uu: F(uu, c), (u,), (v,))
        total = total + v
    return total


def per_sample_direction(F: AuxFn, u: torch.Tensor, c: torch.Tensor, dc: torch.Tensor, order: int = 1) -> torch.Tensor:
    """Same result as :func:`neumann_direction`, one sample at a time (the benchmark's baseline)."""
    return torch.cat([neumann_direction(F, u[i:i + 1], c[i:i + 1], dc[i:i + 1], order) for i in range(len(u))])


def jacobians(F: AuxFn, u: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Dense per-sample Jacobians: J_u [B, d, d] and J_c [B, d, k] (forward mode, vmapped)."""
    def single(uu: torch.Tensor, cc: torch.Tensor) -> torch.Tensor:
        return F(uu[None], cc[None])[0]
    return vmap(jacfwd(single, argnums=(0, 1)))(u, c)


def exact_direction(F: AuxFn, u: torch.Tensor, c: torch.Tensor, dc: torch.Tensor) -> torch.Tensor:
    """The step with the inverse solved exactly: (I - J_u)^-1 J_c dc -> [B, d] (dense; small batches)."""
    j_u, j_c = jacobians(F, u, c)
    eye = torch.eye(u.shape[1], dtype=u.dtype, device=u.device)
    rhs = torch.einsum("bdk,bk->bd", j_c, dc)
    return torch.linalg.solve(eye - j_u, rhs)


def spectral_radius(F: AuxFn, u: torch.Tensor, c: torch.Tensor, iterations: int = 30, seed: int = 0) -> torch.Tensor:
    """Power-iteration estimate of the spectral radius of dF/du per sample -> [B].

    Uses JVPs only. The estimate is the geometric mean growth rate over the second half of the
    iterations, which also settles when the dominant eigenvalues are a complex pair.
    """
    gen = torch.Generator().manual_seed(seed)
    v = torch.randn(u.shape, generator=gen).to(u)
    v = v / v.norm(dim=1, keepdim=True)
    logs = []
    for _ in range(iterations):
        _, w = jvp(lambda uu: F(uu, c), (u,), (v,))
        norm = w.norm(dim=1, keepdim=True).clamp_min(1e-30)
        logs.append(norm.squeeze(1).log())
        v = w / norm
    tail = torch.stack(logs[iterations // 2:])
    return tail.mean(dim=0).exp()

