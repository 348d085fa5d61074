"""The example-edit stage: each manipulator x each recipe target on a few seeds, scored and drawn.

For every (manipulator, target): sources = ``to_latents(z_from_seeds(seeds))``, c0 = encoder.measure,
c1 = encoder.target(spec, c0), then ``manipulator.edit``. The evaluator scores sources and results
(:class:`EditOutcome`); the grid shows source | path | result labelled by ``encoder.describe``.
Sources may instead be given latents (projected photos, ``sgfkit edit``), named for the grid.

A ``layers: auto`` target whose parts live in disjoint layer groups carries ``stages`` (added by
``sgfkit.layer_map.resolve_auto_layers``): it is edited stage by stage (:func:`edit_in_stages`) and scored
once, from the source to the end of the last stage.

A chain target (a list of targets) edits in order, each stage starting from the previous stage's
result and measuring its own c0: one scored outcome per stage (label ``"<chain> [k/K]"``, scored
against the stage's own start), one grid block per chain (source | stage 1 | ... | stage K).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from sgfkit.components import EditOutcome, EditRequest, EditResult
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
    block: GridBlock | None  # None for the inner stages of a chain (its last stage holds the block)


def stages(target: dict[str, Any] | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A recipe target's stages: ``[target]``, or the chain's targets in order."""
    return list(target) if isinstance(target, list) else [target]


def target_label(target: dict[str, Any]) -> str:
    """The label a recipe target shows under (its ``label`` or its compact spec; chains joined by ' > ')."""
    if target.get("label"):
        return target["label"]
    return " > ".join(json.dumps(t, separators=(",", ":")) for t in stages(target["target"]))


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


@dataclass
class EditSources:
    """The example-edit sources shared by every (manipulator, target): latents, readings, images.

    Attributes:
        seeds: one name per source ("seed 3", or a photo's file name); sources: their latents (the generator's space).
        c0: [N, k] encoder readings; before: [N, K] evaluator readings; facts_before: evaluator facts or None.
        images: [N, H, W, 3] uint8 renders of the sources.
    """

    seeds: list[str]
    sources: Latents
    c0: torch.Tensor
    before: torch.Tensor
    facts_before: list[dict[str, Any]] | None
    images: np.ndarray


def prepare_sources(generator: Any, encoder: Any, evaluator: Any, config: dict[str, Any],
                    sources: Latents | None = None, names: list[str] | None = None) -> EditSources:
    """Latents, readings and renders of the recipe's edit seeds (or of given ``sources``, named ``names``)."""
    if sources is None:
        sources = generator.to_latents(generator.z_from_seeds(list(config["seeds"])))
        names = [f"seed {s}" for s in config["seeds"]]
    seeds = list(names or [f"#{i}" for i in range(len(sources))])
    return EditSources(seeds, sources, encoder.measure(generator, sources), evaluator.measure(generator, sources),
                       evaluator.facts(generator, sources), to_uint8(generator.synthesize(sources)))


def run_one_edit(generator: Any, encoder: Any, evaluator: Any, manipulator: Any, target: dict[str, Any],
                 config: dict[str, Any], prepared: EditSources) -> list[EditRecord] | str:
    """One manipulator on one recipe target: its records (one per chain stage), or a note saying why it was skipped."""
    label = target_label(target)
    try:
        manipulator.check_target(encoder)
    except ComponentError as err:
        return f"{manipulator.label} skipped for edit '{label}': {err}"
    sources, c0 = prepared.sources, prepared.c0
    layers = generator.resolve_layers(target["layers"]) if sources.space == "w+" else None
    chain = stages(target["target"])
    start, c_start, b_start, f_start = sources, c0, prepared.before, prepared.facts_before
    finals: list[tuple[Latents, str]] = []
    records: list[EditRecord] = []
    for k, spec in enumerate(chain):
        stage_label = label if len(chain) == 1 else f"{label} [{k + 1}/{len(chain)}]"
        if k:
            c_start = encoder.measure(generator, start)
        dims = encoder.target_dims(spec)
        if target.get("stages"):   # set for single targets only (sgfkit.layer_map.plan_stages)
            result = edit_in_stages(manipulator, generator, encoder, start, c_start, target["stages"])
        else:
            c1 = encoder.target(spec, c_start)
            result = manipulator.edit(EditRequest(start, c_start, c1, dims, layers), generator, encoder)
        result.latents.check_finite(f"{manipulator.label} results for '{stage_label}'")
        after = evaluator.measure(generator, result.latents)
        f_after = evaluator.facts(generator, result.latents)
        outcome = EditOutcome(
            method=manipulator.label, target=dict(spec), label=stage_label,
            names=list(evaluator.names), before=b_start.cpu().numpy(), after=after.cpu().numpy(),
            steps=torch.as_tensor(result.steps).cpu().numpy(), status=list(result.status),
            facts_before=f_start, facts_after=f_after, keypoints=evaluator.keypoint_indices(), layers=layers)
        block = None
        if len(chain) == 1:
            block = _grid_block(generator, encoder, manipulator.label, label, prepared.seeds, c0, result,
                                dims, config["path_steps"], prepared.images)
        else:
            finals.append((result.latents, json.dumps(spec, separators=(",", ":"))))
            if k == len(chain) - 1:
                every = sorted({d for st in chain for d in encoder.target_dims(st)})
                block = _chain_block(generator, encoder, manipulator.label, label, prepared.seeds, c0,
                                     finals, every, prepared.images)
        path = np.stack([p.tensor.detach().cpu().numpy() for p in result.path]) if result.path else \
            np.zeros((0,) + tuple(sources.tensor.shape), np.float32)
        records.append(EditRecord(outcome, start.tensor.cpu().numpy(),
                                  result.latents.tensor.detach().cpu().numpy(), path, block))
        start, b_start, f_start = result.latents, after, f_after
    return records


