"""The parallel stages cut into shards: dataset sampling, example edits, evaluation sweeps.

Each stage is planned on the driver (which shards, with which plain-data inputs), run by an
executor (:mod:`sgfkit.executors`: here or on Ray) through the module-level shard functions below,
and joined in shard order. A shard's randomness is seeded from the recipe seed and the shard's
identity, so the result does not depend on where or in which order shards run.

Shards:
* dataset: consecutive slices of the sampled z, each a whole number of ``dataset.batch_size``
  batches (so batches, and therefore every reading, are the same as in one pass);
* edits: one (manipulator, target) pair each;
* evaluation: one (attribute, manipulator, slice of ``shard_size`` samples) each.
"""
from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sgfkit.executors import ShardError, WorkerPayload, shard_seed
from sgfkit.latents import Latents


def _seed(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2 ** 32)


# -- workers --------------------------------------------------------------------------------------
def rebuild_components(payload: WorkerPayload) -> Any:
    """Components of the run from its resolved recipe (registry only) plus the fitted manipulator states."""
    from sgfkit.pipeline import build_components, resolve_device
    from sgfkit.recipe import RecipeError, load_recipe

    try:
        recipe = load_recipe(payload.recipe)
    except RecipeError as err:
        needed = ", ".join(f"{name!r} (plugin {dist})" for name, dist in sorted(payload.providers.items()))
        raise ShardError(f"the recipe does not validate on this worker, usually because a plugin is missing "
                         f"there: install on every node the plugins of {needed}. Details: {err}") from None
    recipe.base_dir = Path(payload.base_dir)
    comps = build_components(recipe, resolve_device(payload.recipe["device"]))
    with tempfile.TemporaryDirectory(prefix="sgfkit-fitted-") as folder:
        for i, manipulator in enumerate(comps.manipulators):
            if manipulator.label in payload.fitted:
                # one file each: a loaded state may stay memory-mapped to its file
                state_file = Path(folder) / f"state-{i}.safetensors"
                state_file.write_bytes(payload.fitted[manipulator.label])
                manipulator.load(state_file)
    return comps


def make_payload(recipe: Any, comps: Any, fitted: bool) -> WorkerPayload:
    """What Ray workers receive: the resolved recipe, its folder, fitted states (safetensors bytes)."""
    from sgfkit.registry import get_registry

    states: dict[str, bytes] = {}
    if fitted:
        with tempfile.TemporaryDirectory(prefix="sgfkit-fitted-") as folder:
            for i, manipulator in enumerate(comps.manipulators):
                state_file = Path(folder) / f"state-{i}.safetensors"
                manipulator.save(state_file)
                states[manipulator.label] = state_file.read_bytes()
    from sgfkit.recipe import COMPONENT_LISTS, COMPONENT_SECTIONS

    registry = get_registry()
    sections = [(recipe.data.get(key), kind) for key, kind in COMPONENT_SECTIONS.items()]
    sections += [(item, kind) for key, kind in COMPONENT_LISTS.items() for item in recipe.data.get(key) or []]
    providers = {section["type"]: registry.get(kind, section["type"]).distribution or "unknown"
                 for section, kind in sections if section}
    return WorkerPayload(recipe.data, str(recipe.base_dir), states, providers)


# -- dataset --------------------------------------------------------------------------------------
@dataclass
class DatasetShard:
    """Samples ``start .. start + len(z)`` of the dataset: their z [n, z_dim] and how to measure them."""

    start: int
    z: np.ndarray
    batch_size: int
    seed: int


