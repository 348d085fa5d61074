"""Run a validated recipe: build -> dataset (cached) -> fit (cached) -> edits -> evaluation -> metrics -> outputs.

The stages after building are the modules of :mod:`sgfkit.stages`, each ``run(ctx)`` on one
:class:`sgfkit.stages.RunContext`; this module builds the components and holds the cache keys.

The dataset is cached under ``output.cache_dir`` keyed by a content hash of the recipe sections it
depends on, the providing plugins' versions and the components' ``versions()``; each fitted
manipulator by the dataset key plus its ``fit_params()``. An unchanged rerun skips both.
Deterministic given the recipe's seed (the RNGs are re-seeded before each stage).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sgfkit.cache import StageCache, content_hash
from sgfkit.errors import ComponentError, SgfkitError
from sgfkit.recipe import Problem, Recipe, RecipeError
from sgfkit.registry import get_registry


@dataclass
class Components:
    generator: Any
    encoder: Any
    evaluator: Any
    manipulators: list[Any]
    metrics: list[tuple[str, Any]]  # (label, metric)


@dataclass
class RunResult:
    """Where a run went and what it measured."""

    run_dir: Path
    metrics: dict[str, Any]
    timings: dict[str, float]
    cache_hits: dict[str, bool]
    notes: list[str]
    edits: list[Any] = field(default_factory=list)
    evaluations: list[Any] = field(default_factory=list)


def resolve_device(name: str) -> str:
    """``auto`` -> ``cuda`` when available else ``cpu``; an unavailable cuda is a clear error."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ComponentError(f"device {name!r} was requested but CUDA is not available here; "
                             "use --device cpu (or device: auto)")
    return name


def seed_everything(seed: int) -> None:
    """Re-seed torch and numpy (before each stage that draws random numbers)."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2 ** 32)


def _component_class(recipe: Recipe, path: str, name: str) -> type:
    """The component class of a recipe section (validation saw only its torch-free declaration)."""
    return get_registry().resolve(recipe.classes[path].kind, name)


def build_components(recipe: Recipe, device: str) -> Components:
    """Instantiate every component of a validated recipe (this is where weights load)."""
    data = recipe.data

    def make(path: str, section: dict[str, Any]) -> Any:
        params = {k: v for k, v in section.items() if k != "type"}
        cls = _component_class(recipe, path, section["type"])
        # components that read user files take the recipe's folder to resolve relative paths
        if "base_dir" in inspect.signature(cls).parameters:
            params["base_dir"] = recipe.base_dir
        return cls(**params).to(device)

    generator = make("generator", data["generator"])
    encoder = make("encoder", data["encoder"])
    evaluator = make("evaluator", data["evaluator"]) if data.get("evaluator") else encoder
    manipulators = [make(f"manipulators[{i}]", m) for i, m in enumerate(data["manipulators"])]
    metrics, seen = [], set()
    for i, m in enumerate(data["metrics"]):
        label = m["type"] if m["type"] not in seen else f"{m['type']}-{i}"
        seen.add(m["type"])
        metrics.append((label, make(f"metrics[{i}]", m)))
    return Components(generator, encoder, evaluator, manipulators, metrics)


def build_projector(recipe: Recipe, device: str, space: str | None = None) -> Any:
    """The recipe's projector (``{type: optimize}`` when it names none), optionally forced to ``space``."""
    section = dict(recipe.data.get("projector") or {"type": "optimize"})
    cls = get_registry().resolve("projector", section["type"])
    if space is not None:
        section["space"] = space
    return cls(**{k: v for k, v in section.items() if k != "type"}).to(device)


def build_generator(recipe: Recipe, device: str) -> Any:
    """Only the generator of a recipe."""
    params = {k: v for k, v in recipe.data["generator"].items() if k != "type"}
    cls = _component_class(recipe, "generator", recipe.data["generator"]["type"])
    if "base_dir" in inspect.signature(cls).parameters:
        params["base_dir"] = recipe.base_dir
    return cls(**params).to(device)


