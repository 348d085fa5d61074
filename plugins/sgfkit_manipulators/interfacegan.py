"""InterFaceGAN (Shen et al., CVPR 2020): one linear SVM boundary per condition dim.

Fit: for each dim, the top and bottom ``ratio`` of the dataset by score become positives and
negatives; ``sklearn.svm.SVC(kernel="linear")`` is trained on a 70/30 split and its validation
accuracy reported; the unit normal of the hyperplane is kept (the intercept is not needed for
relative edits). Edit: ``latent + alpha * dir * n`` where ``dir = sign(c1 - c0)`` per sample on the
targeted dims and ``alpha`` the strength (distance along the unit normal, in latent units). With
``project_out`` the normal is first made orthogonal to the named boundaries (conditional edit).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from sgfkit.components import ConditionEncoder, EditRequest, EditResult, Generator, Manipulator
from sgfkit.dataset import LatentDataset
from sgfkit.errors import ComponentError, did_you_mean
from sgfkit.progress import progress_task
from sgfkit_manipulators.direction_export import write_interfacegan_boundaries
from sgfkit_manipulators.latent_edit import apply_offset, check_linear_request, target_directions
from sgfkit_manipulators.declarations import InterFaceGANDeclaration

#: strength grid in units of the typical spread of the latents along a boundary
SPREAD_MULTIPLES = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0)


def project_boundary(primal: np.ndarray, *conditions: np.ndarray) -> np.ndarray:
    """Unit vector of ``primal`` [d] with the span of ``conditions`` ([d] each) removed.

    Solves the least-squares projection for any number of conditions (1, 2 or n), which matches
    InterFaceGAN's closed forms for one and two conditions.
    """
    p = np.asarray(primal, dtype=np.float64).reshape(-1)
    if not conditions:
        return p / np.linalg.norm(p)
    a = np.stack([np.asarray(c, dtype=np.float64).reshape(-1) for c in conditions])   # [n, d]
    coef, *_ = np.linalg.lstsq(a @ a.T, a @ p, rcond=None)
    n = p - coef @ a
    norm = np.linalg.norm(n)
    if norm < 1e-8:
        raise ComponentError("the boundary lies in the span of the conditions to project out; "
                             "nothing is left to edit along (remove some names from project_out)")
    return n / norm


def fit_boundary(latents: np.ndarray, scores: np.ndarray, ratio: float, split: float, c: float,
                 seed: int) -> tuple[np.ndarray, float, float, int]:
    """One SVM boundary. Returns (unit normal [d], validation accuracy, intercept / ||w||, chosen per side)."""
    from sklearn.svm import SVC

    order = np.argsort(-scores, kind="stable")
    chosen = min(max(int(len(scores) * ratio), 2), len(scores) // 2)
    rng = np.random.default_rng(seed)
    pos, neg = rng.permutation(order[:chosen]), rng.permutation(order[-chosen:])
    n_train = max(1, int(chosen * split))
    x_train = np.concatenate([latents[pos[:n_train]], latents[neg[:n_train]]])
    y_train = np.concatenate([np.ones(n_train), np.zeros(n_train)])
    x_val = np.concatenate([latents[pos[n_train:]], latents[neg[n_train:]]])
    y_val = np.concatenate([np.ones(chosen - n_train), np.zeros(chosen - n_train)])
    svm = SVC(kernel="linear", C=c).fit(x_train, y_train)
    accuracy = float((svm.predict(x_val) == y_val).mean()) if len(y_val) else float("nan")
    w = svm.coef_.reshape(-1)
    norm = float(np.linalg.norm(w))
    return w / norm, accuracy, float(svm.intercept_[0]) / norm, chosen


class InterFaceGAN(InterFaceGANDeclaration, Manipulator):
    """Linear edits along SVM boundary normals (attributes and keypoint coordinates, not embeddings)."""

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.normals: torch.Tensor | None = None     # [k, d] unit normals
        self.names: list[str] = []
        self.report: dict[str, Any] = {}

    def fit_params(self) -> dict[str, Any]:
        return {k: v for k, v in super().fit_params().items() if k != "project_out"}

    def fit(self, dataset: LatentDataset, generator: Generator, encoder: ConditionEncoder) -> dict[str, Any]:
        self.check_target(encoder)
        x = dataset.latents.double().cpu().numpy()
        scores = dataset.conditions.double().cpu().numpy()
        normals, per_dim = [], {}
        with progress_task("Fitting InterFaceGAN boundaries", total=scores.shape[1]) as task:
            for j, name in enumerate(dataset.condition_names):
                normal, accuracy, offset, chosen = fit_boundary(
                    x, scores[:, j], self.params["ratio"], self.params["split"], self.params["svm_c"],
                    self.params["seed"] + j)
                normals.append(normal)
                spread = float(np.std((x - x.mean(0)) @ normal))
                per_dim[name] = {"val_accuracy": accuracy, "per_side": chosen, "offset": offset, "spread": spread}
                task.advance()
                task.update(boundary=name, accuracy=f"{accuracy:.3f}")
        self.normals = torch.tensor(np.stack(normals), dtype=torch.float32)
        self.names = list(dataset.condition_names)
        self.report = {"boundaries": per_dim,
                       "mean_val_accuracy": float(np.nanmean([v["val_accuracy"] for v in per_dim.values()]))}
        return self.report

    def _require_fitted(self) -> torch.Tensor:
        if self.normals is None:
            raise ComponentError(f"{self.label} is not fitted: call fit(dataset, generator, encoder) or load(path) first")
        return self.normals

    def boundary(self, name: str) -> torch.Tensor:
        """Unit normal [d] of ``name``, made orthogonal to the ``project_out`` boundaries (except itself)."""
        normals = self._require_fitted()
        index = self._index(name)
        others = [self._index(o) for o in self.params["project_out"] if o != name]
        if not others:
            return normals[index]
        projected = project_boundary(normals[index].double().numpy(), *(normals[i].double().numpy() for i in others))
        return torch.tensor(projected, dtype=torch.float32)

    def _index(self, name: str) -> int:
        if name not in self.names:
            raise ComponentError(f"{self.label} has no boundary named {name!r}.{did_you_mean(name, self.names)} "
                                 f"Its boundaries: {', '.join(self.names)}")
        return self.names.index(name)

    @property
    def default_strengths(self) -> list[float]:
        """Distances along the normal: multiples of the median spread of the data along the boundaries."""
        if self.params.get("strengths"):
            return list(self.params["strengths"])
        spreads = [v["spread"] for v in self.report.get("boundaries", {}).values()]
        unit = float(np.median(spreads)) if spreads else 1.0
        return [round(m * unit, 6) for m in SPREAD_MULTIPLES]

    def edit(self, request: EditRequest, generator: Generator, encoder: ConditionEncoder) -> EditResult:
        normals = self._require_fitted()
        latents = request.latents
        check_linear_request(request, normals.shape[1], self.names, self.label)
        grid = self.default_strengths  # the recipe's strengths, or multiples of the spread: edit at its middle
        alpha = grid[len(grid) // 2] if request.strength is None else float(request.strength)
        signs = target_directions(request.c0.float(), request.c1.float(), request.target_dims)   # [N, t]
        dirs = torch.stack([self.boundary(self.names[j]) for j in request.target_dims]).to(latents.tensor)
        offset = signs.to(dirs) @ dirs                                   # [N, d]
        norm = offset.norm(dim=1, keepdim=True)
        offset = torch.where(norm > 0, offset / norm.clamp_min(1e-12), offset) * alpha
        out = apply_offset(latents, request.layers, offset)
        n = len(latents)
        return EditResult(out, [latents, out], torch.ones(n, dtype=torch.long), ["done"] * n)

    def export_files(self, fmt: str, out_dir: Path) -> list[Path]:
        """Write the boundaries (``project_out`` applied) as InterFaceGAN ``boundary_<name>.npy`` files."""
        if fmt != "interfacegan":
            raise ComponentError(f"{self.label} (interfacegan) exports only --format interfacegan, not {fmt!r}")
        self._require_fitted()
        return write_interfacegan_boundaries({name: self.boundary(name) for name in self.names}, out_dir)

    def state_tensors(self) -> dict[str, torch.Tensor]:
        return {"normals": self._require_fitted()}

    def state_meta(self) -> dict[str, Any]:
        return {"names": self.names, "report": self.report}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.normals = tensors["normals"].float()
        self.names = list(meta["names"])
        self.report = meta.get("report", {})