def measure_batches(generator: Any, encoder: Any, z: torch.Tensor, start: int, batch_size: int,
                    seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Latents and conditions of z [n, z_dim] (samples ``start..``), batch by batch, each batch seeded
    from its position. Returns latents [n, d] (z, or truncated w) and conditions [n, k], float32 CPU."""
    space = "z" if generator.space == "z" else "w"
    latents, conditions = [], []
    for offset in range(0, len(z), batch_size):
        _seed(shard_seed(seed, "dataset", start + offset))
        part = generator.to_latents(z[offset:offset + batch_size].to(generator.device), space)
        conditions.append(encoder.measure(generator, part, batch_size=batch_size).float().cpu())
        latents.append(part.tensor.float().cpu())
    if not latents:
        return torch.zeros(0, 0), torch.zeros(0, len(encoder.names))
    return torch.cat(latents), torch.cat(conditions)


def dataset_shard(comps: Any, shard: DatasetShard) -> tuple[np.ndarray, np.ndarray]:
    latents, conditions = measure_batches(comps.generator, comps.encoder, torch.from_numpy(shard.z), shard.start,
                                          shard.batch_size, shard.seed)
    return latents.numpy(), conditions.numpy()


def sharded_dataset(executor: Any, comps: Any, samples: int, batch_size: int, seed: int,
                    payload: Callable[[], WorkerPayload]) -> Any:
    """The dataset of ``samples`` (z, latent, condition) triples, sampled in shards."""
    from sgfkit.dataset import LatentDataset

    generator = comps.generator
    z = generator.sample_z(samples, seed).float().cpu()
    per_shard = math.ceil(executor.shard_size / batch_size) * batch_size
    shards = [DatasetShard(start, z[start:start + per_shard].numpy(), batch_size, seed)
              for start in range(0, samples, per_shard)]
    parts = executor.map("Sampling dataset", dataset_shard, shards, components=comps, payload=payload)
    space = "z" if generator.space == "z" else "w"
    return LatentDataset(z, torch.from_numpy(np.concatenate([p[0] for p in parts])),
                         torch.from_numpy(np.concatenate([p[1] for p in parts])), list(comps.encoder.names), space)


# -- example edits --------------------------------------------------------------------------------
@dataclass
class EditShard:
    manipulator: int
    target: int
    config: dict[str, Any]
    seed: int
    #: given sources (projected photos) instead of the config's seeds: latents array, space, names
    sources: np.ndarray | None = None
    space: str | None = None
    names: list[str] | None = None


def edit_shard(comps: Any, shard: EditShard) -> Any:
    from sgfkit.edits import prepare_sources, run_one_edit

    _seed(shard_seed(shard.seed, "edits", "sources"))
    given = None if shard.sources is None else \
        Latents(torch.from_numpy(shard.sources).to(comps.generator.device), str(shard.space))
    prepared = prepare_sources(comps.generator, comps.encoder, comps.evaluator, shard.config, given, shard.names)
    _seed(shard_seed(shard.seed, "edits", shard.manipulator, shard.target))
    return run_one_edit(comps.generator, comps.encoder, comps.evaluator, comps.manipulators[shard.manipulator],
                        shard.config["targets"][shard.target], shard.config, prepared)


def sharded_edits(executor: Any, comps: Any, config: dict[str, Any], seed: int,
                  payload: Callable[[], WorkerPayload], sources: Latents | None = None,
                  names: list[str] | None = None) -> tuple[list[Any], list[str]]:
    """Every (manipulator, target) example edit (on ``sources`` when given); (records, notes on skipped pairs)."""
    given = None if sources is None else sources.tensor.detach().float().cpu().numpy()
    space = None if sources is None else sources.space
    shards = [EditShard(m, t, config, seed, given, space, names) for m in range(len(comps.manipulators))
              for t in range(len(config["targets"]))]
    outcomes = executor.map("Example edits", edit_shard, shards, components=comps, payload=payload)
    records = [r for o in outcomes if not isinstance(o, str) for r in o]  # a chain gives one record per stage
    return records, [o for o in outcomes if isinstance(o, str)]


# -- evaluation sweeps ----------------------------------------------------------------------------
@dataclass
class SweepShard:
    attribute: str
    manipulator: int
    start: int
    latents: np.ndarray
    space: str
    config: dict[str, Any]
    seed: int


def sweep_shard(comps: Any, shard: SweepShard) -> Any:
    from sgfkit.sweeps import sweep_chunk

    _seed(shard_seed(shard.seed, "evaluation", shard.attribute, shard.manipulator, shard.start))
    latents = Latents(torch.from_numpy(shard.latents).to(comps.generator.device), shard.space)
    return sweep_chunk(comps.generator, comps.encoder, comps.evaluator, comps.manipulators[shard.manipulator],
                       shard.attribute, latents, shard.config)


def sharded_evaluation(executor: Any, comps: Any, config: dict[str, Any], seed: int,
                       payload: Callable[[], WorkerPayload]) -> tuple[list[Any], list[str]]:
    """The MDC sweeps of every (attribute, manipulator), in sample shards; (evaluations, notes)."""
    from sgfkit.sweeps import join_chunks

    latents = comps.generator.sample_latents(config["samples"], config["seed"])
    array = latents.tensor.detach().float().cpu().numpy()
    shards = [SweepShard(attribute, m, start, array[start:start + executor.shard_size], latents.space, config, seed)
              for attribute in config["attributes"] for m in range(len(comps.manipulators))
              for start in range(0, len(array), executor.shard_size)]
    outcomes = executor.map("Evaluation sweeps", sweep_shard, shards, components=comps, payload=payload)
    evaluations, notes, groups = [], [], {}
    for shard, outcome in zip(shards, outcomes):
        if isinstance(outcome, str):
            if outcome not in notes:
                notes.append(outcome)
            continue
        groups.setdefault((shard.attribute, shard.manipulator), []).append(outcome)
    for chunks in groups.values():
        evaluations.append(join_chunks(chunks))
    return evaluations, notes
