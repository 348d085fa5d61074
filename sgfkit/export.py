"""``sgfkit export RUN_DIR``: a run's fitted linear directions in another tool's file layout.

The run folder holds the resolved recipe; the fitted state is the one the run cached (same cache keys as
``sgfkit run``), so export runs from the folder the run ran in (the cache path is relative to it), builds
the components (to compute the keys) and fits nothing. Manipulators that can write ``fmt`` implement
``export_files(fmt, out_dir) -> [paths]`` (InterFaceGAN: interfacegan; GANSpace: ganspace).
"""
from __future__ import annotations

from pathlib import Path

import yaml

from sgfkit.errors import SgfkitError

FORMATS = ("interfacegan", "ganspace")


def export_run(run_dir: str | Path, fmt: str, out_dir: str | Path | None = None) -> list[Path]:
    """Write the directions of every manipulator of ``run_dir`` that supports ``fmt``; returns the files."""
    from sgfkit.cache import StageCache
    from sgfkit.pipeline import build_components, dataset_key, fit_key
    from sgfkit.recipe import load_recipe

    run_dir = Path(run_dir)
    resolved = run_dir / "recipe.resolved.yaml"
    if not resolved.is_file():
        raise SgfkitError(f"{str(run_dir)!r} is not a run folder (no recipe.resolved.yaml); pass a folder that "
                          "'sgfkit run' wrote, e.g. runs/00000-NAME")
    if fmt not in FORMATS:
        raise SgfkitError(f"unknown export format {fmt!r}; use {' or '.join(FORMATS)}")
    recipe = load_recipe(yaml.safe_load(resolved.read_text(encoding="utf-8")))
    if not recipe.data["manipulators"]:
        raise SgfkitError(f"the run in {str(run_dir)!r} has no manipulators to export")
    comps = build_components(recipe, "cpu")
    able = [m for m in comps.manipulators if getattr(m, "export_files", None) and
            (m.registry_name == fmt)]
    if not able:
        labels = ", ".join(f"{m.label} ({m.registry_name})" for m in comps.manipulators)
        raise SgfkitError(f"no manipulator of the run can be exported as {fmt} (it has {labels}); "
                          f"--format {fmt} needs a fitted {fmt} manipulator")
    out = recipe.data["output"]
    cache = StageCache(Path(out["cache_dir"]) if out["cache"] else None)
    key = dataset_key(recipe, comps)
    target = Path(out_dir) if out_dir is not None else run_dir / f"export-{fmt}"
    files: list[Path] = []
    for manipulator in able:
        state = cache.path("fits", fit_key(key, manipulator), ".safetensors")
        if state is None or not state.is_file():
            raise SgfkitError(f"the fitted state of {manipulator.label!r} is not in the cache "
                              f"({out['cache_dir']!r} from the current folder); run 'sgfkit export' where the run "
                              "ran, or run the recipe again with output.cache: true")
        manipulator.load(state)
        files += manipulator.export_files(fmt, target)
    return files
