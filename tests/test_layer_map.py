"""``layers: auto``: w+ layers chosen per target from a measured layer map (sgfkit.layer_map)."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import sgfkit
from sgfkit import api
from sgfkit.errors import ComponentError
from sgfkit.latents import resolve_layers
from sgfkit.layer_map import AUTO_SHARE, LayerMap, disjoint_groups, measure_layer_map
from sgfkit.recipe import RecipeError


def test_disjoint_groups_drop_unions_and_keep_layer_order():
    groups = {"all": list(range(10)), "fine": [7, 8, 9], "coarse": [0, 1, 2, 3], "middle": [4, 5, 6]}
    assert list(disjoint_groups(groups).items()) == [("coarse", [0, 1, 2, 3]), ("middle", [4, 5, 6]), ("fine", [7, 8, 9])]
    assert disjoint_groups({"all": [0, 1]}) == {"all": [0, 1]}


def test_choose_takes_every_group_with_enough_share_of_a_named_aspect():
    groups = {"coarse": [0, 1], "middle": [2], "fine": [3, 4]}
    change = {"colour": {"coarse": 0.02, "middle": 0.0, "fine": 0.9},
              "shape": {"coarse": 0.6, "middle": 0.3, "fine": 0.05},     # middle holds 0.32 >= AUTO_SHARE
              "count": {"coarse": 0.0, "middle": 0.0, "fine": 0.0}}      # no group changed it
    layer_map = LayerMap(groups, change, samples=8)
    assert layer_map.choose(["colour"])[0] == [3, 4]
    layers, why = layer_map.choose(["colour", "shape"])
    assert layers == [0, 1, 2, 3, 4] and "coarse + middle + fine" in why
    assert layer_map.shares("shape")["middle"] > AUTO_SHARE
    layers, why = layer_map.choose(["colour", "count"])   # an aspect the encoder never reads adds no layers
    assert layers == [3, 4] and "reading of count" in why
    layers, why = layer_map.choose(["count", "never measured"])
    assert layers is None and "all layers" in why and "count, never measured" in why


def test_aspects_in_disjoint_groups_are_edited_in_stages_finest_first():
    groups = {"coarse": [0, 1], "middle": [2], "fine": [3, 4]}
    change = {"colour": {"coarse": 0.0, "middle": 0.0, "fine": 1.0}, "size": {"coarse": 1.0, "middle": 0.0, "fine": 0.0},
              "mouth": {"coarse": 0.5, "middle": 0.5, "fine": 0.0}, "count": {}}
    layer_map = LayerMap(groups, change, samples=8)
    assert layer_map.stages(["size", "colour"]) == [(["colour"], [3, 4]), (["size"], [0, 1])]
    assert layer_map.stages(["colour"]) is None                   # one group set: one edit
    assert layer_map.stages(["size", "mouth"]) is None            # overlapping sets (coarse twice): one edit
    assert layer_map.stages(["size", "colour", "count"]) is None  # an aspect the encoder never reads: one edit
    assert layer_map.stages(["colour", "mouth"]) == [(["colour"], [3, 4]), (["mouth"], [0, 1, 2])]


def test_sub_targets_ask_for_part_of_a_target_or_refuse():
    truth = api.get_condition_encoder("synth-flowers-truth")
    assert truth.sub_target({"petal_hue": 0.9, "petal_size": 1.0}, ["petal_size"]) == {"petal_size": 1.0}
    assert truth.sub_target({"offset": {"petal_size": 0.2}}, ["petal_size"]) is None
    assert truth.sub_target({"petal_hue": 0.9}, ["petal_size"]) is None
    captions = api.get_condition_encoder("flower-caption", phrasing="canonical")
    assert captions.sub_target({"caption": "the petals of this flower are red and large", "keep": True},
                               ["petal_size"]) == {"caption": "this flower has large petals", "keep": True}
    assert captions.sub_target({"caption": "this flower has large red petals"}, ["petal_size"]) is None  # plain


def test_the_measured_map_of_synth_flowers_finds_the_worlds_own_layers():
    """synth-flowers puts petal size and shape in the coarse layers, centre size in the middle ones and
    colours in the fine ones (its FACTORS); the exact truth as C must find exactly that."""
    generator = api.get_generator("synth-flowers", space="w+", truncation=0.8)
    encoder = api.get_condition_encoder("synth-flowers-truth")
    layer_map = measure_layer_map(generator, encoder, samples=16)
    groups = generator.layer_groups
    assert set(layer_map.groups) == {"coarse", "middle", "fine"}
    expected = {"petal_size": "coarse", "petal_pointed": "coarse", "center_size": "middle", "petal_hue": "fine",
                "background_green": "fine", "center_yellow": "fine"}
    for aspect, group in expected.items():
        layers, why = layer_map.choose([aspect])
        assert layers == groups[group], (aspect, why)
    both = layer_map.choose(["petal_size", "petal_hue"])[0]
    assert both == sorted(groups["coarse"] + groups["fine"])


def test_a_flower_caption_target_names_its_facts_and_readings_change_fact_by_fact():
    encoder = api.get_condition_encoder("flower-caption", phrasing="canonical")
    assert encoder.target_aspects({"caption": "this flower has large red petals", "keep": True}) == \
        ["petal_color", "petal_size"]
    before = encoder.embed_texts(["this flower has red petals and a yellow center",
                                  "this flower has red petals and a yellow center"])
    after = encoder.embed_texts(["this flower has red petals and a brown center",
                                 "this flower has red petals and a yellow center"])
    changes = encoder.aspect_changes(before, after)
    assert changes["center_color"].tolist() == [1.0, 0.0]
    assert changes["petal_color"].tolist() == [0.0, 0.0]
    assert float(changes["caption"][0]) > 0 and float(changes["caption"][1]) == pytest.approx(0.0, abs=1e-6)
    # the default for numeric encoders: one aspect per condition dim, |dc|
    truth = api.get_condition_encoder("synth-flowers-truth")
    assert truth.target_aspects({"petal_size": 1.0}) == ["petal_size"]
    c0, c1 = torch.zeros(2, len(truth.names)), torch.zeros(2, len(truth.names))
    c1[1, truth.index_of("center_size")] = -0.5
    assert truth.aspect_changes(c0, c1)["center_size"].tolist() == [0.0, 0.5]


def _recipe(tmp_path, space: str, targets: list[dict]) -> dict:
    return {"name": "auto-layers", "seed": 0, "device": "cpu",
            "generator": {"type": "synth-flowers", "space": space, "truncation": 0.8},
            "encoder": {"type": "synth-flowers-truth"}, "evaluator": {"type": "synth-flowers-truth"},
            "dataset": {"samples": 256, "batch_size": 256},
            "manipulators": [{"type": "interfacegan", "label": "IFG"}],
            "edits": {"seeds": [0, 1], "path_steps": 1, "targets": targets}, "metrics": [],
            "output": {"dir": str(tmp_path / "runs"), "cache_dir": str(tmp_path / "cache")}}


def test_a_run_edits_only_the_layers_auto_chose_and_records_them(tmp_path):
    targets = [{"target": {"petal_hue": 0.9}, "layers": "auto", "label": "hue"},
               {"target": {"center_size": 1.0}, "layers": "auto", "label": "centre"},
               {"target": {"petal_size": 1.0}, "layers": "coarse", "label": "size, by hand"}]
    result = sgfkit.run(_recipe(tmp_path, "w+", targets))
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    generator = api.get_generator("synth-flowers", space="w+")
    fine, middle = generator.layer_groups["fine"], generator.layer_groups["middle"]
    assert [e["layers"] for e in metrics["edits"]] == [fine, middle, generator.layer_groups["coarse"]]
    assert set(metrics["layer_map"]["groups"]) == {"coarse", "middle", "fine"}
    assert any(n.startswith("edit 'hue': layers auto -> fine") for n in metrics["notes"])
    latents = np.load(result.run_dir / "latents.npz")
    for key, layers in (("00_IFG_hue", fine), ("01_IFG_centre", middle)):
        moved = np.abs(latents[f"{key}_results"] - latents[f"{key}_sources"]).sum(axis=(0, 2)) > 0
        assert sorted(np.flatnonzero(moved).tolist()) == layers, key


def test_auto_outside_w_plus_is_ignored_with_a_note_and_bad_targets_are_refused(tmp_path):
    result = sgfkit.run(_recipe(tmp_path, "w", [{"target": {"petal_hue": 0.9}, "layers": "auto", "label": "hue"}]))
    assert any("layers apply only in w+ space" in n for n in result.metrics["notes"])
    assert "layer_map" not in result.metrics and "layer map" not in result.metrics["timings_s"]
    with pytest.raises(RecipeError, match=r"edits\.targets\[0\]\.(layers|target).*'petal_hu'"):
        sgfkit.run(_recipe(tmp_path, "w+", [{"target": {"petal_hu": 0.9}, "layers": "auto"}]))
    with pytest.raises(ComponentError, match="layers: auto is chosen per run"):
        resolve_layers("auto", 10, {"fine": [7, 8, 9]})


def test_held_dims_are_not_what_a_keypoint_target_is_about():
    """A hold is a constraint: layers: auto must not add the (fine) layers that carry the held hair colour."""
    encoder = api.get_condition_encoder("anime-keypoints")
    spec = {"move": {"mouth_bottom": [0, 3]}, "hold": ["hair_hue", "black_hair", "nose_tip"]}
    assert encoder.target_aspects(spec) == ["mouth_bottom_x", "mouth_bottom_y"]
    assert set(encoder.target_dims(spec)) > {encoder.index_of("hair_hue"), encoder.index_of("nose_tip_x")}


def test_the_layer_map_is_timed_only_when_a_target_asks_for_it(tmp_path):
    auto = sgfkit.run(_recipe(tmp_path, "w+", [{"target": {"petal_hue": 0.9}, "layers": "auto", "label": "hue"}]))
    typed = sgfkit.run(_recipe(tmp_path, "w+", [{"target": {"petal_hue": 0.9}, "layers": "fine", "label": "hue"}]))
    assert auto.metrics["timings_s"]["layer map"] > 0 and "layer map" not in typed.metrics["timings_s"]
    assert "layer_map" not in typed.metrics and typed.metrics["edits"][0]["layers"] == auto.metrics["edits"][0]["layers"]


def test_the_number_of_probes_comes_from_the_recipe(tmp_path):
    recipe = _recipe(tmp_path, "w+", [{"target": {"petal_hue": 0.9}, "layers": "auto", "label": "hue"}])
    recipe["edits"]["layer_probes"] = 8
    result = sgfkit.run(recipe)
    assert result.metrics["layer_map"]["samples"] == 8
    assert result.metrics["edits"][0]["layers"] == api.get_generator("synth-flowers", space="w+").layer_groups["fine"]
    recipe["edits"]["layer_probes"] = 2
    with pytest.raises(RecipeError, match=r"edits\.layer_probes"):
        sgfkit.load_recipe(recipe)


def test_a_target_in_two_layer_groups_is_edited_one_group_at_a_time(tmp_path):
    """Hue (fine) and petal size (coarse): the colour stage moves only the fine layers, then the size stage only
    the coarse ones; one scored outcome from the source to the end of the last stage."""
    target = {"target": {"petal_hue": 0.9, "petal_size": 1.0}, "layers": "auto", "label": "both"}
    result = sgfkit.run(_recipe(tmp_path, "w+", [target]))
    groups = api.get_generator("synth-flowers", space="w+").layer_groups
    (edit,) = result.metrics["edits"]
    assert edit["layers"] == sorted(groups["coarse"] + groups["fine"])
    assert any("in stages, finest layers first" in n and n.index('"petal_hue"') < n.index('"petal_size"')
               for n in result.metrics["notes"])
    latents = np.load(result.run_dir / "latents.npz")
    path, sources = latents["00_IFG_both_path"], latents["00_IFG_both_sources"]
    moved = [sorted(np.flatnonzero(np.abs(b - a).sum(axis=(0, 2)) > 0).tolist()) for a, b in zip(path, path[1:])]
    assert groups["fine"] in moved and groups["coarse"] in moved
    assert moved.index(groups["fine"]) < len(moved) - 1 - moved[::-1].index(groups["coarse"])  # fine, then coarse
    assert np.array_equal(path[0], sources) and np.array_equal(path[-1], latents["00_IFG_both_results"])
    after = result.edits[0].after[:, result.edits[0].names.index("petal_size")]
    before = result.edits[0].before[:, result.edits[0].names.index("petal_size")]
    assert (after > before).all()


def test_the_live_editor_plans_auto_layers_and_stages_as_a_run_does():
    from types import SimpleNamespace

    from sgfkit.editor_session import EditorSession

    session = SimpleNamespace(generator=api.get_generator("synth-flowers", space="w+", truncation=0.8),
                              encoder=api.get_condition_encoder("synth-flowers-truth"), _layer_map=None,
                              _layer_probes=16)
    groups = session.generator.layer_groups
    layers, staged = EditorSession._layers(session, "auto", {"petal_hue": 0.9, "petal_size": 1.0})
    assert layers == sorted(groups["coarse"] + groups["fine"])
    assert staged == [{"target": {"petal_hue": 0.9}, "layers": groups["fine"]},
                      {"target": {"petal_size": 1.0}, "layers": groups["coarse"]}]
    assert EditorSession._layers(session, "auto", {"petal_hue": 0.9}) == (groups["fine"], None)
    assert EditorSession._layers(session, "middle", {"petal_hue": 0.9}) == (groups["middle"], None)
    assert EditorSession._layers(session, None, {"petal_hue": 0.9}) == (None, None)
    assert session._layer_map.samples == 16   # the recipe's edits.layer_probes


def test_reports_write_layers_as_runs():
    from sgfkit.report_model import layers_text

    assert layers_text([9, 0, 1, 2, 3, 7, 8]) == "0-3, 7-9"
    assert layers_text([4]) == "4" and layers_text(None) == "all"
