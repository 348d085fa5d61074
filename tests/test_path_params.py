"""One path rule for every component: a file parameter written relative to the recipe is found there."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from sgfkit.recipe import load_recipe, resolve_path_params
from sgfkit.registry import get_registry

KINDS = ("generator", "condition-encoder", "manipulator", "metric", "projector")


def _components_with_paths() -> list[tuple[str, str, list[str]]]:
    registry = get_registry()
    found = []
    for kind in KINDS:
        for name in registry.names(kind):
            cls = registry.resolve(kind, name)
            keys = [k for k, p in cls.all_params().items() if p.path]
            if keys:
                found.append((kind, name, keys))
    return found


def test_the_bundled_file_parameters_are_declared():
    declared = {(name, key) for _, name, keys in _components_with_paths() for key in keys}
    assert {("stylegan2", "checkpoint"), ("progan", "checkpoint"), ("face-attributes", "weights"),
            ("face-attributes", "head"), ("anime-keypoints", "weights"), ("illustration2vec", "tag_list"),
            ("show-attend-tell", "word_map"), ("flower-caption", "weights"), ("direction", "file"),
            ("optimize", "vgg16_weights"), ("attributes", "weights")} <= declared


@pytest.mark.parametrize("kind, name, keys", _components_with_paths(), ids=lambda v: v if isinstance(v, str) else None)
def test_each_file_parameter_resolves_against_the_recipe_folder(kind, name, keys, tmp_path):
    cls = get_registry().resolve(kind, name)
    recipe_dir = tmp_path / "recipes"
    (recipe_dir / "files").mkdir(parents=True)
    for key in keys:
        (recipe_dir / "files" / f"{key}.bin").write_bytes(b"x")
    params = {key: f"files/{key}.bin" for key in keys}
    resolved = resolve_path_params(cls, params, recipe_dir)
    assert all(Path(resolved[k]) == (recipe_dir / "files" / f"{k}.bin").resolve() for k in keys)
    # names that do not exist beside the recipe stay as given (looked up in the weights folders later)
    assert resolve_path_params(cls, {k: f"{k}.pkl" for k in keys}, recipe_dir) == {k: f"{k}.pkl" for k in keys}


def test_an_encoder_file_relative_to_the_recipe_loads_from_another_working_folder(tmp_path, monkeypatch):
    import sgfkit
    from sgfkit_anime.keypoints_encoder import SHIPPED_WEIGHTS

    folder = tmp_path / "project"
    (folder / "weights").mkdir(parents=True)
    shutil.copy(SHIPPED_WEIGHTS, folder / "weights" / "mine.safetensors")
    recipe = folder / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({"name": "k", "generator": {"type": "synth-faces", "space": "w"},
                                      "encoder": {"type": "anime-keypoints", "weights": "weights/mine.safetensors"}}))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    loaded = load_recipe(recipe)
    assert loaded.data["encoder"]["weights"] == str((folder / "weights" / "mine.safetensors").resolve())
    encoder = sgfkit.get_condition_encoder("anime-keypoints", weights=loaded.data["encoder"]["weights"])
    assert Path(encoder.weights_path).resolve() == (folder / "weights" / "mine.safetensors").resolve()
