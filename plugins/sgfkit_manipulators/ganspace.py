"""GANSpace (Härkönen et al., NeurIPS 2020): principal components of untruncated w as edit directions.

Fit: PCA (``IncrementalPCA`` by default, 80 components) on fresh untruncated w = mapping(z)
samples (z samples in a z-only space, which are isotropic: the report warns), unit components,
standard deviations measured on other fresh samples. An edit is (component, layers, strength in
standard deviations): ``w_l + strength * dir * sigma_i * v_i`` for the chosen w+ layers.

Choosing a component for an attribute (GANSpace itself is unsupervised). ``selection: edit``
(default): push ``selection_samples`` dataset latents by ``selection_sigma`` standard deviations
along each of the first ``selection_components`` components, measure the encoder, and give each
condition dim the component that moves it most on average, with the sign that raises it.
``selection: correlation``: the component whose coordinate correlates most with the dim on the
fitted dataset (no rendering). ``component`` forces one component for every edit.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from sgfkit.components import ConditionEncoder, EditRequest, EditResult, Generator, Manipulator
from sgfkit.dataset import LatentDataset
from sgfkit.errors import ComponentError
from sgfkit.latents import Latents
from sgfkit.progress import progress_task
from sgfkit_manipulators.direction_export import slug, write_ganspace_components
from sgfkit_manipulators.latent_edit import apply_offset, check_linear_request, target_directions
from sgfkit_manipulators.declarations import GANSpaceDeclaration

CHUNK = 4096


def fit_pca(samples: np.ndarray, n_components: int, estimator: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PCA of samples [N, d] -> (unit components [C, d], mean [d], explained variance ratio [C])."""
    from sklearn.decomposition import PCA, IncrementalPCA

    n_components = min(n_components, samples.shape[1], samples.shape[0])
    if estimator == "pca":
        pca = PCA(n_components=n_components, svd_solver="full").fit(samples)
    else:
        batch = max(100, 2 * n_components)
        pca = IncrementalPCA(n_components=n_components, batch_size=batch)
        step = max(batch, 2000, 3 * n_components)
        with progress_task("GANSpace incremental PCA", total=len(samples)) as task:
            for start in range(0, len(samples), step):
                part = samples[start:start + step]
                if len(part) < n_components:   # partial_fit needs at least n_components rows
                    break
                pca.partial_fit(part)
                task.advance(len(part))
    comps = pca.components_ / np.linalg.norm(pca.components_, axis=1, keepdims=True)
    return comps, pca.mean_, pca.explained_variance_ratio_


