"""Random grammar captions as `keep` targets: the main recipe's method on captions nobody picked.

The issue's goal is success >= 0.9 for any caption the grammar can write. The first test checks
that every random target is scored fact by fact and prints the measured rate per fact kind (run
with ``-s``); the second asserts the goal itself and is a strict xfail while the goal is not met
(this small config: success 0.08-0.17 with the captions embedded as written and one dc per path;
0.62 with canonical phrasing and re-aimed steps: petal colour 0.67, shape and size 1.00,
background and centre colour 0.75; 0.67 with the recipe's exact-match tolerance: petal colour 0.71,
centre colour 1.00; 0.71 with longer steps on repeated readings: petal colour 0.75; 0.62 with
``layers: auto``, the main recipe's measured layer choice: petal colour 0.67, the four mix captions 0.25-0.75;
still 0.62 when targets in two layer groups are edited in stages, other facts changed 0.21.
At the full recipe's size, 12 other random captions x 8 seeds, ``layers: auto`` moved success 0.78 -> 0.80
and the unnamed facts changed per edit 0.62 -> 0.22). With the captioner that names all seven facts (petal
count and centre size too; synth-flowers v2.1): 0.75 here, petal colour 0.75, every other fact kind 1.00, other
facts changed 0.00; with the recipe's step_size 0.3: 0.83, petal colour 0.83, size 0.88, other facts changed 0.12.
With the captioner trained on twice the renders and steps (held-out 97.9 -> 99.0 % of named facts): 0.58 here,
petal colour 0.58, every other kind 1.00 (four of the six captions ask for a two-tone mix); on 16 seeds instead of
these 4, 0.635 -> 0.667: four seeds are a small sample. With the recipe's step_size 0.4: 0.67, petal colour 0.71,
size 0.88.
When the goal is reached, the strict xfail fails and says so.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import yaml

import sgfkit
from sgfkit_synthetic import captions

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "flowers_caption.yaml"
SEEDS = [0, 1, 2, 3]


def _random_captions(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [captions.random_caption(rng) for _ in range(n)]


@pytest.fixture(scope="module")
def random_edits(tmp_path_factory) -> tuple[list[str], dict[str, Any]]:
    """Six random grammar captions as keep targets (layers: auto, as in the main recipe) on a small version of
    the main recipe (run once)."""
    tmp_path = tmp_path_factory.mktemp("random_captions")
    texts = _random_captions(6, seed=2026)
    recipe = yaml.safe_load(RECIPE.read_text())
    recipe["dataset"] = {"samples": 512, "batch_size": 256}
    recipe["manipulators"][0].update(train_steps=200, max_steps=20)   # tiny: the suite runs on 2 cores
    recipe["edits"] = {"seeds": SEEDS, "path_steps": 1,
                       "targets": [{"target": {"caption": t, "keep": True}, "layers": "auto", "label": f"random {i}"}
                                   for i, t in enumerate(texts)]}
    recipe["output"] = {"dir": str(tmp_path / "runs"), "cache_dir": str(tmp_path / "cache")}
    return texts, sgfkit.run(recipe).metrics["metrics"]["caption-success"]["per_target"]["SGF"]


def _success(scores: dict[str, Any]) -> float:
    return sum(s["success"] for s in scores.values()) / len(scores)


@pytest.mark.slow
def test_random_grammar_captions_as_keep_targets_report_their_success(random_edits):
    texts, scores = random_edits
    assert sorted(scores) == sorted(f"random {i}" for i in range(len(texts)))
    per_kind: dict[str, list[float]] = {}
    for i, text in enumerate(texts):
        score = scores[f"random {i}"]
        named = captions.parse_caption(text)
        assert score["samples"] == len(SEEDS) and score["named"] == sorted(named)
        assert sorted(score["per_fact"]) == sorted(named)      # every named fact scored on its own
        assert all(0.0 <= rate <= 1.0 for rate in score["per_fact"].values())
        for kind, rate in score["per_fact"].items():
            per_kind.setdefault(kind, []).append(rate)
    other = sum(s["other_changed"] for s in scores.values()) / len(scores)
    print(f"\nrandom grammar captions as keep targets: success {_success(scores):.2f}, other facts changed "
          f"{other:.2f}, over {len(texts)} captions x "
          f"{len(SEEDS)} seeds (goal 0.9); per fact kind: "
          + ", ".join(f"{k} {sum(v) / len(v):.2f}" for k, v in sorted(per_kind.items())))
    for i, text in enumerate(texts):
        print(f"  {scores[f'random {i}']['success']:.2f}  {text}")


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="issue 10 goal not met yet: random keep targets succeed 0.67 here, goal 0.9")
def test_random_grammar_captions_reach_the_issue_goal(random_edits):
    _, scores = random_edits
    assert _success(scores) >= 0.9
