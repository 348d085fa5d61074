"""The pipeline end to end on the tiny test plugin: outputs, caching, determinism, skips, errors."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

import sgfkit
from sgfkit.errors import ComponentError
from sgfkit.recipe import RecipeError

TINY = Path(__file__).parent / "fixtures" / "core" / "recipes" / "tiny.yaml"


@pytest.fixture
def work(tmp_path, monkeypatch, tiny_plugins):
    """Run inside tmp_path so that runs/ and the cache land there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_run_writes_every_output(work):
    result = sgfkit.run(TINY)
    run_dir = result.run_dir
    assert run_dir == Path("runs") / "00000-tiny"
    expected = {"recipe.resolved.yaml", "environment.json", "metrics.json", "edits.png", "latents.npz", "report.md",
                "report.html",
                "tiny-gain_curve.png", "tiny-gain_gain.md"}
    assert {p.name for p in run_dir.iterdir()} == expected  # and no temporary files left behind

    resolved = yaml.safe_load((run_dir / "recipe.resolved.yaml").read_text())
    assert resolved["manipulators"][0] == {"type": "tiny-shift", "label": "shift", "strengths": [0.5, 1.0, 2.0],
                                           "ridge": 0.001, "path_length": 4, "die_once": None}
    env = json.loads((run_dir / "environment.json").read_text())
    assert env["distributions"] == ["sgfkit-tiny==0.1.0"] and env["device"] == "cpu"
    assert env["components"]["generator"]["versions"] == {"weights": "random:0"}
    assert {"python", "torch", "numpy", "sgfkit", "platform"} <= set(env)

    metrics = json.loads((run_dir / "metrics.json").read_text())
    gains = metrics["metrics"]["tiny-gain"]["gain"]
    assert set(gains) == {"shift", "shift-ridge"} and set(gains["shift"]) == {"red", "green"}
    assert gains["shift"]["red"] > 0.05  # the edit moves the attribute the intended way
    assert set(metrics["metrics"]["tiny-gain"]["edits"]) == {"shift/redder", "shift/less-blue",
                                                             "shift-ridge/redder", "shift-ridge/less-blue"}
    assert metrics["fit"]["shift"]["samples"] == 128
    assert set(metrics["timings_s"]) >= {"build", "dataset", "fit:shift", "edits", "evaluation", "metrics", "outputs"}

    latents = np.load(run_dir / "latents.npz")
    assert latents["00_shift_redder_sources"].shape == (2, 3, 4)  # 2 seeds, w+ with 3 layers of 4
    assert latents["00_shift_redder_path"].shape == (5, 2, 3, 4)  # path_length 4 -> 5 points
    moved = latents["00_shift_redder_results"] - latents["00_shift_redder_sources"]
    assert np.abs(moved[:, 0]).max() > 0 and np.abs(moved[:, 1:]).max() == 0  # layers: coarse only

    grid = Image.open(run_dir / "edits.png")
    # 4 blocks (2 methods x 2 targets) side by side, each 2 seeds x (source + 2 path + result)
    assert grid.width >= 4 * 4 * 96 and grid.height > 2 * 96
    report = (run_dir / "report.md").read_text()
    for needle in ("![edits](edits.png)", "tiny-gain_curve.png", "| method | attribute |", "## Stage timings",
                   "sgfkit-tiny==0.1.0"):
        assert needle in report
    assert len(result.edits) == 4 and len(result.evaluations) == 4


def test_rerun_hits_the_cache_and_a_change_invalidates_it(work):
    first = sgfkit.run(TINY)
    assert first.cache_hits == {"dataset": False, "fit:shift": False, "fit:shift-ridge": False}
    second = sgfkit.run(TINY)
    assert second.cache_hits == {"dataset": True, "fit:shift": True, "fit:shift-ridge": True}
    assert second.run_dir.name == "00001-tiny"  # never overwritten
    assert second.metrics["metrics"] == first.metrics["metrics"]  # a cached fit gives the same results
    third = sgfkit.run(TINY, overrides=["manipulators.1.ridge=0.9"])
    assert third.cache_hits == {"dataset": True, "fit:shift": True, "fit:shift-ridge": False}
    fourth = sgfkit.run(TINY, overrides=["generator.weights_seed=1"])
    assert fourth.cache_hits == {"dataset": False, "fit:shift": False, "fit:shift-ridge": False}
    label_only = sgfkit.run(TINY, overrides=["manipulators.0.strengths=[1.0]"])
    assert label_only.cache_hits["fit:shift"] is True  # strengths do not change the fit


