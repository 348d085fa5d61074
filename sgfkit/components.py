"""Base classes of the five component kinds and the tensor contracts they share.

Images are float tensors [N, 3, H, W], RGB, in [-1, 1]. Latents are :class:`sgfkit.latents.Latents`.
Each class declares its parameters in ``params`` (merged along the class hierarchy) and is built
with keyword arguments that are validated by :func:`sgfkit.params.validate_params`.
"""
from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sgfkit.dataset import LatentDataset
from sgfkit.declarations import (
    ComponentDeclaration,
    ConditionEncoderDeclaration,
    GeneratorDeclaration,
    ManipulatorDeclaration,
    MetricDeclaration,
    ProjectorDeclaration,
)
from sgfkit.errors import ComponentError, did_you_mean
from sgfkit.kinds import KIND_TABLE
from sgfkit.latents import Latents, LayerSpec, resolve_layers
from sgfkit.params import validate_params


class Component(ComponentDeclaration, ABC):
    """Common behaviour: declared params (see :mod:`sgfkit.declarations`), validation, device placement.

    Subclasses set ``params`` (new keys, or overrides of inherited ones) and call
    ``super().__init__(**params)`` first; afterwards ``self.params`` holds every value.
    """

    def __init__(self, **params: Any) -> None:
        label = f"{self.kind} '{self.registry_name or type(self).__name__}'"
        self.params: dict[str, Any] = validate_params(self.all_params(), params, component=label)
        self.device = torch.device("cpu")

    def to(self, device: torch.device | str) -> Component:
        """Move every ``torch.nn.Module`` attribute to ``device``."""
        self.device = torch.device(device)
        for value in vars(self).values():
            if isinstance(value, torch.nn.Module):
                value.to(self.device)
        return self

    def versions(self) -> dict[str, Any]:
        """Provenance of this component (weights file, sha256...) recorded with each run."""
        return {}


# --------------------------------------------------------------------------------------------
# Generators
# --------------------------------------------------------------------------------------------


