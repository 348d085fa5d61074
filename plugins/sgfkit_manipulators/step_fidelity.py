"""Step fidelity: does one edit step change the measured conditions the way it was asked to?

For held-out samples z with conditions c = C(G(z)) and a small target change dc (nonzero on a
few target dims only), a method proposes a latent step dz; we render and measure
``dc_real = C(G(z + dz)) - c`` and report, as medians over the samples:

- ``cosine``: cos(dc_real[T], dc[T]) on the target dims T (1 = moved exactly the asked way);
- ``gain``: |dc_real[T]| / |dc[T]| (1 = moved exactly as far as asked);
- ``leak``: |dc_real[other dims]| / |dc_real[T]| (0 = nothing else changed; absent for embeddings,
  where every dim is a target);
- ``unchanged``: the share of samples whose reading did not change at all (a discrete reader, such as
  a captioner, until the image has changed enough).

Targets are realistic: T is a random pair of dims (every dim for embeddings) and dc moves c on T a
``step_size`` fraction of the way to another held-out sample's values, so it stays inside the data.

A discrete reader (a captioner) cannot move a fraction of the way: its reading changes by whole facts or
not at all. For encoders that say what their smallest change is (:meth:`ConditionEncoder.smallest_changes`,
e.g. one fact of the caption replaced), :func:`aspect_step_fidelity` takes one step the whole way to it and
counts aspects (facts): how often the asked one changed, how many others changed with it, and how often the
new reading is exactly the target.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from sgfkit.components import ConditionEncoder, Generator
from sgfkit.latents import Latents

#: (latents [N, d], conditions [N, k], dc [N, k]) -> latent step dz [N, d]
StepFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
#: target dims per sample for non-embedding conditions
TARGET_DIMS = 2


def fidelity_targets(c: torch.Tensor, kind: str, step_size: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Target masks [N, k] (bool) and condition steps dc [N, k] (zero off the mask) for conditions c [N, k]."""
    gen = torch.Generator().manual_seed(seed)
    n, k = c.shape
    if kind == "embedding" or k <= TARGET_DIMS:
        mask = torch.ones(n, k, dtype=torch.bool)
    else:
        picks = torch.rand(n, k, generator=gen).argsort(dim=1)[:, :TARGET_DIMS]
        mask = torch.zeros(n, k, dtype=torch.bool).scatter_(1, picks, True)
    partner = (torch.arange(n) + torch.randint(1, n, (n,), generator=gen)) % n   # never the sample itself
    dc = step_size * (c[partner] - c) * mask
    return mask, dc


def fidelity_stats(dc: torch.Tensor, real: torch.Tensor, mask: torch.Tensor) -> dict[str, float | None]:
    t_dc, t_real = dc * mask, real * mask
    others = real * ~mask
    asked = t_dc.norm(dim=1)
    ok = asked > 1e-8
    cos = torch.nn.functional.cosine_similarity(t_real[ok], t_dc[ok], dim=1)
    gain = t_real[ok].norm(dim=1) / asked[ok]
    # a discrete reader (a captioner) often reads exactly what it read before: then the step's size is unknown
    unchanged = (real[ok] == 0).all(dim=1).float().mean() if bool(ok.any()) else torch.tensor(0.0)
    out: dict[str, float | None] = {"cosine": float(cos.median()), "gain": float(gain.median()),
                                    "leak": None, "samples": int(ok.sum()), "unchanged": float(unchanged)}
    if bool((~mask).any()):
        out["leak"] = float((others[ok].norm(dim=1) / t_real[ok].norm(dim=1).clamp_min(1e-12)).median())
    return out


@torch.no_grad()
def step_fidelity(steps: dict[str, StepFn], generator: Generator, encoder: ConditionEncoder,
                  latents: torch.Tensor, space: str, conditions: torch.Tensor, step_size: float,
                  seed: int = 0) -> dict[str, dict[str, float | None]]:
    """Cosine, gain and leak (medians) of one step of each method in ``steps``, on the same targets.

    Args:
        latents: [N, d] held-out codes in ``space`` ("z" or "w"); conditions: [N, k] = C(G(latents)).
    """
    mask, dc = fidelity_targets(conditions.float().cpu(), encoder.condition_kind, step_size, seed)
    mask, dc = mask.to(conditions.device), dc.to(conditions)
    results = {}
    for name, step in steps.items():
        with torch.enable_grad():
            dz = step(latents, conditions, dc).detach()
        moved = encoder.measure(generator, Latents(latents + dz, space)).to(conditions)
        results[name] = fidelity_stats(dc, moved - conditions, mask)
    return results


