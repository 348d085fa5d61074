"""Run a validated recipe: build -> dataset (cached) -> fit (cached) -> edits -> evaluation -> metrics -> outputs.

The dataset is cached under ``output.cache_dir`` keyed by a content hash of the recipe sections it
depends on, the providing plugins' versions and the components' ``versions()``; each fitted
manipulator by the dataset key plus its ``fit_params()``. An unchanged rerun skips both.
Deterministic given the recipe's seed (the RNGs are re-seeded before each stage).
"""
from __future__ import annotations

import inspect

import json
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sgfkit.cache import StageCache, content_hash
from sgfkit.dataset import LatentDataset, cached_dataset
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


class _Timer:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - start, 4)


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2 ** 32)


def build_components(recipe: Recipe, device: str) -> Components:
    """Instantiate every component of a validated recipe (this is where weights load)."""
    data = recipe.data

    def make(path: str, section: dict[str, Any]) -> Any:
        params = {k: v for k, v in section.items() if k != "type"}
        cls = recipe.classes[path]
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
    cls = recipe.classes.get("projector") or get_registry().resolve("projector", section["type"])
    if space is not None:
        section["space"] = space
    return cls(**{k: v for k, v in section.items() if k != "type"}).to(device)


def build_generator(recipe: Recipe, device: str) -> Any:
    """Only the generator of a recipe."""
    params = {k: v for k, v in recipe.data["generator"].items() if k != "type"}
    cls = recipe.classes["generator"]
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
                        comps.generator.resolve_layers(target["layers"])
                    except ComponentError as err:
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


def fit_manipulators(comps: Components, dataset: LatentDataset, data_key: str, cache: StageCache,
                     seed: int, timer: _Timer) -> tuple[dict[str, Any], dict[str, bool]]:
    """Fit (or load from the cache) every manipulator; returns fit reports and cache hits per label."""
    from sgfkit.cache import read_verified, write_verified
    from sgfkit.outputs import write_json_atomic

    reports: dict[str, Any] = {}
    hits: dict[str, bool] = {}
    for manipulator in comps.manipulators:
        key = fit_key(data_key, manipulator)
        state_file, report_file = cache.path("fits", key, ".safetensors"), cache.path("fits", key, ".json")
        with timer.stage(f"fit:{manipulator.label}"):
            report = read_verified(report_file, lambda p: json.loads(p.read_text()), cache.notes)
            if report is not None and read_verified(state_file, lambda p: manipulator.load(p) or True, cache.notes):
                reports[manipulator.label], hits[manipulator.label] = report, True
                _replay_fit_warnings(manipulator.label, report)
                continue
            _seed_everything(seed)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                report = manipulator.fit(dataset, comps.generator, comps.encoder)
            # stored with the fit so that cached reruns show them too (see _replay_fit_warnings)
            stored = [str(w) for w in report.get("warnings", [])]  # what the manipulator reported itself
            stored += [m for m in (str(w.message) for w in caught) if not any(m.endswith(s) for s in stored)]
            report = {**report, "warnings": stored}
            reports[manipulator.label], hits[manipulator.label] = report, False
            if state_file is not None:
                write_verified(state_file, manipulator.save)
                write_verified(report_file, lambda tmp: write_json_atomic(tmp, report))
            _replay_fit_warnings(manipulator.label, report)
    return reports, hits


def _replay_fit_warnings(label: str, report: dict[str, Any]) -> None:
    """Show a fit's stored warnings (the same lines whether the fit ran now or came from the cache)."""
    for message in report.get("warnings", []):
        warnings.warn(f"{label}: {message}", UserWarning, stacklevel=2)


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


def _edit_sources(generator: Any, edits: dict[str, Any], projected: Any, file_sources: Any) -> tuple[Any, ...]:
    """(latents, names) of the example-edit sources when they are not just the seeds; () otherwise.

    Projected photos replace the seeds; the rows of ``edits.latents`` come after either.
    """
    if file_sources is None:
        return (projected.projection.latents, projected.names) if projected else ()
    from sgfkit.latents import Latents

    if projected:
        base, names = projected.projection.latents, list(projected.names)
    else:
        base = generator.to_latents(generator.z_from_seeds(list(edits["seeds"])))
        names = [f"seed {s}" for s in edits["seeds"]]
    names += [f"latent {i}" for i in range(len(file_sources))]
    return (Latents.cat([base, file_sources.to(base.device)]) if len(base) else file_sources), names


def _run_stages(recipe: Recipe, executor: Any, out_dir: str | Path | None, photos: Any = None) -> RunResult:
    from sgfkit.run_outputs import write_run_outputs
    from sgfkit.shards import make_payload, sharded_dataset, sharded_edits, sharded_evaluation

    data = recipe.data
    timer = _Timer()
    seed = data["seed"]
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
    cache_root = Path(out["cache_dir"]) if out["cache"] else None
    cache = StageCache(cache_root)
    hits: dict[str, bool] = {}

    with timer.stage("dataset"):
        key = dataset_key(recipe, comps)
        ds = data["dataset"]

        def build() -> LatentDataset:
            return sharded_dataset(executor, comps, ds["samples"], ds["batch_size"], seed,
                                   payload=lambda: make_payload(recipe, comps, fitted=False))

        dataset, hits["dataset"] = (cached_dataset(cache.path("datasets", key, ".safetensors"), build, cache.notes)
                                    if comps.manipulators else (None, False))
    fit_reports, fit_hits = ({}, {}) if dataset is None else fit_manipulators(comps, dataset, key, cache, seed, timer)
    hits.update({f"fit:{k}": v for k, v in fit_hits.items()})

    payload_cache: list[Any] = []

    def fitted_payload() -> Any:  # built once, only when a Ray executor asks for it
        if not payload_cache:
            payload_cache.append(make_payload(recipe, comps, fitted=True))
        return payload_cache[0]

    projected = None
    if photos is not None:
        from sgfkit.projection import project_photos

        with timer.stage("projection"):
            projected = project_photos(recipe, comps.generator, photos, device)
    records = []
    if data.get("edits") and comps.manipulators:
        with timer.stage("edits"):
            given = _edit_sources(comps.generator, data["edits"], projected, file_sources)
            records, edit_notes = sharded_edits(executor, comps, data["edits"], seed, fitted_payload, *given)
            notes += edit_notes
    evaluations = []
    if data.get("evaluation") and comps.manipulators:
        with timer.stage("evaluation"):
            evaluations, sweep_notes = sharded_evaluation(executor, comps, data["evaluation"], seed, fitted_payload)
            notes += sweep_notes
    results = {}
    with timer.stage("metrics"):
        outcomes = [r.outcome for r in records]
        for label, metric in comps.metrics:
            results[label] = metric.compute(evaluations, outcomes)

    notes = cache.notes + notes
    parent = Path(out_dir) if out_dir is not None else Path(out["dir"])
    try:
        run_dir, metrics = write_run_outputs(parent, recipe, comps, device, records, results, fit_reports,
                                             hits, notes, timer, data["edits"].get("video") if records else None)
        if projected is not None:
            projected.write(run_dir)
    except OSError as exc:
        raise SgfkitError(f"cannot write the run outputs under {parent}: {exc.strerror or exc} "
                          f"({exc.filename or parent}). Choose a writable folder with --out or output.dir") from None
    return RunResult(run_dir, metrics, dict(timer.timings), hits, notes,
                     [r.outcome for r in records], evaluations)
