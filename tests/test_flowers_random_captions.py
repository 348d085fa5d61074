"""Random grammar captions as `keep` targets: the main recipe's method on captions nobody picked.

The issue's goal (success >= 0.9 for any caption the grammar can write) is far from met by the
shipped captioner, which names petal and centre colours only; this test reports the measured rate
per fact kind (run with ``-s`` to see it) and holds the part that works: single petal colours.
"""
from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

import sgfkit
from sgfkit_synthetic import captions

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "flowers_caption.yaml"
VALUES = {
    "petal_color": captions.PETAL_COLORS + [["red", "purple"], ["yellow", "orange"], ["white", "blue"]],
    "petal_shape": captions.PETAL_SHAPES,
    "petal_size": ["small", "medium", "large"], "petal_count": [5, 6, 7, 8, 9],
    "center_color": captions.CENTER_COLORS, "center_size": ["small", "medium", "large"],
    "background": captions.BACKGROUNDS,
}


def _random_captions(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [captions.generate_caption({k: rng.choice(v) for k, v in VALUES.items()}, rng) for _ in range(n)]


@pytest.mark.slow
def test_random_grammar_captions_as_keep_targets_report_their_success(tmp_path):
    texts = _random_captions(6, seed=2026)
    recipe = yaml.safe_load(RECIPE.read_text())
    recipe["dataset"] = {"samples": 512, "batch_size": 256}
    recipe["manipulators"][0].update(train_steps=200, max_steps=20)   # tiny: the suite runs on 2 cores
    recipe["edits"] = {"seeds": [0, 1, 2, 3], "path_steps": 1,
                       "targets": [{"target": {"caption": t, "keep": True}, "label": f"random {i}"}
                                   for i, t in enumerate(texts)]}
    recipe["output"] = {"dir": str(tmp_path / "runs"), "cache_dir": str(tmp_path / "cache")}
    scores = sgfkit.run(recipe).metrics["metrics"]["caption-success"]["per_target"]["SGF"]

    assert sorted(scores) == sorted(f"random {i}" for i in range(len(texts)))
    per_kind: dict[str, list[float]] = {}
    for i, text in enumerate(texts):
        score = scores[f"random {i}"]
        named = captions.parse_caption(text)
        assert score["samples"] == 4 and score["named"] == sorted(named)
        assert sorted(score["per_fact"]) == sorted(named)      # every named fact scored on its own
        for kind, rate in score["per_fact"].items():
            per_kind.setdefault(kind, []).append(rate)
    rate = sum(s["success"] for s in scores.values()) / len(scores)
    print(f"\nrandom grammar captions as keep targets: success {rate:.2f} over {len(texts)} captions x 4 seeds "
          f"(goal 0.9); per fact kind: " + ", ".join(f"{k} {sum(v) / len(v):.2f}" for k, v in sorted(per_kind.items())))
    for i, text in enumerate(texts):
        print(f"  {scores[f'random {i}']['success']:.2f}  {text}")
    colour = [scores[f"random {i}"]["per_fact"]["petal_color"] for i, t in enumerate(texts)
              if isinstance(captions.parse_caption(t).get("petal_color"), str)]
    assert colour and sum(colour) / len(colour) >= 0.5, colour   # the captioner names petal colours
