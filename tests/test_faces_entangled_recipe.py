"""recipes/faces_entangled.yaml end to end at tiny sizes, and the results section's side-effect reading."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import sgfkit

REPO = Path(__file__).resolve().parent.parent
RECIPES = [REPO / "recipes" / "faces_entangled.yaml", REPO / "recipes" / "faces_entangled_z.yaml"]
TINY = ["dataset.samples=400", "manipulators.0.train_steps=20", "manipulators.1.train_steps=20",
        "manipulators.0.fidelity_samples=0", "manipulators.1.fidelity_samples=0", "manipulators.0.max_steps=4",
        "edits.seeds=[0]", "edits.path_steps=2", "evaluation.samples=8", "generator.resolution=32"]


def _section():
    """results/sections/faces_entangled.py, loaded as ``make results`` loads it (with its shared helpers)."""
    spec = importlib.util.spec_from_file_location("results_build", REPO / "results" / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    return build.load_section("faces_entangled")


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_recipe_runs_every_method_on_every_entangled_attribute(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    recipe = sgfkit.load_recipe(path, TINY)
    assert recipe.data["generator"]["type"] == "synth-faces-entangled"
    result = sgfkit.run(recipe, out_dir=tmp_path / "runs")
    mds = result.metrics["metrics"]["mds"]
    methods = {m["label"] for m in recipe.data["manipulators"]}
    attributes = recipe.data["evaluation"]["attributes"]
    assert "grey_hair" in attributes and methods <= set(mds)
    assert mds["settings"]["scored_attributes"] == 16            # every attribute of the world, grey hair too
    for method in methods:
        for a in attributes:
            assert 0.0 <= mds[method][a]["mds"] <= 1.0
    # the section reads side effects from the same sweeps
    section = _section()
    ev = result.evaluations[0]
    entry = section.side_effects(ev.before, ev.after, ev.attribute_index, ev.direction, 0.2, ev.names)
    assert set(entry["changed"]) == set(ev.names) - {ev.attribute}
    assert 0 <= entry["others"] <= len(ev.names) - 1


def test_side_effects_are_read_where_the_accuracy_level_is_first_reached():
    section = _section()
    names = ["target", "a", "b"]
    before = np.zeros((4, 3))
    after = np.zeros((3, 4, 3))
    after[1, :3, 0] = 0.5            # strength 1: 3 of 4 succeed, nothing else moves
    after[2, :, 0] = 0.5             # strength 2: all succeed; "a" moves in every sample, "b" in one
    after[2, :, 1] = -0.3
    after[2, 0, 2] = 0.25
    direction = np.ones(4)
    at_75 = section.side_effects(before, after, 0, direction, 0.2, names, level=0.75)
    assert at_75["strength_index"] == 1 and at_75["accuracy"] == 0.75 and at_75["others"] == 0.0
    full = section.side_effects(before, after, 0, direction, 0.2, names, level=0.9)
    assert full["strength_index"] == 2 and full["reached"] and full["others"] == 1.25
    assert list(full["changed"].items()) == [("a", 1.0), ("b", 0.25)]
    # a level never reached: read at the most accurate strength, flagged
    never = section.side_effects(before, after[:2], 0, -direction, 0.2, names)
    assert not never["reached"] and never["accuracy"] == 0.0
    assert "(max)" in section._effect_cell(never)
