"""The model side of ``sgfkit serve``: a run's components with their cached fits, answering edit requests.

:meth:`EditorSession.open` rebuilds the components of a run folder from its ``recipe.resolved.yaml``
and loads each manipulator's fitted state from the stage cache (the same content-hash keys the run
used, so a code or weights change that invalidates the fit is noticed, not papered over).
Every request is validated here (:func:`parse_seed`, :meth:`EditorSession.parse_edit`) and rejected
with a :class:`~sgfkit.errors.RequestError` that names the problem and the fix.
Model calls are serialised by one lock: components are not thread-safe, the HTTP server is.
"""
from __future__ import annotations

import base64
import io
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sgfkit.errors import ComponentError, RequestError, SgfkitError, did_you_mean
from sgfkit.layer_map import LAYER_MAP_SAMPLES

#: seeds a user may pick: what ``Generator.sample_z`` accepts everywhere
MAX_SEED = 2 ** 31 - 1
#: longest caption accepted (the captioner's sentences are far shorter)
MAX_CAPTION_CHARS = 300
#: path images returned per edit (evenly spaced interior points)
PATH_FRAMES = 4
#: seeds whose source latents, image and reading stay in memory
SOURCE_CACHE = 64


def parse_seed(value: Any) -> int:
    """A seed from JSON (int) or a query string (digits) -> int in [0, MAX_SEED]."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())  # a query-string seed
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise RequestError(f"seed must be a whole number from 0 to {MAX_SEED}, got {value!r}; "
                           "pick another seed")
    return value


def png_data_uri(image: Any) -> str:
    """uint8 [H, W, 3] -> ``data:image/png;base64,...``."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


@dataclass
class Slider:
    """One attribute the page offers a slider for: condition column ``index``, values in [low, high]."""

    name: str
    index: int
    low: float = 0.0
    high: float = 1.0


@dataclass
class _Source:
    latents: Any      # Latents [1, ...]
    c0: Any           # [1, k]
    image: str        # data URI
    reading: dict[str, float]
    description: str


def _target_attribute_names(data: dict[str, Any]) -> list[str]:
    """Attribute names the recipe targets (edits) or scores (evaluation), in order of appearance."""
    names: list[str] = []
    for target in (data.get("edits") or {}).get("targets", []):
        for key, value in (target.get("target") or {}).items():
            if key == "offset" and isinstance(value, dict):
                names.extend(value)
            elif key == "hold":
                names.extend([value] if isinstance(value, str) else value)
            elif not isinstance(value, (dict, list)):
                names.append(key)
    names.extend((data.get("evaluation") or {}).get("attributes", []))
    return list(dict.fromkeys(str(n) for n in names))


def choose_sliders(encoder: Any, data: dict[str, Any]) -> list[Slider]:
    """Sliders for the recipe's target attributes (all attributes if it names none); no pixel coordinates.

    Embedding encoders (captions) get no sliders: the page shows a caption box instead.
    """
    if encoder.condition_kind in ("embedding", "keypoints"):
        return []
    is_pixel = getattr(encoder, "is_pixel_dim", lambda i: False)
    names = list(encoder.names)
    usable = [n for i, n in enumerate(names) if not is_pixel(i)]
    wanted = [n for n in _target_attribute_names(data) if n in usable] or usable
    return [Slider(n, names.index(n)) for n in wanted]


def _caption_presets(data: dict[str, Any]) -> list[str]:
    return [t["target"]["caption"] for t in (data.get("edits") or {}).get("targets", [])
            if isinstance(t.get("target"), dict) and isinstance(t["target"].get("caption"), str)]


