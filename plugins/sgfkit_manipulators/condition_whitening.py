"""The condition units SGF's F works in: per-dim standardising, or whitening by PCA of the training conditions.

F sees ``cn = (c - mean) @ P`` with P [k, k]:

- ``std``: P = diag(1 / std), each dim on its own scale, correlations kept (stored as ``c_std``);
- ``pca``: P = V_r diag(1 / sqrt(lambda_r)), the principal axes of the condition covariance with
  the eigenvalues ``lambda_r`` that carry signal (``lambda >= RELATIVE_FLOOR * lambda_max``), so cn
  has identity covariance; the other k - r columns are zero (F's inputs there stay 0). Correlated attributes (bald and beard both follow masculinity) stop
  sharing one input direction, and a 384-d caption embedding that lives on a few dozen axes gives
  F r informative inputs instead of 384 nearly collinear ones.

A condition step maps linearly: ``dcn = dc @ P``. Dropped axes carry no variance in the training
data, so F could not respond to them anyway. With every axis kept, P is invertible (``unwhiten``).

Saved with F: ``c_mean`` [k] and ``c_std`` [k] (std, the layout SGF states always had) or ``c_proj``
[k, k] (pca).
"""
from __future__ import annotations

import torch

#: per-dim std floor (constant dims would explode); also the floor of sqrt(eigenvalue)
MIN_COND_STD = 1e-3
#: PCA keeps the axes whose variance is at least this share of the largest one
RELATIVE_FLOOR = 1e-4
MODES = ("std", "pca")


def fit_condition_transform(c: torch.Tensor, mode: str) -> dict[str, torch.Tensor]:
    """Fit the transform on conditions c [N, k]: ``c_mean`` [k] and ``c_std`` [k] (std) or ``c_proj`` [k, k] (pca)."""
    if mode == "std":   # in float, as SGF always did, so attribute and keypoint fits are unchanged
        return {"c_mean": c.mean(0), "c_std": c.std(0).clamp_min(MIN_COND_STD)}
    c = c.double()
    mean = c.mean(0)
    if mode == "pca":
        centred = c - mean
        cov = centred.T @ centred / max(len(c) - 1, 1)
        evals, evecs = torch.linalg.eigh(cov)                 # ascending
        evals, evecs = evals.flip(0), evecs.flip(1)
        keep = evals >= max(float(evals[0]) * RELATIVE_FLOOR, MIN_COND_STD ** 2)
        keep[0] = True                                        # at least one axis, even for constant c
        # dropped axes become zero columns: F keeps k inputs (so shapes match c everywhere), those stay 0
        proj = torch.where(keep, evecs / evals.clamp_min(MIN_COND_STD ** 2).sqrt(), torch.zeros_like(evecs))
    else:
        raise ValueError(f"condition transform must be one of {', '.join(MODES)}, got {mode!r}")
    return {"c_mean": mean.float(), "c_proj": proj.float()}


def whiten(c: torch.Tensor, norm: dict[str, torch.Tensor]) -> torch.Tensor:
    """Conditions c [N, k] (encoder units) -> F's units [N, k]."""
    if "c_proj" not in norm:   # std (also every state saved before whitening existed)
        return (c - norm["c_mean"].to(c)) / norm["c_std"].to(c)
    return (c - norm["c_mean"].to(c)) @ norm["c_proj"].to(c)


def whiten_step(dc: torch.Tensor, norm: dict[str, torch.Tensor]) -> torch.Tensor:
    """A condition change dc [N, k] (encoder units) -> F's units [N, k] (no mean: it is a difference)."""
    if "c_proj" not in norm:
        return dc / norm["c_std"].to(dc)
    return dc @ norm["c_proj"].to(dc)


def unwhiten(cn: torch.Tensor, norm: dict[str, torch.Tensor]) -> torch.Tensor:
    """F's units [N, k] -> encoder units [N, k]; exact on the kept axes (everywhere when r = k)."""
    if "c_proj" not in norm:
        return cn * norm["c_std"].to(cn) + norm["c_mean"].to(cn)
    proj = norm["c_proj"].to(cn)
    return cn @ torch.linalg.pinv(proj) + norm["c_mean"].to(cn)


def kept_axes(norm: dict[str, torch.Tensor]) -> int:
    """How many condition axes F sees (r; k for ``std``)."""
    proj = norm.get("c_proj")
    return len(norm["c_std"]) if proj is None else int((proj.abs().sum(0) > 0).sum())
