"""A direction made by another tool, applied as a linear edit: ``latent + strength * sign * scale * v``.

Files (arrays only: npz/npy without pickle, pt through ``torch.load(weights_only=True)``):

* ``interfacegan`` — InterFaceGAN's ``boundary.npy``: the unit normal of the SVM hyperplane, [1, d].
  ``strength`` is the distance along it (InterFaceGAN's own edits span -3..3).
* ``ganspace`` — GANSpace's component cache ``.npz``: ``lat_comp`` [C, 1, d] unit components,
  ``lat_stdev`` [C] their standard deviations in the latent space; ``component`` picks one and
  ``strength`` counts standard deviations (the unit GANSpace's sliders use).
* ``vector`` — one direction [d] / [1, d] / [1, 1, d] from .npy/.npz/.pt (e4e ships its InterFaceGAN
  directions as .pt tensors); ``strength`` multiplies it as it is.

``auto`` picks ganspace for an npz holding ``lat_comp``, interfacegan for an .npy, else vector.
With ``condition``, an edit moves the way its target asks on that condition (``+`` raises it) and not
at all on samples whose target leaves it unchanged; without, every edit moves along ``+v``.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sgfkit.components import ConditionEncoder, EditRequest, EditResult, Generator, Manipulator
from sgfkit.dataset import LatentDataset
from sgfkit.errors import ComponentError, did_you_mean
from sgfkit.latent_files import read_latent_array, resolve_user_file
from sgfkit_manipulators.latent_edit import apply_offset, check_dim
from sgfkit_manipulators.declarations import DirectionDeclaration



def read_direction(path: Path, fmt: str, component: int, key: str | None) -> tuple[np.ndarray, float, str]:
    """(direction [d] float32, scale of one strength unit, resolved format) from a direction file."""
    what, setting = "direction file", "file"
    if fmt == "auto":
        fmt = "vector"
        if path.suffix.lower() == ".npy":
            fmt = "interfacegan"
        elif path.suffix.lower() == ".npz" and path.is_file():
            try:
                with np.load(path, allow_pickle=False) as npz:
                    fmt = "ganspace" if "lat_comp" in npz.files else "vector"
            except (OSError, ValueError):
                pass  # read_latent_array below reports the unreadable file
    if fmt == "ganspace":
        comps = read_latent_array(path, "lat_comp", what, setting)
        stdev = read_latent_array(path, "lat_stdev", what, setting).reshape(-1)
        comps = comps.reshape(len(comps), -1)
        if len(stdev) != len(comps):
            raise ComponentError(f"{what} {str(path)!r}: lat_comp has {len(comps)} components but lat_stdev "
                                 f"{len(stdev)} values; is this a GANSpace component cache?")
        if not 0 <= component < len(comps):
            raise ComponentError(f"component {component} does not exist: {str(path)!r} holds {len(comps)} "
                                 f"components (0..{len(comps) - 1})")
        return comps[component], float(stdev[component]), fmt
    array = read_latent_array(path, key, what, setting)
    if array.size == 0 or array.size != array.shape[-1]:
        raise ComponentError(f"{what} {str(path)!r}: expected one direction [d] or [1, d], got shape "
                             f"{list(array.shape)}" + ("; for a GANSpace cache set format: ganspace" if
                                                       array.ndim == 3 else ""))
    vector = array.reshape(-1)
    if fmt == "interfacegan":
        norm = float(np.linalg.norm(vector))
        if not np.isfinite(norm) or norm == 0:
            raise ComponentError(f"{what} {str(path)!r}: the boundary has norm {norm}; it cannot give a direction")
        vector = vector / norm  # InterFaceGAN saves unit normals; keep distances in latent units
    return vector, 1.0, fmt


class Direction(DirectionDeclaration, Manipulator):
    """Edits along one direction loaded from a file (InterFaceGAN boundary, GANSpace component, e4e .pt)."""

    def __init__(self, base_dir: Path | None = None, **params: Any) -> None:
        super().__init__(**params)
        self.path = resolve_user_file(self.params["file"], Path(base_dir) if base_dir else Path.cwd())
        self.vector: torch.Tensor | None = None   # [d], times the scale of one strength unit
        self.report: dict[str, Any] = {}

    def fit_params(self) -> dict[str, Any]:
        """The file's bytes are part of the cache key: an edited file is read again."""
        digest = hashlib.sha256(self.path.read_bytes()).hexdigest() if self.path.is_file() else "missing"
        keep = {k: v for k, v in super().fit_params().items() if k not in ("condition", "layers", "strength")}
        return {**keep, "file_sha256": digest}

    def fit(self, dataset: LatentDataset, generator: Generator, encoder: ConditionEncoder) -> dict[str, Any]:
        """Nothing to learn: read the file and check it against the latent size."""
        vector, scale, fmt = read_direction(self.path, self.params["format"], self.params["component"],
                                            self.params["file_key"])
        dim = dataset.latents.shape[-1]
        if len(vector) != dim:
            raise ComponentError(f"{self.label}: the direction in {str(self.path)!r} has {len(vector)} values but "
                                 f"this generator's {dataset.space} latents have {dim}; use a direction made for "
                                 "this generator and space")
        if not np.isfinite(vector).all() or not np.isfinite(scale):
            raise ComponentError(f"{self.label}: the direction in {str(self.path)!r} holds NaN or infinite values")
        self._condition_index(encoder)
        self.vector = torch.tensor(vector * scale, dtype=torch.float32)
        self.report = {"file": str(self.path), "format": fmt, "component": self.params["component"]
                       if fmt == "ganspace" else None, "unit_norm": float(np.linalg.norm(vector * scale))}
        return self.report

    def _condition_index(self, encoder: ConditionEncoder) -> int | None:
        name = self.params["condition"]
        if name is None:
            return None
        if name not in encoder.names:
            raise ComponentError(f"{self.label}: condition {name!r} is not one of the encoder's "
                                 f"({', '.join(encoder.names[:12])}).{did_you_mean(name, encoder.names)}")
        return encoder.names.index(name)

    @property
    def default_strengths(self) -> list[float]:
        if self.params.get("strengths"):
            return list(self.params["strengths"])
        return [round(self.params["strength"] * m, 6) for m in (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)]

    def edit(self, request: EditRequest, generator: Generator, encoder: ConditionEncoder) -> EditResult:
        if self.vector is None:
            raise ComponentError(f"{self.label} is not fitted: call fit(dataset, generator, encoder) or load(path) first")
        latents = request.latents
        latents.check_finite(f"{self.label} input latents")
        check_dim(latents, len(self.vector), self.label)
        strength = self.params["strength"] if request.strength is None else float(request.strength)
        n = len(latents)
        index = self._condition_index(encoder)
        signs = torch.ones(n) if index is None else torch.sign(request.c1[:, index] - request.c0[:, index]).cpu()
        offset = (strength * signs.float())[:, None] * self.vector[None]   # [N, d]
        layers = request.layers
        if layers is None and latents.space == "w+" and self.params["layers"] is not None:
            layers = generator.resolve_layers(self.params["layers"])
        out = apply_offset(latents, layers, offset.to(latents.tensor))
        return EditResult(out, [latents, out], torch.ones(n, dtype=torch.long), ["done"] * n)

    def state_tensors(self) -> dict[str, torch.Tensor]:
        if self.vector is None:
            raise ComponentError(f"{self.label} is not fitted")
        return {"vector": self.vector}

    def state_meta(self) -> dict[str, Any]:
        return {"report": self.report}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        self.vector = tensors["vector"].float().cpu()
        self.report = meta.get("report", {})