class Generator(GeneratorDeclaration, Component):
    """A pretrained (or procedural) generator with a StyleGAN-like latent space.

    Subclasses set ``z_dim``, ``w_dim``, ``num_ws``, ``resolution`` in ``__init__`` and implement
    :meth:`mapping` and :meth:`synthesis`. A Z-space-only generator (ProGAN) sets
    ``spaces = ("z",)`` and implements :meth:`synthesize_z` instead of mapping/synthesis.
    """


    z_dim: int
    w_dim: int
    num_ws: int
    resolution: int

    @property
    def space(self) -> str:
        return self.params["space"]

    @property
    def layer_groups(self) -> dict[str, list[int]]:
        """Named layer ranges for w+ edits (override to add ``coarse`` / ``middle`` / ``fine``)."""
        return {"all": list(range(self.num_ws))}

    @property
    def w_avg(self) -> torch.Tensor:
        """[w_dim] centre of the truncation trick."""
        raise ComponentError(f"{type(self).__name__} has no w_avg")

    # -- to implement -----------------------------------------------------------------------
    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        """z [N, z_dim] -> untruncated w [N, w_dim]."""
        raise ComponentError(f"{type(self).__name__} has no mapping network (spaces: {self.spaces})")

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        """w+ [N, num_ws, w_dim] -> images [N, 3, R, R] in [-1, 1]."""
        raise ComponentError(f"{type(self).__name__} has no synthesis network (spaces: {self.spaces})")

    def synthesize_z(self, z: torch.Tensor) -> torch.Tensor:
        """z [N, z_dim] -> images; default: mapping, truncation, synthesis."""
        return self.synthesis(self.truncate(self.mapping(z).unsqueeze(1).expand(-1, self.num_ws, -1)))

    # -- provided ---------------------------------------------------------------------------
    def sample_z(self, n: int, seed: int) -> torch.Tensor:
        """[n, z_dim] standard normal, deterministic in ``seed`` (drawn on the CPU)."""
        gen = torch.Generator().manual_seed(int(seed))
        return torch.randn(n, self.z_dim, generator=gen).to(self.device)

    def z_from_seeds(self, seeds: Sequence[int]) -> torch.Tensor:
        """[len(seeds), z_dim]: one latent per seed, each independent of the others."""
        return torch.cat([self.sample_z(1, s) for s in seeds]) if len(seeds) else torch.zeros(0, self.z_dim)

    def truncate(self, w: torch.Tensor, psi: float | None = None, cutoff: int | None = None) -> torch.Tensor:
        """Truncation around ``w_avg``. ``w`` is [N, w_dim] or [N, num_ws, w_dim].

        With a ``cutoff`` (w+ input only) the first ``cutoff`` layers are truncated.
        """
        psi = self.params["truncation"] if psi is None else psi
        cutoff = self.params["truncation_cutoff"] if cutoff is None else cutoff
        if psi == 1.0:
            return w
        avg = self.w_avg.to(w)
        if w.dim() == 2 or cutoff is None:
            return avg + psi * (w - avg)
        out = w.clone()
        out[:, :cutoff] = avg + psi * (w[:, :cutoff] - avg)
        return out

    def to_latents(self, z: torch.Tensor, space: str | None = None) -> Latents:
        """Turn z [N, z_dim] into latents of ``space`` (default: the configured one), truncated."""
        space = space or self.space
        if space == "z":
            return Latents(z, "z")
        with torch.no_grad():
            w = self.mapping(z)
        if space == "w":
            return Latents(self.truncate(w), "w")
        wp = w.unsqueeze(1).expand(-1, self.num_ws, -1)
        return Latents(self.truncate(wp), "w+")

    def sample_latents(self, n: int, seed: int) -> Latents:
        return self.to_latents(self.sample_z(n, seed))

    def synthesize(self, latents: Latents, batch_size: int = 64, grad: bool = False) -> torch.Tensor:
        """Render latents of any supported space: images [N, 3, R, R] in [-1, 1].

        z codes are mapped and truncated here; w / w+ codes are rendered as they are
        (they were truncated when sampled). Raises on non-finite latents.
        """
        if latents.space not in self.spaces:
            raise ComponentError(f"{type(self).__name__} cannot render {latents.space} latents (spaces: {self.spaces})")
        latents.check_finite()
        outs = []
        ctx = torch.enable_grad() if grad else torch.no_grad()
        with ctx:
            for start in range(0, len(latents), batch_size):
                t = latents.tensor[start:start + batch_size].to(self.device)
                if latents.space == "z":
                    outs.append(self.synthesize_z(t))
                else:
                    ws = Latents(t, latents.space).to_wplus(self.num_ws).tensor
                    outs.append(self.synthesis(ws))
        if not outs:
            return torch.zeros(0, 3, self.resolution, self.resolution, device=self.device)
        return torch.cat(outs)

    def resolve_layers(self, spec: LayerSpec) -> list[int]:
        return resolve_layers(spec, self.num_ws, self.layer_groups)


# --------------------------------------------------------------------------------------------
# Condition encoders
# --------------------------------------------------------------------------------------------

