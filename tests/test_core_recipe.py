"""Recipe reading, --set overrides and validation: every error path with its message."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import sgfkit
from sgfkit.recipe import RecipeError, format_path, parse_override

RECIPES = Path(__file__).parent / "fixtures" / "core" / "recipes"
TINY = RECIPES / "tiny.yaml"


def _problems(err: RecipeError) -> dict[str, str]:
    return {format_path(p.path): str(p) for p in err.problems}


def _write(tmp_path: Path, text: str, name: str = "r.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_valid_recipe_is_resolved_with_defaults(tiny_plugins):
    recipe = sgfkit.load_recipe(TINY)
    data = recipe.data
    assert recipe.name == "tiny"
    assert data["generator"] == {"type": "tiny-linear", "space": "w+", "truncation": 1.0, "truncation_cutoff": None,
                                 "resolution": 8, "weights_seed": 0}
    assert data["manipulators"][1]["ridge"] == 0.5 and data["manipulators"][0]["ridge"] == 1e-3
    assert data["evaluation"]["threshold"] == 0.5 and data["evaluation"]["seed"] == 1000
    assert data["edits"]["targets"][1] == {"target": {"blue": 0.0}, "label": "less-blue", "layers": None}
    assert data["evaluator"] is None and data["output"]["cache"] is True
    assert sorted(recipe.classes) == ["encoder", "generator", "manipulators[0]", "manipulators[1]", "metrics[0]"]
    # the resolved YAML is itself a valid recipe that resolves to the same thing
    assert sgfkit.load_recipe(yaml.safe_load(recipe.to_yaml())).data == data


def test_every_problem_is_reported_at_once_with_lines(tiny_plugins):
    with pytest.raises(RecipeError) as info:
        sgfkit.load_recipe(RECIPES / "bad.yaml")
    problems = _problems(info.value)
    assert str(info.value).startswith(f"{RECIPES / 'bad.yaml'} has 6 problems:")
    assert problems["devize"].startswith("devize (line 3): unknown key. did you mean 'device'? accepted: dataset,")
    assert problems["seed"] == "seed (line 2): expected int, got str '3' (a quoted number: remove the quotes)"
    assert problems["generator.type"] == ("generator.type (line 4): unknown generator 'tiny-linea'. "
                                          "did you mean 'tiny-linear'? Available: tiny-linear, tiny-z")
    assert problems["encoder.foo"].startswith("encoder.foo (line 7): unknown parameter. accepted: die_once")
    assert "manipulators[0].ridge (line 9): expected float, got str '0.1' (a quoted number" in problems[
        "manipulators[0].ridge"]
    assert problems["metrics[0]"] == ("metrics[0] (line 11): missing 'type': name the metric to use "
                                      "(found 'tpe': did you mean 'type'?). Available: tiny-gain")


def test_unknown_parameter_suggests_and_lists_accepted(tiny_plugins):
    with pytest.raises(RecipeError) as info:
        sgfkit.load_recipe(TINY, ["manipulators.0.rigde=0.1"])
    assert ("manipulators[0].rigde (--set): unknown parameter. did you mean 'ridge'? "
            "accepted: die_once, label, path_length, ridge, strengths (manipulator 'tiny-shift')") in str(info.value)


def test_missing_file_empty_file_and_invalid_yaml(tmp_path, tiny_plugins):
    _write(tmp_path, "name: x\n", "tiny.yaml")
    with pytest.raises(RecipeError, match=r"recipe file '.*tiyn.yaml' not found. did you mean 'tiny.yaml'\?"):
        sgfkit.load_recipe(tmp_path / "tiyn.yaml")
    with pytest.raises(RecipeError, match="is a folder, not a file"):
        sgfkit.load_recipe(tmp_path)
    with pytest.raises(RecipeError, match="the file is empty; a recipe needs at least 'generator:' and 'encoder:'"):
        sgfkit.load_recipe(_write(tmp_path, "# nothing\n"))
    bad = _write(tmp_path, "name: x\ngenerator: {type: tiny-linear\nencoder: {}\n")
    with pytest.raises(RecipeError, match=r"invalid YAML at .*r.yaml:3:\d+: .*Check the indentation"):
        sgfkit.load_recipe(bad)
    with pytest.raises(RecipeError, match="a recipe is a mapping of sections .*got list"):
        sgfkit.load_recipe(_write(tmp_path, "- a\n- b\n"))


def test_missing_sections_wrong_types_and_bad_names(tmp_path, tiny_plugins):
    path = _write(tmp_path, "name: 'bad name'\ndevice: gpu\nencoder: tiny-colour\nmanipulators: {type: x}\n")
    with pytest.raises(RecipeError) as info:
        sgfkit.load_recipe(path)
    problems = _problems(info.value)
    assert problems["generator"].startswith("generator: required key is missing (dict: the generator")
    assert problems["encoder"] == "encoder (line 3): expected dict, got str 'tiny-colour'"
    assert problems["manipulators"] == "manipulators (line 4): expected list, got dict {'type': 'x'}"
    assert problems["device"] == "device (line 2): unknown device 'gpu'; use auto, cpu, cuda or cuda:N. did you mean 'cuda'?"
    assert "cannot be part of a folder name" in problems["name"]


def test_sub_sections_are_checked(tmp_path, tiny_plugins):
    recipe = yaml.safe_load(TINY.read_text())
    recipe["dataset"] = {"samples": 0, "batchsize": 3}
    recipe["edits"]["targets"].append({"target": {"red": 1}, "layers": [0, "x"]})
    recipe["evaluation"]["attributes"] = "red"
    with pytest.raises(RecipeError) as info:
        sgfkit.load_recipe(recipe)
    problems = _problems(info.value)
    assert problems["dataset.samples"] == "dataset.samples: 0 is below the minimum 1"
    assert "did you mean 'batch_size'?" in problems["dataset.batchsize"]
    assert problems["edits.targets[2].layers"].endswith("expected a list of layer indices (int), got [0, 'x']")
    assert problems["evaluation.attributes"].endswith("expected list[str], got str 'red'")


def test_component_cross_checks_and_duplicate_labels(tiny_plugins):
    with pytest.raises(RecipeError) as info:
        sgfkit.load_recipe(TINY, ["generator.type=tiny-z", "manipulators.1.label=shift"])
    problems = _problems(info.value)
    assert problems["generator.space"] == "generator.space (line 5): this generator supports only z, not 'w+'"
    assert problems["manipulators"].endswith("two manipulators are labelled 'shift'; give each a distinct 'label:'")


def test_type_is_resolved_only_through_the_registry(tiny_plugins):
    with pytest.raises(RecipeError, match=r"generator.type \(--set\): unknown generator "
                                          r"'sgfkit_tiny.components:TinyGenerator'"):
        sgfkit.load_recipe(TINY, ["generator.type=sgfkit_tiny.components:TinyGenerator"])
    with pytest.raises(RecipeError, match=r"generator.type \(--set\): expected a generator name \(str\), got int 3"):
        sgfkit.load_recipe(TINY, ["generator.type=3"])


def test_set_overrides_are_yaml_typed(tiny_plugins):
    recipe = sgfkit.load_recipe(TINY, ["seed=7", "generator.truncation=0.5", "edits.seeds=[3, 4]",
                                       "output.cache=false", "manipulators.0.label=first", "evaluator.type=tiny-colour",
                                       "name=renamed"])
    data = recipe.data
    assert data["seed"] == 7 and data["generator"]["truncation"] == 0.5 and data["edits"]["seeds"] == [3, 4]
    assert data["output"]["cache"] is False and data["manipulators"][0]["label"] == "first"
    assert data["evaluator"]["type"] == "tiny-colour" and recipe.name == "renamed"
    assert recipe.overrides[0] == "seed=7"


def test_set_syntax_errors():
    assert parse_override("a.0.b=[1, 2]") == (("a", 0, "b"), [1, 2])
    assert parse_override("a= ") == (("a",), None)
    with pytest.raises(RecipeError, match="--set 'seed' is not KEY=VALUE; e.g. --set generator.truncation=0.7"):
        parse_override("seed")
    with pytest.raises(RecipeError, match="the value is not valid YAML"):
        parse_override("a=[1, 2")


def test_set_into_a_list_out_of_range(tiny_plugins):
    with pytest.raises(RecipeError, match=r"--set manipulators\[5\].ridge: manipulators\[5\] is not an index of a "
                                          r"list of 2"):
        sgfkit.load_recipe(TINY, ["manipulators.5.ridge=1"])
    with pytest.raises(RecipeError, match=r"--set seed.x.y: seed is a value \(0\), not a section"):
        sgfkit.load_recipe(TINY, ["seed.x.y=1"])


def test_a_quoted_number_in_a_dict_recipe(tiny_plugins):
    recipe = yaml.safe_load(TINY.read_text())
    recipe["dataset"]["samples"] = "100"
    with pytest.raises(RecipeError, match=r"dataset.samples: expected int, got str '100' \(a quoted number: "
                                          r"remove the quotes\)"):
        sgfkit.load_recipe(recipe)


def test_validation_does_not_build_components(tiny_plugins, monkeypatch):
    from sgfkit_tiny.components import TinyGenerator

    def explode(self, **params):
        raise AssertionError("validation must not build components")

    monkeypatch.setattr(TinyGenerator, "__init__", explode)
    assert sgfkit.load_recipe(TINY).name == "tiny"