def test_runs_are_deterministic_given_the_seed(work):
    a = sgfkit.run(TINY, overrides=["output.cache=false"])
    b = sgfkit.run(TINY, overrides=["output.cache=false"])
    c = sgfkit.run(TINY, overrides=["output.cache=false"], seed=5)
    la, lb = np.load(a.run_dir / "latents.npz"), np.load(b.run_dir / "latents.npz")
    assert all(np.array_equal(la[k], lb[k]) for k in la.files)
    assert a.metrics["fit"] == b.metrics["fit"] and a.metrics["fit"] != c.metrics["fit"]
    assert not Path(".sgfkit-cache").exists()


def test_out_dir_and_incrementing_names(work):
    (work / "elsewhere" / "00007-other").mkdir(parents=True)
    result = sgfkit.run(TINY, out_dir=work / "elsewhere", overrides=["evaluation=null", "metrics=[]"])
    assert result.run_dir == work / "elsewhere" / "00008-tiny"
    assert not (result.run_dir / "tiny-gain_curve.png").exists()


def test_a_manipulator_that_cannot_express_the_target_is_skipped_with_a_note(work):
    result = sgfkit.run(TINY, overrides=["encoder.type=tiny-embed", "evaluator.type=tiny-colour",
                                         "edits.targets=[{target: {colour: [1, 0, 0]}}]", "evaluation=null"])
    assert result.edits == []
    assert result.notes[0].startswith("shift skipped for edit '{\"colour\":[1,0,0]}': shift cannot edit towards "
                                      "embedding conditions (it handles attributes)")
    report = (result.run_dir / "report.md").read_text()
    assert "## Notes" in report and "cannot edit towards embedding" in report


def test_bad_targets_and_attributes_fail_before_sampling(work):
    with pytest.raises(RecipeError) as info:
        sgfkit.run(TINY, overrides=["edits.targets=[{target: {rde: 1}}]", "evaluation.attributes=[red, smile]"])
    message = str(info.value)
    assert "recipe 'tiny' has 2 problems" in message
    assert "edits.targets[0].target: ComponentError: tiny-colour has no condition named 'rde'. did you mean 'red'?" \
        in message
    assert "evaluation.attributes[1]: encoder: tiny-colour has no condition named 'smile'" in message
    assert not Path("runs").exists() and not Path(".sgfkit-cache").exists()


def test_layers_outside_wplus_are_noted_and_bad_layers_rejected(work):
    result = sgfkit.run(TINY, overrides=["generator.space=w", "evaluation=null"])
    assert "edit 'redder': layers apply only in w+ space; ignored" in result.notes
    with pytest.raises(RecipeError, match=r"edits.targets\[0\].layers: unknown layer selection 'fin'.*"
                                          r"did you mean 'fine'\?"):
        sgfkit.run(TINY, overrides=["edits.targets.0.layers=fin"])


def test_z_space_generator_runs(work):
    result = sgfkit.run(TINY, overrides=["generator={type: tiny-z}", "edits.targets.0.layers=null"])
    latents = np.load(result.run_dir / "latents.npz")
    assert latents["00_shift_redder_sources"].shape == (2, 4)


def test_unavailable_cuda_is_a_clear_error(work, monkeypatch):
    import torch

    from sgfkit.pipeline import resolve_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    with pytest.raises(ComponentError, match="device 'cuda' was requested but CUDA is not available here; "
                                             "use --device cpu"):
        resolve_device("cuda")