class ConditionEncoder(ConditionEncoderDeclaration, Component):
    """C: images -> conditions [N, k].

    ``condition_kind``: ``attributes`` (scores in [0, 1]), ``keypoints`` (pixel coordinates,
    names ``<point>_x`` / ``<point>_y``), ``embedding`` (unit-norm vectors) or ``mixed``.
    Encoders need not be differentiable: SGF only runs them forward.
    """

    @classmethod
    def train(cls, output: Path, **options: Any) -> dict[str, Any]:
        """Train this encoder's shipped weights into ``output`` (``sgfkit train-encoder NAME``).

        ``options`` are validated against ``training_params``. Returns the held-out report
        (also stored in the weights' JSON metadata).
        """
        raise ComponentError(f"{cls.registry_name or cls.__name__} has no training command: it loads user weights")

    @property
    @abstractmethod
    def names(self) -> list[str]:
        """One name per condition dimension (k)."""

    @abstractmethod
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """images [N, 3, H, W] in [-1, 1] -> conditions [N, k] (float32)."""

    def facts(self, generator: Generator, latents: Latents) -> list[dict[str, Any]] | None:
        """Discrete facts per sample (e.g. a flower's petal colour and shape) for metrics that score edits
        fact by fact; ``None`` (the default) for encoders that only give numbers."""
        return None

    def keypoint_columns(self) -> list[tuple[str, str]]:
        """The (x name, y name) pair in :attr:`names` of each landmark (pixel coordinates); ``[]`` (the
        default) for encoders without landmarks. Metrics treat these columns as positions, not scores."""
        return []

    def keypoint_indices(self) -> list[tuple[int, int]]:
        """:meth:`keypoint_columns` as (x, y) column indices."""
        return [(self.index_of(x), self.index_of(y)) for x, y in self.keypoint_columns()]

    def measure(self, generator: Generator, latents: Latents, batch_size: int = 64) -> torch.Tensor:
        """C(G(latents)) -> [N, k], in batches, without gradients. Truth encoders override it."""
        outs = []
        with torch.no_grad():
            for start in range(0, len(latents), batch_size):
                part = latents.index(slice(start, start + batch_size))
                outs.append(self.encode(generator.synthesize(part, batch_size=batch_size)))
        if not outs:
            return torch.zeros(0, len(self.names))
        return torch.cat(outs).float()

    def index_of(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise ComponentError(
                f"{self.registry_name or type(self).__name__} has no condition named {name!r}."
                + did_you_mean(name, self.names) + f" Its conditions: {', '.join(self.names)}") from None

    def target(self, spec: dict[str, Any], c0: torch.Tensor) -> torch.Tensor:
        """Target conditions c1 [N, k] for a user's target ``spec``; unnamed dims keep c0.

        Default: ``{name: value}`` sets dims to values, and ``{"offset": {name: delta}}`` adds.
        Encoders with other target forms (captions, keypoint moves) override this.
        """
        c1 = c0.clone()
        for name, value in spec.items():
            if name == "offset":
                for oname, delta in dict(value).items():
                    c1[:, self.index_of(oname)] += float(delta)
            else:
                c1[:, self.index_of(name)] = float(value)
        return c1

    def target_dims(self, spec: dict[str, Any]) -> list[int]:
        """Indices of the dims a target ``spec`` constrains (used for stopping and scoring)."""
        dims: list[int] = []
        for name, value in spec.items():
            names = dict(value).keys() if name == "offset" else [name]
            dims.extend(self.index_of(n) for n in names)
        return sorted(set(dims))

    def distance(self, c: torch.Tensor, c1: torch.Tensor, dims: Sequence[int]) -> torch.Tensor:
        """Per-sample error [N] between conditions and targets on ``dims`` (max abs difference)."""
        idx = list(dims) or list(range(c.shape[1]))
        return (c[:, idx] - c1[:, idx]).abs().amax(dim=1)

    def target_aspects(self, spec: dict[str, Any]) -> list[str]:
        """What a target ``spec`` names, in the terms of :meth:`aspect_changes` (``layers: auto``).
        Default: the names of its target dims."""
        return [self.names[d] for d in self.target_dims(spec)]

    def sub_target(self, spec: dict[str, Any], aspects: list[str]) -> dict[str, Any] | None:
        """The part of a target ``spec`` that asks for ``aspects`` only (``layers: auto`` edits a target whose
        aspects live in different layer groups one group at a time), or None when the spec cannot be split.
        Default: ``{name: value}`` targets keep the named entries; other forms are not split."""
        if any(not isinstance(name, str) or name == "offset" or isinstance(value, (dict, list))
               for name, value in spec.items()):
            return None
        part = {name: value for name, value in spec.items() if name in aspects}
        return part if set(part) == set(aspects) else None

    def aspect_changes(self, c0: torch.Tensor, c1: torch.Tensor) -> dict[str, torch.Tensor]:
        """How much each aspect of the reading changed between ``c0`` and ``c1`` [N, k]: aspect -> [N]
        non-negative amounts (``layers: auto`` compares them across layer groups). Default: |dc| per dim."""
        delta = (c1.float() - c0.float()).abs()
        return {name: delta[:, d] for d, name in enumerate(self.names)}

    def smallest_changes(self, c: torch.Tensor, seed: int) -> list[dict[str, Any]] | None:
        """Per row of ``c`` [N, k], a target spec asking for the smallest change of that reading the encoder can
        express (a caption reader: one fact of the caption replaced by another value), for the step-fidelity
        report of a discrete reader, whose reading cannot move a small fraction of the way to anything.
        ``None`` (the default) for continuous conditions, where any small dc is a change."""
        return None

    def describe(self, c: torch.Tensor, dims: Sequence[int] | None = None) -> list[str]:
        """One short human-readable label per sample (for image grids)."""
        idx = list(dims) if dims else list(range(min(4, c.shape[1])))
        return [", ".join(f"{self.names[i]} {float(row[i]):.2f}" for i in idx) for row in c]


# --------------------------------------------------------------------------------------------
# Manipulators
# --------------------------------------------------------------------------------------------

EDIT_STATUSES = ("converged", "rolled-back", "max_steps", "diverging", "non-finite", "done")


@dataclass
class EditResult:
    """What an edit produced.

    Attributes:
        latents: the final latents, same space and batch size as the input.
        path: latents along the way; ``path[0]`` is the input and ``path[-1]`` the result.
        steps: [N] int, steps taken per sample.
        status: per sample, one of ``EDIT_STATUSES``.
        conditions: [N, k] last measured conditions, when the method measured them.
        info: anything else worth reporting (warnings, diagnostics).
    """

    latents: Latents
    path: list[Latents]
    steps: torch.Tensor
    status: list[str]
    conditions: torch.Tensor | None = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class EditRequest:
    """One edit: where to start and where the conditions should go.

    Attributes:
        latents: start latents (N samples).
        c0: [N, k] measured conditions at the start.
        c1: [N, k] target conditions.
        target_dims: the dims the user targeted (others should stay put).
        layers: for w+ latents, the layers the edit may change (``None``: all).
        strength: method-specific size of the edit (SGF: max steps; InterFaceGAN: distance
            along the boundary; GANSpace: standard deviations); ``None`` = the method's default.
    """

    latents: Latents
    c0: torch.Tensor
    c1: torch.Tensor
    target_dims: list[int]
    layers: list[int] | None = None
    strength: float | None = None


class Manipulator(ManipulatorDeclaration, Component):
    """Learns how to move latents so that conditions change, then edits.

    ``fit`` learns from a :class:`LatentDataset`; ``edit`` applies an :class:`EditRequest`.
    Fitted state round-trips through :meth:`save` / :meth:`load` (safetensors + JSON).
    """

    @property
    def label(self) -> str:
        return self.params.get("label") or self.registry_name or type(self).__name__

    @property
    def default_strengths(self) -> list[float]:
        """Strength grid for evaluation sweeps, weakest first."""
        return list(self.params.get("strengths") or [])

    def fit_params(self) -> dict[str, Any]:
        """The parameters fitting depends on (the cache key); default: all but label/strengths."""
        return {k: v for k, v in self.params.items() if k not in ("label", "strengths")}

    @abstractmethod
    def fit(self, dataset: LatentDataset, generator: Generator, encoder: ConditionEncoder) -> dict[str, Any]:
        """Learn from ``dataset``; return a JSON-able report (losses, accuracies, warnings)."""

    @abstractmethod
    def edit(self, request: EditRequest, generator: Generator, encoder: ConditionEncoder) -> EditResult:
        """Edit ``request.latents`` towards ``request.c1``."""

    def edit_sweep(self, request: EditRequest, strengths: Sequence[float],
                   generator: Generator, encoder: ConditionEncoder) -> list[Latents]:
        """Final latents for each strength (weakest first). Override when one pass gives all."""
        results = []
        for s in strengths:
            req = EditRequest(request.latents, request.c0, request.c1, request.target_dims, request.layers, s)
            results.append(self.edit(req, generator, encoder).latents)
        return results

    def check_target(self, encoder: ConditionEncoder) -> None:
        """Raise :class:`ComponentError` when this method cannot express the encoder's targets."""
        if encoder.condition_kind not in self.condition_kinds:
            raise ComponentError(
                f"{self.label} cannot edit towards {encoder.condition_kind} conditions "
                f"(it handles {', '.join(self.condition_kinds)}); use sgf for this encoder")

    # -- fitted state -----------------------------------------------------------------------
    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Fitted tensors to save."""
        return {}

    def state_meta(self) -> dict[str, Any]:
        """Fitted JSON-able metadata to save."""
        return {}

    def load_state(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        """Restore what :meth:`state_tensors` / :meth:`state_meta` returned."""

    def save(self, path: str | Path) -> None:
        """Write fitted state to ``path`` (safetensors; params + meta as JSON in its metadata)."""
        from safetensors.torch import save_file

        tensors = {k: v.detach().contiguous().cpu() for k, v in self.state_tensors().items()}
        meta = {"params": json.dumps(self.params), "state": json.dumps(self.state_meta()),
                "type": self.registry_name or type(self).__name__}
        save_file(tensors, str(path), metadata=meta)

    def load(self, path: str | Path) -> None:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k).to(self.device) for k in f.keys()}
        self.load_state(tensors, json.loads(meta.get("state", "{}")))


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------


@dataclass
class EditEvaluation:
    """Scores of one method editing one target attribute over a strength sweep.

    Attributes:
        method: manipulator label.
        attribute: the targeted attribute's name; ``attribute_index`` its column in ``before``.
        names: the K scored attribute names (columns of ``before`` / ``after``).
        strengths: S strength settings, weakest first.
        before: [N, K] scores before the edit.
        after: [S, N, K] scores after the edit at each strength.
        direction: [N] +1 / -1, the intended direction of the target attribute per sample.
        keypoints: (x, y) column indices of the evaluator's landmarks (``keypoint_indices()``).
    """

    method: str
    attribute: str
    attribute_index: int
    names: list[str]
    strengths: list[float]
    before: np.ndarray
    after: np.ndarray
    direction: np.ndarray
    keypoints: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class EditOutcome:
    """One manipulator applied to one recipe edit target (the example edits), scored by the evaluator.

    Attributes:
        method: manipulator label.
        target: the user's target spec (e.g. ``{"smile": 1.0}`` or ``{"caption": "..."}``).
        label: short label of the target.
        names: the K evaluator condition names.
        before: [N, K] evaluator scores of the sources.
        after: [N, K] evaluator scores of the results.
        steps: [N] steps taken; status: per-sample status strings.
        facts_before / facts_after: optional per-sample discrete facts (evaluators that offer them).
        keypoints: (x, y) column indices of the evaluator's landmarks (``keypoint_indices()``).
        layers: the w+ layers the edit could change (None: all layers, or not a w+ edit).
    """

    method: str
    target: dict[str, Any]
    label: str
    names: list[str]
    before: np.ndarray
    after: np.ndarray
    steps: np.ndarray
    status: list[str]
    facts_before: list[dict[str, Any]] | None = None
    facts_after: list[dict[str, Any]] | None = None
    keypoints: list[tuple[int, int]] = field(default_factory=list)
    layers: list[int] | None = None


@dataclass
class MetricResult:
    """Named numbers (JSON-able), markdown tables and matplotlib figures (saved as PNG).

    ``legends`` explains the tables for people: table name -> column (or cell kind) -> what it means;
    the run's report prints each table's legend under it.
    """

    values: dict[str, Any]
    tables: dict[str, str] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    legends: dict[str, dict[str, str]] = field(default_factory=dict)


class Metric(MetricDeclaration, Component):
    """Scores evaluations of edits (e.g. MDC curves and MDS)."""

    @abstractmethod
    def compute(self, evaluations: list[EditEvaluation], edits: list[EditOutcome]) -> MetricResult:
        """Score the MDC sweeps (``evaluations``) and/or the example edits (``edits``).

        A metric that needs one of the two and finds it empty returns ``MetricResult({})``.
        """


# --------------------------------------------------------------------------------------------
# Projectors
# --------------------------------------------------------------------------------------------


@dataclass
class Projection:
    """What a projector produced for N images.

    Attributes:
        latents: the projections, ``w`` [N, w_dim] or ``w+`` [N, num_ws, w_dim].
        reconstructions: [N, 3, R, R] in [-1, 1], the generator's rendering of ``latents``.
        losses: the loss curve, one mean loss per optimisation step (empty for one-shot encoders).
        scores: per-image reconstruction scores, name -> [N] list (``psnr`` in dB at least).
        info: anything else worth reporting (the distance used, steps, timings).
    """

    latents: Latents
    reconstructions: torch.Tensor
    losses: list[float]
    scores: dict[str, list[float]]
    info: dict[str, Any] = field(default_factory=dict)

    def report(self) -> dict[str, Any]:
        """JSON-able summary: scores (per image and mean), loss curve, info."""
        means = {k: float(np.mean(v)) for k, v in self.scores.items() if len(v)}
        return {"space": self.latents.space, "images": len(self.latents), "scores": self.scores,
                "mean": means, "losses": self.losses, **self.info}


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio [N] in dB of images [N, 3, H, W] in [-1, 1] (peak-to-peak 2)."""
    mse = ((a.float() - b.float()) ** 2).flatten(1).mean(dim=1).clamp_min(1e-12)
    return 10.0 * torch.log10(4.0 / mse)


class Projector(ProjectorDeclaration, Component):
    """Finds latents whose rendering reproduces given images (GAN inversion).

    ``project(images [N, 3, H, W] in [-1, 1] at the generator's resolution, generator)`` returns a
    :class:`Projection` in ``w`` or ``w+`` (the ``space`` parameter). Optimisers and encoder-based
    inverters (e4e-like) alike are projectors.
    """

    @property
    def space(self) -> str:
        return self.params["space"]

    @abstractmethod
    def project(self, images: torch.Tensor, generator: Generator) -> Projection:
        """images [N, 3, R, R] in [-1, 1] -> :class:`Projection` in ``self.space``."""

    def check_inputs(self, images: torch.Tensor, generator: Generator) -> None:
        """Raise :class:`ComponentError` for images the generator cannot reproduce as given."""
        if "w" not in generator.spaces:
            raise ComponentError(f"{type(generator).__name__} has no W space (spaces: "
                                 f"{', '.join(generator.spaces)}); projection needs a style-based generator")
        r = generator.resolution
        if images.dim() != 4 or images.shape[1] != 3 or images.shape[2:] != (r, r):
            raise ComponentError(f"projection expects images [N, 3, {r}, {r}] (the generator's resolution), "
                                 f"got {list(images.shape)}; load them with sgfkit.load_images(paths, {r})")
        if not torch.isfinite(images).all():
            raise ComponentError("projection got images with NaN or infinite values")


#: kind name -> its base class (from the one kinds table in :mod:`sgfkit.kinds`)
KINDS: dict[str, type[Component]] = {k.name: globals()[k.base] for k in KIND_TABLE}