def preflight(recipe: Recipe, comps: Components) -> list[str]:
    """Check what needs built components (target and attribute names) before the expensive stages."""
    from sgfkit.edits import stages

    problems: list[Problem] = []
    notes: list[str] = []
    edits, evaluation = recipe.data.get("edits"), recipe.data.get("evaluation")
    if edits:
        probe = torch.zeros(1, len(comps.encoder.names))
        for i, target in enumerate(edits["targets"]):
            path = ("edits", "targets", i)
            try:
                for stage in stages(target["target"]):
                    comps.encoder.target_dims(stage)
                    comps.encoder.target(stage, probe)
            except (ComponentError, KeyError, TypeError, ValueError) as err:
                problems.append(Problem((*path, "target"), None, f"{type(err).__name__}: {err}"))
            if target["layers"] is not None:
                if comps.generator.space != "w+":
                    notes.append(f"edit '{target.get('label') or i}': layers apply only in w+ space; ignored")
                else:
                    try:
                        if target["layers"] == "auto":
                            for stage in stages(target["target"]):
                                comps.encoder.target_aspects(stage)
                        else:
                            comps.generator.resolve_layers(target["layers"])
                    except (ComponentError, KeyError, TypeError, ValueError) as err:
                        problems.append(Problem((*path, "layers"), None, str(err)))
    if evaluation:
        for i, attribute in enumerate(evaluation["attributes"]):
            for role, enc in (("encoder", comps.encoder), ("evaluator", comps.evaluator)):
                try:
                    enc.index_of(attribute)
                except ComponentError as err:
                    problems.append(Problem(("evaluation", "attributes", i), None, f"{role}: {err}"))
                    break
    if problems:
        raise RecipeError(problems, f"recipe {recipe.name!r}")
    return notes


def _provider(kind: str, name: str) -> dict[str, Any]:
    spec = get_registry().get(kind, name)
    return {"plugin": spec.plugin, "distribution": spec.distribution, "version": spec.version}


def dataset_key(recipe: Recipe, comps: Components) -> str:
    data = recipe.data
    return content_hash({
        "stage": "dataset", "seed": data["seed"], "dataset": data["dataset"],
        "generator": data["generator"], "encoder": data["encoder"],
        "providers": [_provider("generator", data["generator"]["type"]),
                      _provider("condition-encoder", data["encoder"]["type"])],
        "versions": [comps.generator.versions(), comps.encoder.versions()],
    })


def fit_key(data_key: str, manipulator: Any) -> str:
    return content_hash({"stage": "fit", "dataset": data_key, "type": manipulator.registry_name,
                         "provider": _provider("manipulator", manipulator.registry_name),
                         "fit_params": manipulator.fit_params(), "versions": manipulator.versions()})


def run_recipe(recipe: Recipe, out_dir: str | Path | None = None, photos: Any = None) -> RunResult:
    """Run every stage of a validated recipe and write its run folder.

    ``photos`` (image files): project them with the recipe's projector, in the generator's space, and
    edit the projections instead of the seeds' samples (``sgfkit edit``); the run folder also gets
    ``projection.png`` / ``projection.json``.
    """
    from sgfkit.executors import make_executor

    from sgfkit.threads import use_threads

    executor = make_executor(recipe.data.get("executor"))
    try:
        with use_threads(recipe.data.get("threads"), "recipe"):
            return _run_stages(recipe, executor, out_dir, photos)
    finally:
        executor.close()


def _run_stages(recipe: Recipe, executor: Any, out_dir: str | Path | None, photos: Any = None) -> RunResult:
    from sgfkit import stages
    from sgfkit.run_outputs import write_run_outputs
    from sgfkit.stages import dataset, edits, evaluation, fit, metrics

    data = recipe.data
    timer = stages.Timer()
    device = resolve_device(data["device"])
    with timer.stage("build"):
        comps = build_components(recipe, device)
        notes = preflight(recipe, comps)
        file_sources = None
        if data.get("edits") and data["edits"].get("latents"):  # a bad file fails before any fitting
            from sgfkit.latent_files import load_source_latents
            file_sources = load_source_latents(data["edits"]["latents"], data["edits"].get("latents_key"),
                                               comps.generator, recipe.base_dir)
    out = data["output"]
    cache = StageCache(Path(out["cache_dir"]) if out["cache"] else None)
    ctx = stages.RunContext(recipe, comps, device, executor, cache, photos=photos, file_sources=file_sources,
                            timer=timer, notes=notes)
    for stage in (dataset, fit, edits, evaluation, metrics):  # each adds its results to ctx
        stage.run(ctx)
    ctx.notes = cache.notes + ctx.notes  # damaged cache files first
    parent = Path(out_dir) if out_dir is not None else ctx.run_parent
    try:
        run_dir, metrics_json = write_run_outputs(parent, ctx)
        if ctx.projected is not None:
            ctx.projected.write(run_dir)
    except OSError as exc:
        raise SgfkitError(f"cannot write the run outputs under {parent}: {exc.strerror or exc} "
                          f"({exc.filename or parent}). Choose a writable folder with --out or output.dir") from None
    return RunResult(run_dir, metrics_json, dict(timer.timings), ctx.hits, ctx.notes,
                     [r.outcome for r in ctx.records], ctx.evaluations)
