"""SGF manipulator (Li, Jin, Zhu, CVPR 2021): follow the surrogate gradient field of F.

Each Euler step adds ``(I - dF/dz)^-1 dF/dc dc`` with ``dc = step_size * (c1 - c0)`` computed once
(order-m Neumann series by batched forward-mode JVPs), then re-measures ``c = C(G(z))`` for the
samples still running. A sample stops on its own when its targeted dims are within ``tolerance``
(``encoder.distance``), when its error rises for 2 steps in a row (it goes back to its best step),
when its latent becomes non-finite (it keeps its last finite value), or at ``max_steps``.

Strength (for sweeps) = the maximum number of steps T. F works in normalised units: latents
``(z - mean) / scale`` with one scalar scale (keeps the geometry), conditions standardised per dim
so attribute scores, pixel keypoints and unit embeddings train together.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from sgfkit.components import ConditionEncoder, EditRequest, EditResult, Generator, Manipulator
from sgfkit.dataset import LatentDataset
from sgfkit.errors import ComponentError
from sgfkit.latents import Latents
from sgfkit.params import Param
from sgfkit_manipulators.aux_mapping import FrozenAuxMapping
from sgfkit_manipulators.contractive_mapping import FrozenContractiveMapping
from sgfkit_manipulators.latent_edit import apply_offset, check_dim, working_vector
from sgfkit_manipulators.sgf_solver import exact_direction, neumann_direction, spectral_radius
from sgfkit_manipulators.sgf_training import diagnose, train_aux_mapping

#: smallest per-dim condition std used for standardising (constant dims would explode)
MIN_COND_STD = 1e-3
#: share of the dataset held out for the fit report
HOLDOUT = 0.1


class SGF(Manipulator):
    """Surrogate Gradient Field editing for any condition kind the encoder offers."""

    params: ClassVar[dict[str, Param]] = {
        "F": Param(str, "contractive", "auxiliary mapping: contractive (||dF/dz|| <= contraction for every input, "
                   "so the Neumann series converges) or paper (AdaIN blocks, no such guarantee)",
                   choices=("contractive", "paper")),
        "contraction": Param(float, 0.5, "contractive F: bound kappa on ||dF/dz|| (and so on its spectral radius)",
                             min=0.05, max=0.99),
        "layers_F": Param(int, None, "conditional linear blocks of F (default: 6 in z space, 15 in w / w+)",
                          nullable=True, min=1),
        "width": Param(int, None, "hidden width of F (default: the latent size)", nullable=True, min=4),
        "train_steps": Param(int, 3000, "Adam steps to train F", min=1),
        "batch_size": Param(int, 256, "training batch size", min=1),
        "lr": Param(float, 2e-4, "Adam learning rate", min=0.0),
        "step_size": Param(float, 0.2, "Euler step eta: dc = eta * (c1 - c0)", min=1e-6, max=1.0),
        "neumann_order": Param(int, 1, "order m of the Neumann series of (I - dF/dz)^-1", min=0, max=64),
        "max_steps": Param(int, 60, "maximum Euler steps T (adaptive / exact modes)", min=1),
        "tolerance": Param(float, 0.05, "stop when encoder.distance(c, c1, target dims) <= tolerance", min=0.0),
        "mode": Param(str, "adaptive", "adaptive: Algorithm 1; fast: c <- c + dc without re-measuring, "
                      "1/eta steps; exact: dense Jacobian + solve (small batches)",
                      choices=("adaptive", "fast", "exact")),
        "seed": Param(int, 0, "seed of F's initialisation and batches"),
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.F: FrozenAuxMapping | FrozenContractiveMapping | None = None
        self.norm: dict[str, torch.Tensor] = {}
        self.report: dict[str, Any] = {}

    # -- fitting ------------------------------------------------------------------------------
    def fit_params(self) -> dict[str, Any]:
        return {k: v for k, v in self.params.items()
                if k not in ("label", "strengths", "step_size", "neumann_order", "max_steps", "tolerance", "mode")}

    def fit(self, dataset: LatentDataset, generator: Generator, encoder: ConditionEncoder) -> dict[str, Any]:
        """Train F on (dataset.latents, dataset.conditions); return the report (see sgf_training.diagnose)."""
        if len(dataset) < 10:
            raise ComponentError(f"SGF needs at least 10 samples to fit F, got {len(dataset)}; raise dataset.samples")
        z, c = dataset.latents.float(), dataset.conditions.float()
        if not (torch.isfinite(z).all() and torch.isfinite(c).all()):
            raise ComponentError("the SGF training set holds NaN/inf latents or conditions; check the encoder")
        lat_mean = z.mean(0)
        self.norm = {"lat_mean": lat_mean, "lat_scale": (z - lat_mean).std().reshape(1),
                     "c_mean": c.mean(0), "c_std": c.std(0).clamp_min(MIN_COND_STD)}
        u, cn = self._norm_u(z), self._norm_c(c)
        gen = torch.Generator().manual_seed(self.params["seed"])
        order = torch.randperm(len(u), generator=gen)
        n_hold = max(1, int(len(u) * HOLDOUT))
        hold, train = order[:n_hold], order[n_hold:]
        layers = self.params["layers_F"] or (6 if dataset.space == "z" else 15)
        width = self.params["width"] or u.shape[1]
        result = train_aux_mapping(u[train], cn[train], layers, width, self.params["train_steps"],
                                   self.params["batch_size"], self.params["lr"], self.params["seed"],
                                   kind=self.params["F"], kappa=self.params["contraction"])
        self.F = result.mapping
        report = diagnose(self.F, u[hold], cn[hold], seed=self.params["seed"])
        report.update({"F": self.params["F"], "layers_F": layers, "width": width, "space": dataset.space,
                       "train_samples": len(train), "heldout_samples": n_hold,
                       "final_train_loss": result.losses[-1], "loss_curve": result.losses[:: max(1, len(result.losses) // 50)],
                       "condition_names": list(dataset.condition_names)})
        for message in report["warnings"]:
            warnings.warn(f"SGF: {message}", stacklevel=2)
        self.report = report
        return report

    def _norm_u(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self.norm["lat_mean"].to(z)) / self.norm["lat_scale"].to(z)

    def _norm_c(self, c: torch.Tensor) -> torch.Tensor:
        return (c - self.norm["c_mean"].to(c)) / self.norm["c_std"].to(c)

    def _require_fitted(self) -> FrozenAuxMapping | FrozenContractiveMapping:
        if self.F is None:
            raise ComponentError(f"{self.label} is not fitted: call fit(dataset, generator, encoder) or load(path) first")
        return self.F

    # -- diagnostics ----------------------------------------------------------------------------
    def spectral_radius(self, latents: torch.Tensor, conditions: torch.Tensor, iterations: int = 30) -> torch.Tensor:
        """Power-iteration estimate of rho(dF/dz) [N] at latents [N, d] and conditions [N, k]."""
        F = self._require_fitted()
        return spectral_radius(F, self._norm_u(latents.float()), self._norm_c(conditions.float()), iterations)

    def direction(self, latents: torch.Tensor, conditions: torch.Tensor, dc: torch.Tensor,
                  exact: bool = False) -> torch.Tensor:
        """One SGF step in latent units [N, d] for latents [N, d], conditions and dc [N, k] (encoder units)."""
        F = self._require_fitted()
        u, cn = self._norm_u(latents.float()), self._norm_c(conditions.float())
        dcn = dc.float() / self.norm["c_std"].to(dc)
        du = exact_direction(F, u, cn, dcn) if exact else neumann_direction(F, u, cn, dcn, self.params["neumann_order"])
        return du * self.norm["lat_scale"].to(du)

    # -- editing --------------------------------------------------------------------------------
    @property
    def default_strengths(self) -> list[float]:
        if self.params.get("strengths"):
            return list(self.params["strengths"])
        if self.params["mode"] == "fast":
            return [float(s) for s in range(1, self._fast_steps() + 1)]
        grid = [1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100]
        return [float(s) for s in grid if s <= self.params["max_steps"]]

    def _fast_steps(self) -> int:
        return max(1, round(1.0 / self.params["step_size"]))

    def edit(self, request: EditRequest, generator: Generator, encoder: ConditionEncoder) -> EditResult:
        fast = self.params["mode"] == "fast"
        default = self._fast_steps() if fast else self.params["max_steps"]
        steps = default if request.strength is None else int(round(request.strength))
        run = self._run(request, generator, encoder, steps)
        path = [self._compose(request, run["start"], vec) for vec in run["snapshots"]]
        conditions = run["conditions"]
        if fast:  # one render at the end, for the report
            conditions = encoder.measure(generator, path[-1]).to(conditions)
        return EditResult(path[-1], path, run["steps"], run["status"], conditions,
                          {"mode": self.params["mode"], "final_error": run["error"].tolist()})

    def edit_sweep(self, request: EditRequest, strengths: Sequence[float], generator: Generator,
                   encoder: ConditionEncoder) -> list[Latents]:
        """One run with T = max(strengths); the latents after each strength's step count."""
        counts = [int(round(s)) for s in strengths]
        if any(s < 0 for s in counts):
            raise ComponentError(f"SGF strengths are step counts and must be >= 0, got {list(strengths)}")
        run = self._run(request, generator, encoder, max(counts, default=0))
        snaps = run["snapshots"]
        return [self._compose(request, run["start"], snaps[min(s, len(snaps) - 1)]) for s in counts]

    def _compose(self, request: EditRequest, start: torch.Tensor, vec: torch.Tensor) -> Latents:
        return apply_offset(request.latents, request.layers, vec - start)

    def _run(self, request: EditRequest, generator: Generator, encoder: ConditionEncoder, max_steps: int) -> dict:
        """Algorithm 1 on the whole batch with per-sample stopping; snapshots[t] = vectors after t steps."""
        F = self._require_fitted()
        latents = request.latents
        latents.check_finite("SGF input latents")
        check_dim(latents, F.latent_dim, self.label)
        c0, c1 = request.c0.float(), request.c1.float()
        if c0.shape != c1.shape or c0.shape != (len(latents), F.cond_dim):
            raise ComponentError(
                f"{self.label} expects c0 and c1 of shape [{len(latents)}, {F.cond_dim}] (the conditions it was "
                f"fitted on), got {list(c0.shape)} and {list(c1.shape)}; use the encoder the manipulator was fitted with")
        if not (torch.isfinite(c0).all() and torch.isfinite(c1).all()):
            raise ComponentError("SGF got NaN/inf in c0 or c1; check the encoder output and the target")
        mode, tol, dims = self.params["mode"], self.params["tolerance"], request.target_dims
        start = working_vector(latents, request.layers).float()
        z, c = start.clone(), c0.clone()
        dc = self.params["step_size"] * (c1 - c0)
        n = len(z)
        err = encoder.distance(c0, c1, dims).float()
        best_z, best_err = z.clone(), err.clone()
        rises = torch.zeros(n, dtype=torch.long)
        steps = torch.zeros(n, dtype=torch.long)
        status = ["max_steps" if mode != "fast" else "done"] * n
        active = torch.ones(n, dtype=torch.bool)
        if mode != "fast":
            for i in (err <= tol).nonzero().flatten().tolist():
                status[i], active[i] = "converged", False
        snapshots = [z.clone()]
        for t in range(1, max_steps + 1):
            idx = active.nonzero().flatten()
            if len(idx) == 0:
                snapshots.extend(z.clone() for _ in range(max_steps - t + 1))
                break
            with torch.enable_grad():
                step = self.direction(z[idx], c[idx], dc[idx], exact=mode == "exact").detach()
            new = z[idx] + step
            finite = torch.isfinite(new).all(dim=1)
            for i in idx[~finite].tolist():
                status[i], active[i] = "non-finite", False
            good = idx[finite]
            z[good], steps[good] = new[finite], t
            if mode == "fast":
                c[good] = c[good] + dc[good]
            elif len(good):
                self._measure_and_stop(request, generator, encoder, start, z, c, good, err, best_z, best_err,
                                       rises, status, active)
            snapshots.append(z.clone())
        return {"start": start, "snapshots": snapshots, "steps": steps, "status": status,
                "conditions": c, "error": err}

    def _measure_and_stop(self, request, generator, encoder, start, z, c, good, err, best_z, best_err,
                          rises, status, active) -> None:
        """Re-measure c for the running samples ``good`` only and apply the stopping rules in place."""
        part = EditRequest(request.latents.index(good), request.c0[good], request.c1[good],
                           request.target_dims, request.layers)
        measured = encoder.measure(generator, self._compose(part, start[good], z[good])).float().to(c)
        bad = ~torch.isfinite(measured).all(dim=1)
        e = encoder.distance(measured, request.c1[good].float(), request.target_dims).float()
        for j, i in enumerate(good.tolist()):
            if bool(bad[j]):
                status[i], active[i] = "non-finite", False
                z[i] = best_z[i]
                continue
            c[i] = measured[j]
            rises[i] = rises[i] + 1 if e[j] > err[i] else 0
            err[i] = e[j]
            if e[j] < best_err[i]:
                best_err[i], best_z[i] = e[j], z[i]
            if e[j] <= self.params["tolerance"]:
                status[i], active[i] = "converged", False
            elif rises[i] >= 2:
                status[i], active[i] = "diverging", False
                z[i], err[i] = best_z[i], best_err[i]

    # -- state ----------------------------------------------------------------------------------
    def to(self, device: torch.device | str) -> SGF:
        super().to(device)
        if self.F is not None:
            self.F.to(device)
        self.norm = {k: v.to(device) for k, v in self.norm.items()}
        return self

    def state_tensors(self) -> dict[str, torch.Tensor]:
        F = self._require_fitted()
        return {**{f"F.{k}": v for k, v in F.tensors.items()}, **{f"norm.{k}": v for k, v in self.norm.items()}}

    def state_meta(self) -> dict[str, Any]:
        F = self._require_fitted()
        kind = "contractive" if isinstance(F, FrozenContractiveMapping) else "paper"
        return {"num_layers": F.num_layers, "F": kind, "report": self.report}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        # states saved before the contractive F existed carry no "F" key: they hold the paper's F
        frozen = FrozenContractiveMapping if meta.get("F", "paper") == "contractive" else FrozenAuxMapping
        self.F = frozen({k[2:]: v for k, v in tensors.items() if k.startswith("F.")}, int(meta["num_layers"]))
        self.norm = {k[5:]: v for k, v in tensors.items() if k.startswith("norm.")}
        self.report = meta.get("report", {})
