"""Counterfactual twins: how an attribute encoder reads a change in one attribute of synth-faces.

An edit reads the encoder's *change* between two close renders, so an encoder whose scores are right
on average can still be wrong about which attribute moved, and then even a perfect edit step reads
as a leak into attributes that held. The world knows its truth exactly, so for a render at w we
build a twin ``w' = w + pinv(dtruth/dw)[:, j] * a`` in which (to first order) one attribute j moved
by a and the others held, and compare the encoder's change between the two renders with the truth's.
"""
from __future__ import annotations

from typing import Any

import torch

#: longest twin step in w (codes have norm ~9 at truncation 0.8; one edit step moves ~0.2): where an
#: attribute is saturated its gradient is tiny and the min-norm step would leave the data
MAX_STEP_NORM = 1.0


def truth_of_w(generator: Any, names: list[str], w: torch.Tensor) -> torch.Tensor:
    """Exact attributes [N, A] in [0, 1] of one-layer codes w [N, w_dim] (every layer the same)."""
    ws = w.unsqueeze(1).expand(-1, generator.num_ws, -1)
    scene = generator.scene(ws)
    return torch.stack([scene[name] for name in names], dim=1)


def counterfactual_codes(generator: Any, names: list[str], w: torch.Tensor, amount: float,
                         gen: torch.Generator) -> torch.Tensor:
    """Twin codes w' [N, w_dim]: the min-norm step that moves one random attribute by a ~ U(-amount, amount).

    ``w``: [N, w_dim] one-layer codes. The attribute and the amount are drawn per sample from ``gen``;
    the step comes from the truth's own Jacobian, so the other attributes hold to first order (their
    exact values at w' tell how well). Steps longer than :data:`MAX_STEP_NORM` are shortened to it
    (the attribute then moves less than asked).
    """
    n, k = len(w), len(names)
    x = w.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        out = truth_of_w(generator, names, x)
        jac = torch.stack([torch.autograd.grad(out[:, j].sum(), x, retain_graph=j < k - 1)[0]
                           for j in range(k)], dim=1)                                   # [N, A, w_dim]
    attribute = torch.randint(0, k, (n,), generator=gen)
    shift = (torch.rand(n, generator=gen) * 2 - 1) * amount
    dc = torch.zeros(n, k).scatter_(1, attribute.unsqueeze(1), shift.unsqueeze(1))
    dw = (torch.linalg.pinv(jac) @ dc.unsqueeze(2)).squeeze(2)
    dw = dw * (MAX_STEP_NORM / dw.norm(dim=1, keepdim=True).clamp_min(MAX_STEP_NORM))
    return (w + dw).detach()


def twin_reading(encoder: Any, generator: Any, w: torch.Tensor, amount: float = 0.15,
                 seed: int = 0) -> dict[str, Any]:
    """How an attribute encoder reads counterfactual twins of the renders of codes w [N, w_dim].

    Returns medians over the samples: ``leak`` = |read change on the attributes the twin held| /
    |read change on the one that moved| (what a perfect edit step leaks through this encoder; 0 is
    ideal), ``sign_agreement``, the share of twins whose moved attribute is read moving the right way,
    and ``leak_by_attribute``, the median leak per moved attribute (where at least 5 twins moved it).
    ``encoder.names`` must be truth attribute names.
    """
    from sgfkit.latents import Latents

    names = list(encoder.names)
    twin = counterfactual_codes(generator, names, w, amount, torch.Generator().manual_seed(seed))
    with torch.no_grad():
        true = truth_of_w(generator, names, twin) - truth_of_w(generator, names, w)
        read = (encoder.measure(generator, Latents(twin, "w")) - encoder.measure(generator, Latents(w, "w"))).to(true)
    moved = true.abs().argmax(dim=1, keepdim=True)
    on_moved = read.gather(1, moved).squeeze(1)
    leak = read.scatter(1, moved, 0.0).norm(dim=1) / on_moved.abs().clamp_min(1e-6)
    agree = torch.sign(on_moved) == torch.sign(true.gather(1, moved).squeeze(1))
    moved = moved.squeeze(1)
    by_attribute = {name: round(float(leak[moved == j].median()), 3) for j, name in enumerate(names)
                    if int((moved == j).sum()) >= 5}
    return {"leak": float(leak.median()), "sign_agreement": float(agree.float().mean()), "samples": len(w),
            "leak_by_attribute": by_attribute}