def test_sample_dataset_batches_and_caches(work):
    from sgfkit.cache import StageCache
    from sgfkit.dataset import cached_dataset, sample_dataset

    gen, enc = sgfkit.get_generator("tiny-linear"), sgfkit.get_condition_encoder("tiny-colour")
    whole = sample_dataset(gen, enc, samples=10, batch_size=10, seed=3)
    batched = sample_dataset(gen, enc, samples=10, batch_size=3, seed=3)
    assert whole.latents.shape == (10, 4) and whole.conditions.shape == (10, 3) and whole.space == "w"
    assert np.allclose(whole.latents.numpy(), batched.latents.numpy())
    assert np.allclose(whole.conditions.numpy(), batched.conditions.numpy(), atol=1e-6)
    calls = []
    cache = StageCache(work / "c")
    first, hit1 = cached_dataset(cache, "k", lambda: calls.append(1) or whole)
    second, hit2 = cached_dataset(cache, "k", lambda: calls.append(1) or whole)
    assert (hit1, hit2, len(calls)) == (False, True, 1)
    assert (work / "c" / "datasets" / "k.safetensors").is_file() and not cache.notes
    off, hit3 = cached_dataset(StageCache(None), "k", lambda: calls.append(1) or whole)  # caching off: build
    assert (hit3, len(calls)) == (False, 2) and off is whole
    assert second.condition_names == ["red", "green", "blue"] and np.array_equal(second.z, whole.z)


def test_content_hash_is_order_free_and_sensitive():
    from sgfkit.cache import content_hash

    assert content_hash({"a": 1, "b": [1.0, 2]}) == content_hash({"b": [1, 2.0], "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 2})


def test_atomic_writes_and_run_folder_numbering(tmp_path):
    from sgfkit.outputs import create_run_dir, write_bytes_atomic, write_json_atomic

    target = write_json_atomic(tmp_path / "sub" / "m.json", {"a": np.float32(0.5), "b": np.arange(2)})
    assert json.loads(target.read_text()) == {"a": 0.5, "b": [0, 1]}
    write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"new" and [p.name for p in target.parent.iterdir()] == ["m.json"]
    (tmp_path / "runs" / "00002-x").mkdir(parents=True)
    (tmp_path / "runs" / "notes").mkdir()
    first = create_run_dir(tmp_path / "runs", "x")
    second = create_run_dir(tmp_path / "runs", "y")
    assert (first.name, second.name) == ("00003-x", "00004-y")


def test_render_grid_labels_and_sizes():
    from sgfkit.outputs import GridBlock, render_grid

    cell = np.zeros((8, 8, 3), np.uint8)
    one = Image.open(__import__("io").BytesIO(render_grid([GridBlock("a", [[(cell, "x")] * 3])])))
    two = Image.open(__import__("io").BytesIO(render_grid([GridBlock("a", [[(cell, "x")] * 3] * 2)])))
    assert one.width == two.width >= 3 * 96 and two.height > one.height + 96


def test_stage_cache_get_or_build_needs_every_file_intact(tmp_path):
    """A stage of two files (a fit's report and state): a hit needs both; a damaged one rebuilds both."""
    import pytest

    from sgfkit.cache import StageCache

    cache, built, loaded = StageCache(tmp_path), [], []
    read = {".json": lambda p: json.loads(p.read_text()), ".bin": lambda p: loaded.append(p.read_bytes()) or True}
    write = {".bin": lambda value, tmp: tmp.write_bytes(b"state"),
             ".json": lambda value, tmp: tmp.write_text(json.dumps(value))}

    def build():
        built.append(1)
        return {"report": len(built)}

    assert cache.get_or_build("fits", "k", build, read, write) == ({"report": 1}, False)
    assert cache.get_or_build("fits", "k", build, read, write) == ({"report": 1}, True)
    assert loaded == [b"state"] and not cache.notes
    (tmp_path / "fits" / "k.bin").write_bytes(b"flipped")          # the checksum no longer matches
    assert cache.get_or_build("fits", "k", build, read, write) == ({"report": 2}, False)
    assert len(cache.notes) == 1 and "k.bin failed its checksum" in cache.notes[0]
    assert cache.get_or_build("fits", "k", build, read, write) == ({"report": 2}, True)
    with pytest.raises(ValueError, match="different files"):
        cache.get_or_build("fits", "k", build, read, {".json": write[".json"]})
