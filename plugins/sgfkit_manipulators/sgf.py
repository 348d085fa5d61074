"""SGF manipulator (Li, Jin, Zhu, CVPR 2021): follow the surrogate gradient field of F.

Each Euler step adds ``(I - dF/dz)^-1 dF/dc dc`` with ``dc = step_size * (c1 - c0)`` computed once
(order-m Neumann series by batched forward-mode JVPs), then re-measures ``c = C(G(z))`` for the
samples still running. The loop is :mod:`sgf_loop` (a state machine over the batch); when a sample
stops and what its status says is :mod:`sgf_stopping` (converged, rolled-back, diverging,
max_steps, non-finite; every sample that did not converge returns to its best measured step).

Strength (for sweeps) = the maximum number of steps T. F works in normalised units: latents
``(z - mean) / scale`` with one scalar scale (keeps the geometry), conditions standardised per dim
so attribute scores, pixel keypoints and unit embeddings train together (embeddings: PCA-whitened,
see condition_whitening).
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch

from sgfkit.components import ConditionEncoder, EditRequest, EditResult, Generator, Manipulator
from sgfkit.dataset import LatentDataset
from sgfkit.errors import ComponentError
from sgfkit.latents import Latents
from sgfkit_manipulators.aux_mapping import FrozenAuxMapping
from sgfkit_manipulators.condition_whitening import fit_condition_transform, kept_axes, whiten, whiten_step
from sgfkit_manipulators.contractive_mapping import FrozenContractiveMapping
from sgfkit_manipulators.declarations import SGFDeclaration
from sgfkit_manipulators.latent_edit import apply_offset, check_dim, working_vector
from sgfkit_manipulators.mapping_ensemble import MappingEnsemble
from sgfkit_manipulators.sgf_loop import EditSettings, EditTrace, follow_coupling, run_edit
from sgfkit_manipulators.sgf_solver import exact_direction, neumann_direction, spectral_radius
from sgfkit_manipulators.sgf_stopping import StopRule
from sgfkit_manipulators.sgf_training import diagnose, reconstruction_r2, train_aux_mapping
from sgfkit_manipulators.step_fidelity import StepFn, aspect_step_fidelity, linear_step, step_fidelity

#: share of the dataset held out for the fit report
HOLDOUT = 0.1
#: largest step calibration factor (a step that barely moves c stays honest about it)
MAX_STEP_SCALE = 10.0


def heldout_split(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(held-out, training) row indices of a dataset of ``n`` samples, as the fit report draws them."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_hold = max(1, int(n * HOLDOUT))
    return order[:n_hold], order[n_hold:]


def report_samples(n_hold: int, asked: int, calibrate: bool) -> tuple[int, int]:
    """(fidelity, calibration) sample counts out of ``n_hold`` held-out samples: the fit report's step
    fidelity takes the first ones, up to ``asked``; with calibration it leaves at least half of them (or
    all beyond ``asked``) for a separate calibration set of at least 32 (the report says when they overlap)."""
    if not calibrate:
        return min(asked, n_hold), 0
    n_fid = min(asked, n_hold, max(n_hold - asked, n_hold // 2))
    return n_fid, max(32, min(n_fid, n_hold - n_fid))


def interfacegan_step(dataset: LatentDataset, rows: torch.Tensor, generator: Generator, encoder: ConditionEncoder,
                      seed: int) -> StepFn | None:
    """InterFaceGAN's one-step direction fitted on ``rows`` of ``dataset`` (the fit report's reference), or None
    for conditions InterFaceGAN cannot fit (embeddings)."""
    from sgfkit_manipulators.interfacegan import InterFaceGAN

    if encoder.condition_kind not in InterFaceGAN.condition_kinds:
        return None
    sub = LatentDataset(dataset.z[rows], dataset.latents[rows], dataset.conditions[rows],
                        list(dataset.condition_names), dataset.space)
    ifg = InterFaceGAN(seed=seed)
    ifg.fit(sub, generator, encoder)
    return linear_step(ifg.normals, sub.latents.float(), sub.conditions.float())


class SGF(SGFDeclaration, Manipulator):
    """Surrogate Gradient Field editing for any condition kind the encoder offers."""

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.F: FrozenAuxMapping | FrozenContractiveMapping | MappingEnsemble | None = None
        self.norm: dict[str, torch.Tensor] = {}
        self.report: dict[str, Any] = {}
        self.train_seconds: float | None = None

    # -- fitting ------------------------------------------------------------------------------
    def fit_params(self) -> dict[str, Any]:
        # untargeted: follow stores the condition covariance with the fit; hold (and a single F) keeps the keys
        # fits always had. The step calibration and the fit report's step fidelity take Neumann-order steps,
        # so an order other than the default 1 is part of the key (order 1 keeps the keys fits always had)
        return {k: v for k, v in self.params.items()
                if k not in ("label", "strengths", "max_steps", "tolerance", "mode",
                             "smoothing", "patience", "reaim", "plateau_growth")
                and not (k == "untargeted" and v == "hold")
                and not (k == "ensemble" and v == 1)
                and not (k == "neumann_order" and v == 1)}

    def fit(self, dataset: LatentDataset, generator: Generator, encoder: ConditionEncoder) -> dict[str, Any]:
        """Train F on (dataset.latents, dataset.conditions); return the report (see sgf_training.diagnose)."""
        if len(dataset) < 10:
            raise ComponentError(f"SGF needs at least 10 samples to fit F, got {len(dataset)}; raise dataset.samples")
        z, c = dataset.latents.float(), dataset.conditions.float()
        if not (torch.isfinite(z).all() and torch.isfinite(c).all()):
            raise ComponentError("the SGF training set holds NaN/inf latents or conditions; check the encoder")
        # measured: PCA whitening lifts caption success on flowers (384-d embeddings on ~55 axes) and does not
        # help on synth-faces attributes (benchmarks/bench_sgf_fit.py), hence auto = pca for embeddings only
        whiten_mode = self.params["whiten"]
        if whiten_mode == "auto":
            whiten_mode = "pca" if encoder.condition_kind == "embedding" else "std"
        lat_mean = z.mean(0)
        self.norm = {"lat_mean": lat_mean, "lat_scale": (z - lat_mean).std().reshape(1),
                     **fit_condition_transform(c, whiten_mode)}
        if self.params["untargeted"] == "follow":
            self.norm["c_cov"] = torch.cov(c.T).reshape(c.shape[1], c.shape[1])
        u, cn = self._norm_u(z), self._norm_c(c)
        hold, train = heldout_split(len(u), self.params["seed"])
        n_hold = len(hold)
        layers = self.params["layers_F"] or (6 if dataset.space == "z" else 15)
        width = self.params["width"] or u.shape[1]
        size = self.params["ensemble"]
        results = [train_aux_mapping(u[train], cn[train], layers, width, self.params["train_steps"],
                                     self.params["batch_size"], self.params["lr"], self.params["seed"] + k,
                                     kind=self.params["F"], kappa=self.params["contraction"],
                                     schedule=self.params["lr_schedule"],
                                     label="F" if size == 1 else f"F {k + 1}/{size}")
                   for k in range(size)]
        result = results[0]
        self.F = result.mapping if size == 1 else MappingEnsemble([r.mapping for r in results])
        # for benchmarks; kept out of the (cached, compared) report
        self.train_seconds = sum(r.seconds for r in results)
        report = diagnose(self.F, u[hold], cn[hold], seed=self.params["seed"])
        if size > 1:   # each member's own held-out R^2, to show what the mean adds
            with torch.no_grad():
                member_r2 = [reconstruction_r2(r.mapping(u[hold], cn[hold]), u[hold]) for r in results]
            report["ensemble"] = {"size": size, "member_r2": member_r2}
        report.update({"F": self.params["F"], "layers_F": layers, "width": width, "space": dataset.space,
                       "train_samples": len(train), "heldout_samples": n_hold,
                       "whiten": whiten_mode, "condition_axes": kept_axes(self.norm),
                       "lr_schedule": self.params["lr_schedule"],
                       "final_train_loss": result.losses[-1], "loss_curve": result.losses[:: max(1, len(result.losses) // 50)],
                       "condition_names": list(dataset.condition_names)})
        n_fid, n_cal = report_samples(len(hold), self.params["fidelity_samples"], self.params["calibrate_step"])
        self.norm["step_scale"] = torch.ones(1)
        if self.params["calibrate_step"]:
            # calibrate on held-out samples the fidelity report does not use (when there are enough)
            separate = len(hold) >= n_fid + n_cal
            calib = hold[n_fid: n_fid + n_cal] if separate else hold[:n_cal]
            report["step_scale"] = self._calibrate(dataset, generator, encoder, calib, report["warnings"])
            report["step_scale_samples"] = {"samples": len(calib), "separate_from_fidelity": separate}
        if n_fid:
            report["step_fidelity"] = self._step_fidelity(dataset, generator, encoder, train, hold[:n_fid])
        for message in report["warnings"]:
            warnings.warn(f"SGF: {message}", stacklevel=2)
        self.report = report
        return report

    def _calibrate(self, dataset: LatentDataset, generator: Generator, encoder: ConditionEncoder,
                   idx: torch.Tensor, warnings_out: list[str]) -> float:
        """Set the step scale to 1 / (median realised gain of one step), within [1, MAX_STEP_SCALE].

        Why: F's fixed point follows the conditional mean of z given c, whose slope is attenuated
        (regression towards the mean), and an order-m Neumann series shortens the step by
        (1 - kappa^(m+1)) more; so one raw step realises only part of dc. A median gain of 0 means one step
        left the reading of the targeted conditions exactly as it was on at least half the samples (a
        discrete reader): it says nothing about the step, so the scale stays 1 and ``warnings_out`` says why.
        """
        lat, c = dataset.latents[idx].float(), dataset.conditions[idx].float()
        eta = self.params["step_size"]
        stats = step_fidelity({"SGF": lambda z, cc, dc: self.direction(z, cc, dc)}, generator, encoder, lat,
                              dataset.space, c, eta, seed=self.params["seed"] + 1)["SGF"]
        gain = stats["gain"]
        if not gain:
            warnings_out.append(
                f"step calibration skipped: one step of step_size {eta} left the encoder's reading exactly as it "
                f"was on the targeted conditions for at least half of {stats['samples']} held-out samples (a "
                f"discrete reader, e.g. a captioner; {stats['unchanged']:.0%} read nothing new at all), so its gain "
                "cannot be measured; the step scale stays 1 (calibrate_step: false silences this)")
            self.norm["step_scale"] = torch.ones(1)
            return 1.0
        scale = min(max(1.0 / gain, 1.0), MAX_STEP_SCALE)
        self.norm["step_scale"] = torch.tensor([scale])
        return scale

    def _step_fidelity(self, dataset: LatentDataset, generator: Generator, encoder: ConditionEncoder,
                       train: torch.Tensor, hold: torch.Tensor) -> dict[str, Any]:
        """One SGF step vs one InterFaceGAN step on held-out samples (see step_fidelity)."""
        lat, c = dataset.latents[hold].float(), dataset.conditions[hold].float()
        steps = {"SGF": lambda z, cc, dc: self.direction(z, cc, dc)}
        reference = interfacegan_step(dataset, train, generator, encoder, self.params["seed"])
        if reference is not None:
            steps["InterFaceGAN"] = reference
        results = step_fidelity(steps, generator, encoder, lat, dataset.space, c, self.params["step_size"],
                                seed=self.params["seed"])
        report = {"samples": len(hold), "step_size": self.params["step_size"], "methods": results}
        smallest = aspect_step_fidelity(steps, generator, encoder, lat, dataset.space, c, seed=self.params["seed"])
        if smallest is not None:
            report["smallest_change"] = {"methods": smallest}
        return report

    def _norm_u(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self.norm["lat_mean"].to(z)) / self.norm["lat_scale"].to(z)

    def _norm_c(self, c: torch.Tensor) -> torch.Tensor:
        return whiten(c, self.norm)

    def _require_fitted(self) -> FrozenAuxMapping | FrozenContractiveMapping | MappingEnsemble:
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
        dcn = whiten_step(dc.float(), self.norm)
        du = exact_direction(F, u, cn, dcn) if exact else neumann_direction(F, u, cn, dcn, self.params["neumann_order"])
        scale = self.norm.get("step_scale", torch.ones(1))   # states saved before calibration: 1
        return du * (self.norm["lat_scale"] * scale.to(self.norm["lat_scale"])).to(du)

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
        start, trace = self._run(request, generator, encoder, steps)
        path = [self._compose(request, start, vec) for vec in trace.snapshots]
        conditions = trace.final.c
        if fast:  # one render at the end, for the report
            conditions = encoder.measure(generator, path[-1]).to(conditions)
        return EditResult(path[-1], path, trace.steps, trace.status, conditions,
                          {"mode": self.params["mode"], "final_error": trace.errors.tolist(),
                           "result_step": trace.result_steps.tolist()})

    def edit_sweep(self, request: EditRequest, strengths: Sequence[float], generator: Generator,
                   encoder: ConditionEncoder) -> list[Latents]:
        """One run with T = max(strengths); the latents after each strength's step count."""
        counts = [int(round(s)) for s in strengths]
        if any(s < 0 for s in counts):
            raise ComponentError(f"SGF strengths are step counts and must be >= 0, got {list(strengths)}")
        start, trace = self._run(request, generator, encoder, max(counts, default=0))
        snaps = trace.snapshots
        return [self._compose(request, start, snaps[min(s, len(snaps) - 1)]) for s in counts]

    def _compose(self, request: EditRequest, start: torch.Tensor, vec: torch.Tensor) -> Latents:
        return apply_offset(request.latents, request.layers, vec - start)

    def settings(self, max_steps: int) -> EditSettings:
        """The frozen settings of one edit run with budget ``max_steps``."""
        p = self.params
        measured = p["mode"] != "fast"
        return EditSettings(p["step_size"], max_steps, measured, p["reaim"] and measured,
                            StopRule(p["tolerance"], p["smoothing"], p["patience"]), p["plateau_growth"])

    def _check_request(self, request: EditRequest) -> tuple[torch.Tensor, torch.Tensor]:
        """c0, c1 [N, k] as floats, after checking the request against the fitted F."""
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
        return c0, c1

    def _run(self, request: EditRequest, generator: Generator, encoder: ConditionEncoder,
             max_steps: int) -> tuple[torch.Tensor, EditTrace]:
        """Algorithm 1 on the whole batch with per-sample stopping: (start vectors [N, d], its trace)."""
        c0, c1 = self._check_request(request)
        settings = self.settings(max_steps)
        start = working_vector(request.latents, request.layers).float()
        dims = list(request.target_dims)
        exact = self.params["mode"] == "exact"

        def direction(z: torch.Tensor, c: torch.Tensor, dc: torch.Tensor) -> torch.Tensor:
            return self.direction(z, c, dc, exact=exact)

        def measure(rows: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
            part = EditRequest(request.latents.index(rows), c0[rows], c1[rows], dims, request.layers)
            return encoder.measure(generator, self._compose(part, start[rows], z)).float()

        def distance(rows: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
            return encoder.distance(c, c1[rows].to(c), dims)

        err0 = encoder.distance(c0, c1, dims).float() if settings.measured else torch.zeros(len(c0))
        couple = None
        if self.params["untargeted"] == "follow":
            if "c_cov" not in self.norm:
                raise ComponentError(f"{self.label}: untargeted: follow needs the condition covariance, which this "
                                     "fitted state lacks; fit it again with untargeted: follow")
            couple = follow_coupling(self.norm["c_cov"].float(), dims)
        return start, run_edit(start, c0, c1, dims, err0, settings, direction, measure, distance, couple)

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
        first = F.members[0] if isinstance(F, MappingEnsemble) else F
        kind = "contractive" if isinstance(first, FrozenContractiveMapping) else "paper"
        meta = {"num_layers": F.num_layers, "F": kind, "report": self.report}
        if isinstance(F, MappingEnsemble):
            meta["ensemble"] = len(F)
        return meta

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        # states saved before the contractive F existed carry no "F" key: they hold the paper's F
        frozen = FrozenContractiveMapping if meta.get("F", "paper") == "contractive" else FrozenAuxMapping
        own = {k[2:]: v for k, v in tensors.items() if k.startswith("F.")}
        size = int(meta.get("ensemble", 1))
        try:
            self.F = (frozen(own, int(meta["num_layers"])) if size == 1
                      else MappingEnsemble.from_tensors(own, size, frozen, int(meta["num_layers"])))
        except (KeyError, ValueError) as exc:
            raise ComponentError(f"the saved SGF state is incomplete or inconsistent ({exc}); fit it again") from None
        self.norm = {k[5:]: v for k, v in tensors.items() if k.startswith("norm.")}
        self.report = meta.get("report", {})