def linear_step(normals: torch.Tensor, latents: torch.Tensor, conditions: torch.Tensor) -> StepFn:
    """A step along per-dim unit normals [k, d], each scaled by how far c_j moves per latent unit.

    The slope of c_j against the projection on normal j is fitted by least squares on the given
    latents [N, d] and conditions [N, k], so ``dz = sum_j dc_j / slope_j * n_j`` (InterFaceGAN's
    direction with the step length a user would have to find by hand).
    """
    proj = (latents - latents.mean(0)) @ normals.T.to(latents)                   # [N, k]
    cc = conditions - conditions.mean(0)
    slope = (proj * cc).sum(0) / (proj * proj).sum(0).clamp_min(1e-12)         # [k]
    slope = torch.where(slope.abs() < 1e-6, torch.full_like(slope, np.inf), slope)

    def step(_lat: torch.Tensor, _c: torch.Tensor, dc: torch.Tensor) -> torch.Tensor:
        return (dc / slope.to(dc)) @ normals.to(dc)
    return step


@torch.no_grad()
def aspect_step_fidelity(steps: dict[str, StepFn], generator: Generator, encoder: ConditionEncoder,
                         latents: torch.Tensor, space: str, conditions: torch.Tensor,
                         seed: int = 0) -> dict[str, Any] | None:
    """One step the whole way to each sample's smallest expressible change, per method in ``steps``; ``None``
    when the encoder has no such changes (continuous conditions).

    Args:
        latents: [N, d] held-out codes in ``space``; conditions: [N, k] their readings (from the dataset).
            For an encoder with smallest changes they are measured again here, so that the encoder knows
            each reading (a caption reader rewrites the caption behind it; a cached dataset's are unknown).

    Returns, per method: ``cosine`` / ``gain`` / ``unchanged`` as :func:`fidelity_stats` on dc = c1 - c;
    ``asked_changed`` (share of samples whose asked aspect changed), ``exact`` (share whose new reading is the
    target c1: the asked aspect took the asked value and nothing else changed), ``other_aspects`` (mean number
    of other aspects that changed) and ``leak`` (other aspects changed per asked aspect changed, summed over
    the samples: the leak of the step-fidelity goal counted in aspects).
    """
    # ask on one row first: a continuous encoder says None, and its readings need no second measuring
    if encoder.smallest_changes(conditions[:1], seed) is None:
        return None
    c = encoder.measure(generator, Latents(latents, space)).to(latents.device)
    specs = encoder.smallest_changes(c, seed) or []
    c1 = torch.cat([encoder.target(spec, c[i:i + 1]) for i, spec in enumerate(specs)]).to(c)
    asked = [set(encoder.target_aspects(spec)) for spec in specs]
    dc = c1 - c
    mask = torch.ones_like(c, dtype=torch.bool)
    results: dict[str, Any] = {}
    for name, step in steps.items():
        with torch.enable_grad():
            dz = step(latents, c, dc).detach()
        moved = encoder.measure(generator, Latents(latents + dz, space)).to(c)
        stats: dict[str, Any] = fidelity_stats(dc, moved - c, mask)
        changes = {k: v.cpu() > 0 for k, v in encoder.aspect_changes(c, moved).items() if k != "caption"}
        hit = [any(bool(changes[a][i]) for a in wanted if a in changes) for i, wanted in enumerate(asked)]
        others = [sum(bool(v[i]) for k, v in changes.items() if k not in wanted) for i, wanted in enumerate(asked)]
        exact = encoder.distance(moved, c1, []).cpu() <= 1e-5
        n = max(1, len(specs))
        stats.update({"asked_changed": sum(hit) / n, "exact": float(exact.float().mean()),
                      "other_aspects": sum(others) / n, "leak": sum(others) / sum(hit) if any(hit) else None})
        results[name] = stats
    return results
