"""The shipped recipes: every one validates; the real-weights ones fail to run with download help."""
from __future__ import annotations

from pathlib import Path

import pytest

import sgfkit
from sgfkit.errors import WeightsError

REPO = Path(__file__).resolve().parent.parent
EMBEDDED = sorted((REPO / "recipes").glob("*.yaml"))
PAPER = sorted((REPO / "recipes" / "paper").glob("*.yaml"))


def test_the_four_settings_are_shipped() -> None:
    names = {p.name for p in EMBEDDED}
    assert {"flowers_caption.yaml", "faces_attributes.yaml", "faces_attributes_z.yaml",
            "anime_keypoints.yaml", "faces_entangled.yaml", "faces_entangled_z.yaml"} <= names
    assert {p.name for p in PAPER} == {"ffhq_attributes.yaml", "celebahq_attributes.yaml",
                                       "anime_keypoints.yaml", "flowers_caption.yaml"}


@pytest.mark.parametrize("path", EMBEDDED + PAPER, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_recipe_validates_without_weights(path: Path) -> None:
    recipe = sgfkit.load_recipe(path)
    assert recipe.data["generator"]["type"]
    text = path.read_text()
    assert text.startswith("#"), "every recipe opens with a comment header saying what it shows"


@pytest.mark.parametrize("path", PAPER, ids=lambda p: p.name)
def test_paper_recipe_without_weights_says_what_to_download(path: Path, no_weight_dirs: Path) -> None:
    tmp_path = no_weight_dirs
    with pytest.raises(WeightsError) as err:
        sgfkit.run(path, out_dir=tmp_path / "runs")
    message = str(err.value)
    assert "not found" in message
    assert "Download" in message and str(tmp_path / "home" / "weights") in message
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("metrics.json"))


def test_metric_delta_follows_the_evaluation_unless_set() -> None:
    recipe = REPO / "recipes" / "faces_attributes.yaml"
    inherited = sgfkit.load_recipe(recipe, ["metrics=[{type: mds}]", "evaluation.delta=0.1"])
    assert inherited.data["metrics"][0]["delta"] == 0.1
    explicit = sgfkit.load_recipe(recipe, ["metrics=[{type: mds, delta: 0.3}]", "evaluation.delta=0.1"])
    assert explicit.data["metrics"][0]["delta"] == 0.3
