"""Training SGF's auxiliary mapping (MSE F(u, c) ~ u) and measuring what it learned."""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from sgfkit.progress import progress_task
from sgfkit_manipulators.aux_mapping import AuxMapping, FrozenAuxMapping
from sgfkit_manipulators.contractive_mapping import ContractiveMapping, FrozenContractiveMapping
from sgfkit_manipulators.mapping_ensemble import MappingEnsemble
from sgfkit_manipulators.sgf_solver import spectral_radius

#: below this relative condition dependence, F is reported as ignoring c (degenerate)
DEGENERATE_DEPENDENCE = 0.05


@dataclass
class TrainingResult:
    mapping: FrozenAuxMapping | FrozenContractiveMapping
    losses: list[float]
    seconds: float      # wall time of the optimisation loop (compilation included when asked)


def train_aux_mapping(u: torch.Tensor, c: torch.Tensor, num_layers: int, width: int, steps: int,
                      batch_size: int, lr: float, seed: int, kind: str = "contractive",
                      kappa: float = 0.5, schedule: str = "constant",
                      compile_model: bool = False, label: str = "F") -> TrainingResult:
    """Fit F on normalised latents u [N, d] and conditions c [N, k] with Adam and an MSE loss.

    ``kind``: "contractive" (:mod:`contractive_mapping`, ||dF/du|| <= kappa) or "paper" (AdaIN blocks).
    ``schedule``: "constant" lr, or "cosine" (decays to 0 over ``steps``: the last steps average out
    the batch noise that a constant lr leaves in the weights).
    ``compile_model``: run the training forward through ``torch.compile`` (benchmarks/bench_sgf_fit.py
    measures whether it pays; on a 2-core CPU it does not, see there).
    Returns the frozen mapping and the loss every 10 steps (progress shows the running loss).
    """
    torch.manual_seed(seed)
    if kind == "contractive":
        model: torch.nn.Module = ContractiveMapping(u.shape[1], c.shape[1], num_layers, width, kappa)
    else:
        model = AuxMapping(u.shape[1], c.shape[1], num_layers, width)
    model = model.to(u.device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps) if schedule == "cosine" else None
    gen = torch.Generator().manual_seed(seed)
    losses: list[float] = []
    model.train()
    forward = torch.compile(model) if compile_model else model
    start = time.perf_counter()
    with progress_task(f"Training SGF auxiliary mapping {label}", total=steps) as task:
        for step in range(steps):
            idx = torch.randint(0, len(u), (min(batch_size, len(u)),), generator=gen).to(u.device)
            loss = torch.nn.functional.mse_loss(forward(u[idx], c[idx]), u[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            task.advance()
            if step % 10 == 0 or step == steps - 1:
                losses.append(loss.item())
                task.update(loss=f"{losses[-1]:.4f}")
    return TrainingResult(model.frozen(), losses, time.perf_counter() - start)


def reconstruction_r2(recon: torch.Tensor, u: torch.Tensor) -> float:
    """1 - MSE(recon, u) / Var(u) for a reconstruction recon = F(u, c) [N, d] of latents u [N, d]."""
    variance = float(((u - u.mean(0)) ** 2).mean())
    return 1.0 - float(((recon - u) ** 2).mean()) / max(variance, 1e-12)


@torch.no_grad()
def diagnose(F: FrozenAuxMapping | FrozenContractiveMapping | MappingEnsemble, u: torch.Tensor, c: torch.Tensor, seed: int = 0) -> dict:
    """Reconstruction error, dependence on c and spectral radius of dF/du on held-out samples.

    Args:
        u: [N, d] normalised latents; c: [N, k] normalised conditions (not seen in training).

    Returns a JSON-able dict; ``warnings`` lists what the user should know (degenerate F,
    spectral radius >= 1 where the Neumann series need not converge).
    """
    gen = torch.Generator().manual_seed(seed)
    recon = F(u, c)
    shuffled = c[torch.randperm(len(c), generator=gen).to(c.device)]
    moved = (F(u, shuffled) - recon).norm(dim=1).mean()
    spread = (u - u.mean(0)).norm(dim=1).mean().clamp_min(1e-12)
    dependence = float(moved / spread)
    with torch.enable_grad():
        radius = spectral_radius(F, u, c, seed=seed)
    report = {
        "reconstruction_mse": float(((recon - u) ** 2).mean()),
        "reconstruction_r2": reconstruction_r2(recon, u),
        "condition_dependence": dependence,
        "spectral_radius_median": float(radius.median()),
        "spectral_radius_max": float(radius.max()),
        "spectral_radius_share_ge_1": float((radius >= 1).float().mean()),
        "spectral_radius_samples": len(radius),
        "warnings": [],
    }
    bound = F.lipschitz_bound() if hasattr(F, "lipschitz_bound") else None
    if bound is not None:
        report["lipschitz_bound"] = bound
    if dependence < DEGENERATE_DEPENDENCE:
        report["warnings"].append(
            f"F nearly ignores the conditions (shuffling c moves F by {dependence:.3f} of the latent spread, "
            f"below {DEGENERATE_DEPENDENCE}): SGF edits will barely move. Use more layers (layers_F) "
            "or more training steps")
    if report["spectral_radius_max"] >= 1.0:
        report["warnings"].append(
            f"spectral radius of dF/dz reaches {report['spectral_radius_max']:.2f} (>= 1) on "
            f"{100 * report['spectral_radius_share_ge_1']:.0f}% of held-out samples: the Neumann series "
            "may not converge there; consider mode: exact or a smaller step_size")
    return report
