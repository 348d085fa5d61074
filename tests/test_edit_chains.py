"""Sequential edits: a recipe target that is a chain of targets, applied in order (issue 11 item 4)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import sgfkit
from sgfkit.recipe import RecipeError

TINY = Path(__file__).parent / "fixtures" / "core" / "recipes" / "tiny.yaml"
CHAIN = "edits.targets=[{target: [{red: 1.0}, {green: 1.0}, {blue: 0.0}], label: rgb}]"


@pytest.fixture
def work(tmp_path, monkeypatch, tiny_plugins):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_chain_scores_and_draws_every_stage(work):
    single = sgfkit.run(TINY, overrides=["edits.targets=[{target: {red: 1.0}, label: r}]", "evaluation=null",
                                         "manipulators=[{type: tiny-shift, label: shift}]"])
    result = sgfkit.run(TINY, overrides=[CHAIN, "evaluation=null", "manipulators=[{type: tiny-shift, label: shift}]"])
    labels = [e.label for e in result.edits]
    assert labels == ["rgb [1/3]", "rgb [2/3]", "rgb [3/3]"]
    assert [e.target for e in result.edits] == [{"red": 1.0}, {"green": 1.0}, {"blue": 0.0}]
    # stage 1 is the same edit as the single target; each later stage starts where the previous ended
    assert np.allclose(result.edits[0].after, single.edits[0].after)
    for prev, nxt in zip(result.edits, result.edits[1:]):
        assert np.array_equal(prev.after, nxt.before)
    names = result.edits[0].names
    green = names.index("green")
    assert result.edits[1].after[:, green].mean() > result.edits[1].before[:, green].mean()
    latents = np.load(result.run_dir / "latents.npz")
    assert np.array_equal(latents["00_shift_rgb-1-3_results"], latents["01_shift_rgb-2-3_sources"])
    # one grid block for the chain: 2 seeds x (source + 3 stages)
    grid = Image.open(result.run_dir / "edits.png")
    one = Image.open(single.run_dir / "edits.png")  # 2 seeds x (source + 2 path + result)
    assert abs(grid.width - one.width) < 20
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert set(metrics["metrics"]["tiny-gain"]["edits"]) == {"shift/rgb [1/3]", "shift/rgb [2/3]", "shift/rgb [3/3]"}


def test_a_malformed_chain_is_refused(work):
    with pytest.raises(RecipeError, match=r"edits.targets\[0\].target.*: a chain of targets"):
        sgfkit.load_recipe(TINY, ["edits.targets=[{target: [{red: 1.0}, 3]}]"])
    with pytest.raises(RecipeError, match=r"edits.targets\[0\].target: ComponentError.*'rde'"):
        sgfkit.run(TINY, overrides=["edits.targets=[{target: [{red: 1.0}, {rde: 1}]}]"])