class EditorSession:
    """A run's generator, encoder and fitted manipulators, ready to edit one seed at a time."""

    def __init__(self, run_dir: Path, recipe: Any, comps: Any, methods: dict[str, Any]) -> None:
        self.run_dir = run_dir
        self.recipe = recipe
        self.generator = comps.generator
        self.encoder = comps.encoder
        self.methods = methods
        self.sliders = choose_sliders(self.encoder, recipe.data)
        self.caption = self.encoder.condition_kind == "embedding"
        # "auto": the layers that carry what the target names, from a layer map measured on first use
        self.layer_groups = ["auto", *self.generator.layer_groups] if self.generator.space == "w+" else []
        self._layer_map: Any = None
        self._layer_probes = int((recipe.data.get("edits") or {}).get("layer_probes") or LAYER_MAP_SAMPLES)
        self._lock = threading.Lock()
        self._sources: OrderedDict[int, _Source] = OrderedDict()

    # -- loading -------------------------------------------------------------------------------
    @classmethod
    def open(cls, run_dir: str | Path, cache_dir: str | Path | None = None, device: str | None = None,
             fit_missing: bool = False) -> EditorSession:
        """Rebuild the run's components and load every fitted manipulator from the cache.

        ``cache_dir`` defaults to the recipe's ``output.cache_dir`` (relative to the working folder,
        as ``sgfkit run`` used it, then relative to the folder above the runs folder). A fit missing
        from the cache is an error naming the fix, unless ``fit_missing`` fits it now (and caches it).
        """
        from sgfkit.api import load_recipe
        from sgfkit.pipeline import (
            Components,
            build_components,
            dataset_key,
            fit_key,
            resolve_device,
        )

        run_dir = Path(run_dir)
        recipe_file = run_dir / "recipe.resolved.yaml"
        if not recipe_file.is_file():
            raise SgfkitError(f"{run_dir} is not a run folder (no recipe.resolved.yaml in it); pass a folder "
                              "that 'sgfkit run' wrote, e.g. runs/00000-flowers-caption")
        overrides = [f"device={device}"] if device else []
        recipe = load_recipe(recipe_file, overrides)
        comps = build_components(recipe, resolve_device(recipe.data["device"]))
        if not comps.manipulators:
            raise SgfkitError(f"the recipe of {run_dir} has no manipulators: nothing to edit with")
        roots = _cache_candidates(run_dir, recipe.data["output"], cache_dir)
        data_key = dataset_key(recipe, comps)
        missing = []
        for manipulator in comps.manipulators:
            key = fit_key(data_key, manipulator)
            found = next((r / "fits" / f"{key}.safetensors" for r in roots
                          if (r / "fits" / f"{key}.safetensors").is_file()), None)
            if found is not None:
                manipulator.load(found)
            else:
                missing.append(manipulator)
        if missing and not fit_missing:
            where = ", ".join(str(r) for r in roots) or "nowhere (output.cache is off)"
            raise SgfkitError(
                f"no cached fit of {', '.join(repr(m.label) for m in missing)} for {run_dir} (looked in {where}); "
                "serve from the folder you ran 'sgfkit run' in, pass --cache-dir, or add --fit to fit now")
        if missing:
            _fit_now(recipe, comps, missing, roots[0] if roots else None, data_key)
        methods = {}
        for m in comps.manipulators:
            try:
                m.check_target(comps.encoder)
                methods[m.label] = m
            except ComponentError:
                continue  # e.g. InterFaceGAN with a caption encoder: not offered on the page
        if not methods:
            raise SgfkitError(f"no manipulator of {run_dir} can edit towards {comps.encoder.condition_kind} "
                              "conditions; use a run with sgf")
        return cls(run_dir, recipe, Components(comps.generator, comps.encoder, comps.evaluator,
                                               list(methods.values()), []), methods)

    # -- what the page needs -----------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        """Everything the page builds its controls from (JSON-able)."""
        seeds = list((self.recipe.data.get("edits") or {}).get("seeds") or [0])
        return {"run": self.run_dir.name, "name": self.recipe.name,
                "generator": self.generator.registry_name, "encoder": self.encoder.registry_name,
                "condition_kind": self.encoder.condition_kind, "methods": list(self.methods),
                "sliders": [vars(s) for s in self.sliders], "caption": self.caption,
                "presets": _caption_presets(self.recipe.data), "layers": self.layer_groups,
                "seeds": seeds, "max_seed": MAX_SEED, "resolution": self.generator.resolution}

    def sample(self, seed: Any) -> dict[str, Any]:
        """The source image of ``seed`` and the encoder's reading of it."""
        seed = parse_seed(seed)
        with self._lock:
            src = self._source(seed)
        return {"seed": seed, "image": src.image, "reading": src.reading, "description": src.description}

    def parse_edit(self, body: Any) -> dict[str, Any]:
        """Validate an edit request ``{seed, method, target, layers?}``; returns it normalised."""
        if not isinstance(body, dict):
            raise RequestError("the request body must be a JSON object like "
                               '{"seed": 0, "method": "SGF", "target": {"smile": 0.8}}')
        unknown = sorted(set(body) - {"seed", "method", "target", "layers"})
        if unknown:
            raise RequestError(f"unknown request field {unknown[0]!r};"
                               f"{did_you_mean(unknown[0], ['seed', 'method', 'target', 'layers'])} "
                               "fields: seed, method, target, layers")
        seed = parse_seed(body.get("seed"))
        method = body.get("method", next(iter(self.methods)))
        if method not in self.methods:
            raise RequestError(f"unknown method {method!r};{did_you_mean(str(method), self.methods)} "
                               f"this run offers: {', '.join(self.methods)}")
        layers = body.get("layers")
        if layers is not None and layers not in self.layer_groups:
            offered = ", ".join(self.layer_groups) or "none (not a w+ run)"
            raise RequestError(f"unknown layers {layers!r};{did_you_mean(str(layers), self.layer_groups)} "
                               f"layer groups: {offered}")
        target = body.get("target")
        if not isinstance(target, dict):
            raise RequestError('target must be a JSON object: {"caption": "..."} or {"attribute": value}')
        return {"seed": seed, "method": method, "layers": layers,
                "target": self._parse_caption(target) if self.caption else self._parse_values(target)}

    def _parse_caption(self, target: dict[str, Any]) -> dict[str, Any]:
        text = target.get("caption")
        if set(target) != {"caption"} or not isinstance(text, str) or not text.strip():
            raise RequestError('this run edits towards captions: send {"caption": "this flower has red petals"}')
        if len(text) > MAX_CAPTION_CHARS:
            raise RequestError(f"the caption has {len(text)} characters; keep it under {MAX_CAPTION_CHARS}")
        return {"caption": text.strip()}

    def _parse_values(self, target: dict[str, Any]) -> dict[str, float]:
        sliders = {s.name: s for s in self.sliders}
        out: dict[str, float] = {}
        for name, value in target.items():
            if name not in sliders:
                raise RequestError(f"unknown attribute {name!r};{did_you_mean(str(name), sliders)} "
                                   f"this run's attributes: {', '.join(sliders) or 'none'}")
            slider = sliders[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or not slider.low <= value <= slider.high:
                raise RequestError(f"{name} must be a number from {slider.low:g} to {slider.high:g}, "
                                   f"got {value!r}")
            out[name] = float(value)
        return out

    def edit(self, body: Any) -> dict[str, Any]:
        """Validate and run one edit; returns the result image, path images and the encoder's reading."""
        from sgfkit.components import EditRequest
        from sgfkit.edits import _path_picks, edit_in_stages
        from sgfkit.outputs import to_uint8

        req = self.parse_edit(body)
        start = time.perf_counter()
        with self._lock:
            src = self._source(req["seed"])
            if not req["target"]:  # nothing asked: the source is the answer
                return {"seed": req["seed"], "method": req["method"], "image": src.image, "path": [],
                        "reading": src.reading, "description": src.description, "steps": 0,
                        "status": "unchanged", "ms": round(1000 * (time.perf_counter() - start), 1)}
            try:
                c1 = self.encoder.target(req["target"], src.c0)
                dims = self.encoder.target_dims(req["target"])
            except (ComponentError, KeyError, TypeError, ValueError) as err:
                raise RequestError(f"bad target: {err}") from None
            layers, staged = self._layers(req["layers"], req["target"])
            manipulator = self.methods[req["method"]]
            if staged:
                result = edit_in_stages(manipulator, self.generator, self.encoder, src.latents, src.c0, staged)
            else:
                result = manipulator.edit(EditRequest(src.latents, src.c0, c1, dims, layers),
                                          self.generator, self.encoder)
            picks = _path_picks(len(result.path), PATH_FRAMES)
            frames = [result.path[i] for i in picks] + [result.latents]
            images = to_uint8(self.generator.synthesize(_stack(frames)))
            reading_c = self.encoder.measure(self.generator, result.latents)
            description = self.encoder.describe(reading_c, dims)[0]
        return {"seed": req["seed"], "method": req["method"], "image": png_data_uri(images[-1]),
                "path": [png_data_uri(im) for im in images[:-1]], "reading": self._reading(reading_c),
                "description": description, "steps": int(result.steps[0]), "status": str(result.status[0]),
                "ms": round(1000 * (time.perf_counter() - start), 1)}

    def _layers(self, spec: str | None, target: dict[str, Any]) -> tuple[list[int] | None, list[dict[str, Any]] | None]:
        """(w+ layers, stages or None) of an edit: all (None), a group's, or for ``auto`` those the layer map
        gives the target, in stages when its parts live in different groups (as in a run)."""
        if not spec:
            return None, None
        if spec != "auto":
            return self.generator.resolve_layers(spec), None
        from sgfkit.layer_map import measure_layer_map, plan_stages

        if self._layer_map is None:
            self._layer_map = measure_layer_map(self.generator, self.encoder, self._layer_probes)
        aspects = self.encoder.target_aspects(target)
        return self._layer_map.choose(aspects)[0], plan_stages(self._layer_map, self.encoder, target, aspects)

    def warm_up(self) -> None:
        """One edit per method on the first seed, so that the user's first edit is not the slow one
        (first calls pay for lazy loading and allocation)."""
        seed = self.info()["seeds"][0]
        if self.caption:
            presets = _caption_presets(self.recipe.data)
            target: dict[str, Any] = {"caption": presets[0]} if presets else {}
        else:
            target = {self.sliders[0].name: self.sliders[0].high} if self.sliders else {}
        if target:
            for method in self.methods:
                self.edit({"seed": seed, "method": method, "target": target})

    # -- helpers -------------------------------------------------------------------------------
    def _reading(self, c: Any) -> dict[str, float]:
        return {s.name: round(float(c[0, s.index]), 4) for s in self.sliders}

    def _source(self, seed: int) -> _Source:
        """Source latents, image and reading of ``seed`` (kept for the last SOURCE_CACHE seeds)."""
        from sgfkit.outputs import to_uint8

        if seed in self._sources:
            self._sources.move_to_end(seed)
            return self._sources[seed]
        latents = self.generator.to_latents(self.generator.z_from_seeds([seed]))
        c0 = self.encoder.measure(self.generator, latents)
        image = png_data_uri(to_uint8(self.generator.synthesize(latents))[0])
        src = _Source(latents, c0, image, self._reading(c0), self.encoder.describe(c0)[0])
        self._sources[seed] = src
        if len(self._sources) > SOURCE_CACHE:
            self._sources.popitem(last=False)
        return src


def _stack(frames: Sequence[Any]) -> Any:
    """Latents of one sample each -> one batch (same space)."""
    import torch

    return frames[0].with_tensor(torch.cat([f.tensor.detach() for f in frames]))


def _cache_candidates(run_dir: Path, output: dict[str, Any], cache_dir: str | Path | None) -> list[Path]:
    if cache_dir is not None:
        return [Path(cache_dir)]
    if not output.get("cache", True):
        return []
    configured = Path(output.get("cache_dir") or ".sgfkit-cache")
    if configured.is_absolute():
        return [configured]
    # the run used it relative to its working folder: usually the folder that holds runs/
    roots = [Path.cwd() / configured, run_dir.resolve().parent.parent / configured]
    return list(dict.fromkeys(r.resolve() for r in roots))


def _fit_now(recipe: Any, comps: Any, missing: list[Any], root: Path | None, data_key: str) -> None:
    """Fit the manipulators missing from the cache, on the dataset exactly as 'sgfkit run' samples it
    (same shards, same seeds: here always in this process), and cache the fits under the run's keys."""
    from sgfkit.cache import StageCache
    from sgfkit.dataset import cached_dataset
    from sgfkit.executors import LocalExecutor
    from sgfkit.pipeline import Components
    from sgfkit.shards import sharded_dataset
    from sgfkit.stages import Timer
    from sgfkit.stages.fit import fit_manipulators

    cache = StageCache(root)
    seed, ds = recipe.data["seed"], recipe.data["dataset"]
    executor = LocalExecutor(recipe.data.get("executor") or {})  # a Ray recipe's shards are the same

    def build() -> Any:
        return sharded_dataset(executor, comps, ds["samples"], ds["batch_size"], seed, payload=lambda: None)

    dataset, _ = cached_dataset(cache, data_key, build)
    subset = Components(comps.generator, comps.encoder, comps.evaluator, missing, [])
    fit_manipulators(subset, dataset, data_key, cache, seed, Timer())
