"""Every bundled recipe's SGF fits a contractive F: rho(dF/dz) < 1 on every held-out sample.

Each recipe's own generator, learned encoder and SGF parameters, on a small dataset and a short
fit (the bound holds by construction, whatever the training length; the report measures it on
every held-out sample by power iteration).
"""
from __future__ import annotations

from pathlib import Path

import pytest

import sgfkit
from sgfkit.dataset import sample_dataset
from sgfkit.pipeline import build_components

REPO = Path(__file__).resolve().parent.parent
EMBEDDED = sorted((REPO / "recipes").glob("*.yaml"))


@pytest.mark.slow
@pytest.mark.parametrize("path", EMBEDDED, ids=lambda p: p.name)
def test_bundled_recipe_sgf_is_contractive_on_heldout_samples(path: Path) -> None:
    recipe = sgfkit.load_recipe(path)
    sgf_specs = [i for i, m in enumerate(recipe.data["manipulators"]) if m["type"] == "sgf"]
    assert sgf_specs, f"{path.name} has no SGF"
    overrides = [f"manipulators.{i}.train_steps=60" for i in sgf_specs]
    overrides += [f"manipulators.{i}.fidelity_samples=0" for i in sgf_specs]
    recipe = sgfkit.load_recipe(path, overrides)
    comps = build_components(recipe, "cpu")
    dataset = sample_dataset(comps.generator, comps.encoder, 300, 100, seed=0)
    sgf = next(m for m in comps.manipulators if m.registry_name == "sgf")
    report = sgf.fit(dataset, comps.generator, comps.encoder)
    assert report["F"] == "contractive"
    assert report["spectral_radius_samples"] == report["heldout_samples"] == 30
    assert report["spectral_radius_max"] < 1.0 and report["spectral_radius_share_ge_1"] == 0.0
    assert report["lipschitz_bound"] < 1.0