def edit_in_stages(manipulator: Any, generator: Any, encoder: Any, start: Latents, c_start: torch.Tensor,
                   staged: list[dict[str, Any]]) -> EditResult:
    """One target edited stage by stage (``layers: auto`` on aspects in disjoint layer groups, see
    ``sgfkit.layer_map.plan_stages``): each stage's sub-target on its own layers, from where the last one
    ended. One result: the joined path, the summed steps, and per sample the first status that is not
    ``converged`` (or the last stage's)."""
    latents, c0, path, steps, statuses = start, c_start, [start], torch.zeros(len(start), dtype=torch.long), None
    for k, stage in enumerate(staged):
        if k:
            c0 = encoder.measure(generator, latents)
        spec = stage["target"]
        request = EditRequest(latents, c0, encoder.target(spec, c0), encoder.target_dims(spec), list(stage["layers"]))
        result = manipulator.edit(request, generator, encoder)
        latents, path = result.latents, path + list(result.path[1:])
        steps = steps + torch.as_tensor(result.steps).long().cpu()
        statuses = list(result.status) if statuses is None else \
            [old if old != "converged" else new for old, new in zip(statuses, result.status)]
    return EditResult(latents, path, steps, statuses or [])


def _chain_block(generator: Any, encoder: Any, method: str, label: str, seeds: list[str], c0: torch.Tensor,
                 finals: list[tuple[Latents, str]], dims: list[int], src_images: np.ndarray) -> GridBlock:
    """Rows (one per source) of source | stage 1 result | ... | stage K result, labelled by ``encoder.describe``."""
    columns = [(src_images, [f"source: {t}" for t in encoder.describe(c0, dims)])]
    for k, (latents, spec) in enumerate(finals):
        images, labels = _render(generator, encoder, latents, dims)
        columns.append((images, [f"{k + 1}. {spec}: {t}" for t in labels]))
    rows = [[(col_images[i], f"{seeds[i]} {col_labels[i]}" if c == 0 else col_labels[i])
             for c, (col_images, col_labels) in enumerate(columns)] for i in range(len(seeds))]
    return GridBlock(f"{method} -> {label}", rows)


def _grid_block(generator: Any, encoder: Any, method: str, label: str, seeds: list[str], c0: torch.Tensor,
                result: Any, dims: list[int], path_steps: int, src_images: np.ndarray) -> GridBlock:
    """Rows (one per seed) of source | picked path points | result, each labelled by ``encoder.describe``."""
    src_labels = encoder.describe(c0, dims)
    columns = [(src_images, [f"source: {t}" for t in src_labels])]
    for index in _path_picks(len(result.path), path_steps):
        images, labels = _render(generator, encoder, result.path[index], dims)
        columns.append((images, [f"step {index}: {t}" for t in labels]))
    images, labels = _render(generator, encoder, result.latents, dims)
    columns.append((images, [f"result ({s}): {t}" for s, t in zip(result.status, labels)]))
    rows = [[(col_images[i], f"{seeds[i]} {col_labels[i]}" if c == 0 else col_labels[i])
             for c, (col_images, col_labels) in enumerate(columns)] for i in range(len(seeds))]
    return GridBlock(f"{method} -> {label}", rows)
