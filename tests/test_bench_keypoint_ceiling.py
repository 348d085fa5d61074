"""The keypoint ceiling benchmark: the recipe's asks optimised on the exact truth, scored by the recipe's metric."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
RECIPE = "recipes/anime_keypoints.yaml"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_keypoint_ceiling", ROOT / "benchmarks" / "bench_keypoint_ceiling.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_recipe_target_is_optimised_and_scored_like_an_edit():
    data = _bench().measure(RECIPE, seeds=2, iterations=300)
    labels = [t["label"] for t in yaml.safe_load((ROOT / RECIPE).read_text())["edits"]["targets"]]
    assert list(data["targets"]) == labels and data["tolerance_px"] == 1.5
    brows = data["targets"]["raise brows (-2 px)"]
    # an easy ask: the optimiser lands it almost exactly, moves the brows ~2 px and holds the hair
    assert brows["success"] == 1.0 and brows["move_error_px"] < 0.5 and 1.5 < brows["moved_px"] < 2.5
    assert brows["hold_change"] < 0.01
    eyes = data["targets"]["close eyes"]
    assert eyes["success"] == 1.0 and abs(eyes["eyes_open_after"] - 0.2) < 0.05
    for scores in data["targets"].values():
        assert 0.0 <= scores["success"] <= 1.0 and scores["samples"] == 2 and scores["latent_move"] > 0