class GANSpace(GANSpaceDeclaration, Manipulator):
    """Unsupervised PCA directions, matched to attributes by a documented selection rule."""

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.comps: torch.Tensor | None = None     # [C, d] unit rows
        self.mean: torch.Tensor | None = None      # [d]
        self.stdev: torch.Tensor | None = None     # [C]
        self.chosen: list[int] = []                # per condition dim: component index
        self.signs: list[float] = []               # per condition dim: +1 if the component raises it
        self.names: list[str] = []
        self.effect: torch.Tensor | None = None    # [n_search, k] selection scores
        self.report: dict[str, Any] = {}

    def fit_params(self) -> dict[str, Any]:
        # with selection: edit, the components are chosen by pushing along them on ``layers``, so the layers
        # decide the fit; otherwise they only matter when editing
        drop = ("component",) if self.params["selection"] == "edit" else ("component", "layers")
        return {k: v for k, v in super().fit_params().items() if k not in drop}

    # -- fitting --------------------------------------------------------------------------------
    @torch.no_grad()
    def _samples(self, generator: Generator, n: int, seed: int, space: str) -> np.ndarray:
        outs = []
        for start in range(0, n, CHUNK):
            z = generator.sample_z(min(CHUNK, n - start), seed * 100003 + start)
            outs.append(z if space == "z" else generator.mapping(z))
        return torch.cat(outs).double().cpu().numpy()

    def fit(self, dataset: LatentDataset, generator: Generator, encoder: ConditionEncoder) -> dict[str, Any]:
        self.check_target(encoder)
        warnings: list[str] = []
        if dataset.space == "z":
            warnings.append("PCA of z samples: z ~ N(0, I) is isotropic, so the components are arbitrary "
                            "directions (GANSpace is meant for w)")
        x = self._samples(generator, self.params["samples"], self.params["seed"], dataset.space)
        comps, mean, ratio = fit_pca(x, self.params["components"], self.params["estimator"])
        fresh = self._samples(generator, self.params["std_samples"], self.params["seed"] + 1, dataset.space)
        stdev = ((fresh - mean) @ comps.T).std(axis=0)
        self.comps = torch.tensor(comps, dtype=torch.float32)
        self.mean = torch.tensor(mean, dtype=torch.float32)
        self.stdev = torch.tensor(stdev, dtype=torch.float32)
        self.names = list(dataset.condition_names)
        effect = (self._edit_effect(dataset, generator, encoder) if self.params["selection"] == "edit"
                  else self._correlation(dataset))
        self.effect = torch.tensor(effect, dtype=torch.float32)
        best = np.abs(effect).argmax(axis=0)
        self.chosen = [int(i) for i in best]
        self.signs = [1.0 if effect[i, j] >= 0 else -1.0 for j, i in enumerate(best)]
        self.report = {
            "explained_variance_ratio": [float(r) for r in ratio[:20]],
            "stdev": [float(s) for s in stdev[:20]],
            "selection": self.params["selection"],
            "chosen": {name: {"component": self.chosen[j], "sign": self.signs[j],
                              "effect": float(effect[self.chosen[j], j])} for j, name in enumerate(self.names)},
            "warnings": warnings,
        }
        return self.report

    def _edit_effect(self, dataset: LatentDataset, generator: Generator, encoder: ConditionEncoder) -> np.ndarray:
        """[n_search, k] mean change of each condition when pushing along each leading component."""
        n_search = min(self.params["selection_components"], len(self.comps))
        rows = dataset.latents[: self.params["selection_samples"]].float()
        base = Latents(rows, dataset.space)
        layers = None
        if generator.space == "w+" and dataset.space == "w":
            base = base.to_wplus(generator.num_ws)
            layers = generator.resolve_layers(self.params["layers"])
        before = encoder.measure(generator, base).double()
        effect = np.zeros((n_search, len(self.names)))
        sigma = self.params["selection_sigma"]
        with progress_task("GANSpace: matching components to conditions", total=n_search) as task:
            for i in range(n_search):
                offset = (sigma * self.stdev[i] * self.comps[i]).expand(len(rows), -1)
                after = encoder.measure(generator, apply_offset(base, layers, offset)).double()
                effect[i] = (after - before).mean(0).cpu().numpy()
                task.advance()
        return effect

    def _correlation(self, dataset: LatentDataset) -> np.ndarray:
        """[n_search, k] correlation of component coordinates with each condition over the dataset."""
        n_search = min(self.params["selection_components"], len(self.comps))
        coords = ((dataset.latents.float() - self.mean) @ self.comps[:n_search].T).double().numpy()
        cond = dataset.conditions.double().numpy()
        coords = (coords - coords.mean(0)) / (coords.std(0) + 1e-12)
        cond = (cond - cond.mean(0)) / (cond.std(0) + 1e-12)
        return coords.T @ cond / len(coords)

    def _require_fitted(self) -> torch.Tensor:
        if self.comps is None:
            raise ComponentError(f"{self.label} is not fitted: call fit(dataset, generator, encoder) or load(path) first")
        return self.comps

    # -- editing --------------------------------------------------------------------------------
    @property
    def default_strengths(self) -> list[float]:
        if self.params.get("strengths"):
            return list(self.params["strengths"])
        return [0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0]

    def component_for(self, dim: int) -> tuple[int, float]:
        """(component index, sign) used to edit condition dim ``dim``."""
        self._require_fitted()
        if self.params["component"] is not None:
            if self.params["component"] >= len(self.comps):
                raise ComponentError(f"component {self.params['component']} does not exist: "
                                     f"{self.label} has {len(self.comps)} components (0..{len(self.comps) - 1})")
            i = self.params["component"]
            score = float(self.effect[i, dim]) if self.effect is not None and i < len(self.effect) else 1.0
            return i, 1.0 if score >= 0 else -1.0
        return self.chosen[dim], self.signs[dim]

    def edit(self, request: EditRequest, generator: Generator, encoder: ConditionEncoder) -> EditResult:
        comps = self._require_fitted()
        latents = request.latents
        check_linear_request(request, comps.shape[1], self.names, self.label)
        strength = 2.0 if request.strength is None else float(request.strength)
        signs = target_directions(request.c0.float(), request.c1.float(), request.target_dims)   # [N, t]
        offset = torch.zeros(len(latents), comps.shape[1], dtype=latents.tensor.dtype, device=latents.device)
        for t, dim in enumerate(request.target_dims):
            i, sign = self.component_for(dim)
            direction = (self.stdev[i] * comps[i]).to(offset)
            offset = offset + (strength * sign * signs[:, t]).to(offset)[:, None] * direction
        layers = request.layers
        if layers is None and latents.space == "w+" and self.params["layers"] is not None:
            layers = generator.resolve_layers(self.params["layers"])
        out = apply_offset(latents, layers, offset)
        n = len(latents)
        return EditResult(out, [latents, out], torch.ones(n, dtype=torch.long), ["done"] * n)

    def export_files(self, fmt: str, out_dir: Path) -> list[Path]:
        """Write the components as a GANSpace component cache (``<label>_components.npz``)."""
        if fmt != "ganspace":
            raise ComponentError(f"{self.label} (ganspace) exports only --format ganspace, not {fmt!r}")
        comps = self._require_fitted()
        return [write_ganspace_components(comps, self.mean, self.stdev, out_dir / f"{slug(self.label)}_components.npz")]

    # -- state ----------------------------------------------------------------------------------
    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {"components": self._require_fitted(), "mean": self.mean, "stdev": self.stdev, "effect": self.effect}

    def state_meta(self) -> dict[str, Any]:
        return {"names": self.names, "chosen": self.chosen, "signs": self.signs, "report": self.report}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.comps, self.mean, self.stdev = (tensors["components"].float(), tensors["mean"].float(),
                                             tensors["stdev"].float())
        self.effect = tensors["effect"].float()
        self.names, self.chosen, self.signs = list(meta["names"]), list(meta["chosen"]), list(meta["signs"])
        self.report = meta.get("report", {})
