"""The example-edit stage: each manipulator x each recipe target on a few seeds, scored and drawn.

For every (manipulator, target): sources = ``to_latents(z_from_seeds(seeds))``, c0 = encoder.measure,
c1 = encoder.target(spec, c0), then ``manipulator.edit``. The evaluator scores sources and results
(:class:`EditOutcome`); the grid shows source | path | result labelled by ``encoder.describe``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from sgfkit.components import EditOutcome, EditRequest
from sgfkit.errors import ComponentError
from sgfkit.latents import Latents
from sgfkit.outputs import GridBlock, to_uint8


@dataclass
class EditRecord:
    """One (manipulator, target) edit: its scored outcome, its latents and its grid block."""

    outcome: EditOutcome
    sources: np.ndarray   # [N, ...] source latents
    results: np.ndarray   # [N, ...] result latents
    path: np.ndarray      # [T, N, ...] the whole edit path (path[0] = sources)
    block: GridBlock


def target_label(target: dict[str, Any]) -> str:
    """The label a recipe target shows under (its ``label`` or its compact spec)."""
    return target.get("label") or json.dumps(target["target"], separators=(",", ":"))


def _path_picks(length: int, steps: int) -> list[int]:
    """Indices of up to ``steps`` evenly spaced interior points of a path of ``length`` latents."""
    interior = list(range(1, length - 1))
    if len(interior) <= steps:
        return interior
    return sorted({int(round(i)) for i in np.linspace(1, length - 2, steps)})


def _render(generator: Any, encoder: Any, latents: Latents, dims: list[int]) -> tuple[np.ndarray, list[str]]:
    images = to_uint8(generator.synthesize(latents))
    labels = encoder.describe(encoder.measure(generator, latents), dims)
    return images, labels


def _facts(evaluator: Any, generator: Any, latents: Latents) -> list[dict[str, Any]] | None:
    facts = getattr(evaluator, "facts", None)
    return facts(generator, latents) if callable(facts) else None


@dataclass
class EditSources:
    """The example-edit sources shared by every (manipulator, target): latents, readings, images.

    Attributes:
        seeds: one seed per source; sources: their latents (the generator's space).
        c0: [N, k] encoder readings; before: [N, K] evaluator readings; facts_before: evaluator facts or None.
        images: [N, H, W, 3] uint8 renders of the sources.
    """

    seeds: list[int]
    sources: Latents
    c0: torch.Tensor
    before: torch.Tensor
    facts_before: list[dict[str, Any]] | None
    images: np.ndarray


def prepare_sources(generator: Any, encoder: Any, evaluator: Any, config: dict[str, Any]) -> EditSources:
    """Latents, readings and renders of the recipe's edit seeds."""
    seeds = list(config["seeds"])
    sources = generator.to_latents(generator.z_from_seeds(seeds))
    return EditSources(seeds, sources, encoder.measure(generator, sources), evaluator.measure(generator, sources),
                       _facts(evaluator, generator, sources), to_uint8(generator.synthesize(sources)))


def run_one_edit(generator: Any, encoder: Any, evaluator: Any, manipulator: Any, target: dict[str, Any],
                 config: dict[str, Any], prepared: EditSources) -> EditRecord | str:
    """One manipulator on one recipe target: its record, or a note saying why it was skipped."""
    label = target_label(target)
    try:
        manipulator.check_target(encoder)
    except ComponentError as err:
        return f"{manipulator.label} skipped for edit '{label}': {err}"
    sources, c0 = prepared.sources, prepared.c0
    c1 = encoder.target(target["target"], c0)
    dims = encoder.target_dims(target["target"])
    layers = generator.resolve_layers(target["layers"]) if sources.space == "w+" else None
    result = manipulator.edit(EditRequest(sources, c0, c1, dims, layers), generator, encoder)
    result.latents.check_finite(f"{manipulator.label} results for '{label}'")
    after = evaluator.measure(generator, result.latents)
    outcome = EditOutcome(
        method=manipulator.label, target=dict(target["target"]), label=label,
        names=list(evaluator.names), before=prepared.before.cpu().numpy(), after=after.cpu().numpy(),
        steps=torch.as_tensor(result.steps).cpu().numpy(), status=list(result.status),
        facts_before=prepared.facts_before, facts_after=_facts(evaluator, generator, result.latents))
    block = _grid_block(generator, encoder, manipulator.label, label, prepared.seeds, c0, result,
                        dims, config["path_steps"], prepared.images)
    path = np.stack([p.tensor.detach().cpu().numpy() for p in result.path]) if result.path else \
        np.zeros((0,) + tuple(sources.tensor.shape), np.float32)
    return EditRecord(outcome, sources.tensor.cpu().numpy(), result.latents.tensor.detach().cpu().numpy(), path, block)


def _grid_block(generator: Any, encoder: Any, method: str, label: str, seeds: list[int], c0: torch.Tensor,
                result: Any, dims: list[int], path_steps: int, src_images: np.ndarray) -> GridBlock:
    """Rows (one per seed) of source | picked path points | result, each labelled by ``encoder.describe``."""
    src_labels = encoder.describe(c0, dims)
    columns = [(src_images, [f"source: {t}" for t in src_labels])]
    for index in _path_picks(len(result.path), path_steps):
        images, labels = _render(generator, encoder, result.path[index], dims)
        columns.append((images, [f"step {index}: {t}" for t in labels]))
    images, labels = _render(generator, encoder, result.latents, dims)
    columns.append((images, [f"result ({s}): {t}" for s, t in zip(result.status, labels)]))
    rows = [[(col_images[i], f"seed {seeds[i]} {col_labels[i]}" if c == 0 else col_labels[i])
             for c, (col_images, col_labels) in enumerate(columns)] for i in range(len(seeds))]
    return GridBlock(f"{method} -> {label}", rows)
