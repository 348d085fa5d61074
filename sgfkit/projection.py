"""Projecting users' photos into a recipe's generator: ``sgfkit project`` / ``sgfkit edit``.

``project`` writes a run folder with ``latents.npz`` (``latents`` in w or w+, ``psnr``, the file
names), ``projection.png`` (each photo as the generator sees it after the crop, next to its
reconstruction) and ``projection.json`` (the projector's report: scores, loss curve, distance,
timings). ``edit`` projects in the recipe generator's space (where its manipulators were fitted),
fits or loads the manipulators from the cache, runs the recipe's edits (chains included) on the
projections and writes the usual run folder plus the two projection files.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from sgfkit.components import Projection
    from sgfkit.pipeline import RunResult
    from sgfkit.recipe import Recipe


@dataclass
class ProjectedPhotos:
    """Photos, as loaded (after the documented crop), and their projection."""

    paths: list[Path]
    photos: torch.Tensor  # [N, 3, R, R] in [-1, 1]
    projection: Projection

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.paths]

    def grid(self) -> bytes:
        """PNG: one row per photo: the cropped photo | its reconstruction (labelled with PSNR)."""
        from sgfkit.outputs import GridBlock, render_grid, to_uint8

        src, rec = to_uint8(self.photos), to_uint8(self.projection.reconstructions)
        space, psnr = self.projection.latents.space, self.projection.scores["psnr"]
        rows = [[(src[i], name), (rec[i], f"{space} PSNR {psnr[i]:.1f} dB")] for i, name in enumerate(self.names)]
        return render_grid([GridBlock("photo | projection", rows)])

    def write(self, run_dir: Path) -> None:
        from sgfkit.outputs import write_bytes_atomic, write_json_atomic

        write_bytes_atomic(run_dir / "projection.png", self.grid())
        write_json_atomic(run_dir / "projection.json", {"files": self.names, **self.projection.report()})


def project_photos(recipe: Recipe, generator: Any, photos: Sequence[str | Path], device: str,
                   space: str | None = None) -> ProjectedPhotos:
    """Load image files at the generator's resolution and project them (``space``: default the generator's)."""
    from sgfkit.errors import ComponentError, ImageError
    from sgfkit.images import load_images
    from sgfkit.pipeline import build_projector

    paths = [Path(p) for p in photos]
    if not paths:
        raise ImageError("no images given; pass one or more image files")
    space = space or generator.space
    if space not in ("w", "w+"):
        raise ComponentError(f"projection finds w or w+ latents, but this recipe edits in {space!r}; "
                             "set generator.space to w or w+")
    projector = build_projector(recipe, device, space=space)
    images = load_images(paths, generator.resolution)
    return ProjectedPhotos(paths, images, projector.project(images.to(device), generator))


@dataclass
class ProjectResult:
    """Where a projection run went and what it measured."""

    run_dir: Path
    projection: Projection


def _recipe(recipe: Recipe | str | Path | dict[str, Any], overrides: Sequence[str]) -> Recipe:
    from sgfkit.api import load_recipe
    from sgfkit.recipe import Recipe as _Recipe

    if isinstance(recipe, _Recipe):
        return load_recipe(recipe.source, [*recipe.overrides, *overrides]) if overrides else recipe
    return load_recipe(recipe, overrides)


def project(images: Sequence[str | Path], recipe: Recipe | str | Path | dict[str, Any], *,
            out_dir: str | Path | None = None, overrides: Sequence[str] = ()) -> ProjectResult:
    """Project image files into the recipe's generator and write a run folder (see the module doc).

    The space is the projector's (``projector.space``, default w+).
    """
    import numpy as np

    from sgfkit.outputs import create_run_dir, write_npz_atomic
    from sgfkit.pipeline import build_generator, build_projector, resolve_device

    recipe = _recipe(recipe, overrides)
    device = resolve_device(recipe.data["device"])
    generator = build_generator(recipe, device)
    projected = project_photos(recipe, generator, images, device, space=build_projector(recipe, "cpu").space)
    parent = Path(out_dir) if out_dir is not None else Path(recipe.data["output"]["dir"])
    run_dir = create_run_dir(parent, f"{recipe.name}-project")
    result = projected.projection
    write_npz_atomic(run_dir / "latents.npz", {
        "latents": result.latents.tensor.cpu().numpy(), "space": np.array(result.latents.space),
        "psnr": np.asarray(result.scores["psnr"]), "files": np.array(projected.names)})
    projected.write(run_dir)
    return ProjectResult(run_dir, result)


def parse_target(text: str) -> dict[str, Any] | list[dict[str, Any]]:
    """``"smile=1"`` -> {smile: 1.0}; ``"smile=1,age=0.2"`` one target; ``"smile=1 > bald=1"`` a chain."""
    from sgfkit.errors import SgfkitError

    stages = []
    for part in text.split(">"):
        stage: dict[str, Any] = {}
        for item in part.split(","):
            name, sep, value = item.partition("=")
            if not sep or not name.strip():
                raise SgfkitError(f"--target {text!r}: use NAME=VALUE[,NAME=VALUE] and '>' between chained "
                                  "targets, e.g. --target 'smile=1 > bald=1'")
            try:
                stage[name.strip()] = float(value)
            except ValueError:
                stage[name.strip()] = value.strip()
        stages.append(stage)
    return stages[0] if len(stages) == 1 else stages


def edit(images: Sequence[str | Path], recipe: Recipe | str | Path | dict[str, Any], *,
         targets: Sequence[str | dict[str, Any] | list[dict[str, Any]]] = (),
         out_dir: str | Path | None = None, overrides: Sequence[str] = ()) -> RunResult:
    """Project photos and apply the recipe's edits (or ``targets``) to them; no MDC sweep.

    ``targets``: strings as :func:`parse_target` reads them, or target mappings / chains.
    """
    import json

    from sgfkit.pipeline import run_recipe

    extra = [*overrides, "evaluation=null"]
    if targets:
        specs = [parse_target(t) if isinstance(t, str) else t for t in targets]
        extra.append("edits.targets=" + json.dumps([{"target": t} for t in specs]))
    return run_recipe(_recipe(recipe, extra), out_dir=out_dir, photos=list(images))
