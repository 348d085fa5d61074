"""sgfkit.shipped_weights: one metadata layout for trained encoder weights, older files still read,
the reproducing command, and sgfkit.threads.torch_threads."""
from __future__ import annotations

import json
import shlex

import pytest
import torch

from sgfkit.errors import WeightsError
from sgfkit.recipe import parse_override
from sgfkit.shipped_weights import (METADATA_KEY, module_tensors, read_metadata, read_weights, save_weights,
                                    training_command)
from sgfkit.threads import torch_threads


def test_weights_and_metadata_round_trip(tmp_path):
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    meta = {"config": {"width": 2}, "names": ["a", "b"], "held_out": {"mae": 0.1}, "path": tmp_path}
    path = tmp_path / "deep" / "w.safetensors"
    save_weights(path, module_tensors(net, drop=("num_batches_tracked",)), meta)
    tensors, read = read_weights(path, "test weights", "retrain it")
    assert set(tensors) == {"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var"}
    assert torch.equal(tensors["0.weight"], net[0].weight.detach())
    expected = {**meta, "path": str(tmp_path)}  # what JSON cannot hold is written as text
    assert read == expected and read_metadata(path) == expected
    assert json.loads(path.with_suffix(".json").read_text()) == expected
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        assert set(f.metadata()) == {METADATA_KEY}  # one layout: one entry


def test_files_in_the_older_layout_still_read(tmp_path):
    """Before this module, face-attributes wrote every metadata entry as its own JSON value."""
    from safetensors.torch import save_file

    old = tmp_path / "old.safetensors"
    save_file({"x": torch.ones(2)}, str(old), metadata={"config": json.dumps({"width": 2}),
                                                         "attribute_names": json.dumps(["smile"]),
                                                         "input_size": "64", "format": "pt"})
    tensors, meta = read_weights(old, "test weights", "retrain it")
    assert meta == {"config": {"width": 2}, "attribute_names": ["smile"], "input_size": 64, "format": "pt"}
    assert read_metadata(old) == meta and torch.equal(tensors["x"], torch.ones(2))
    save_file({"x": torch.ones(2)}, str(old), metadata={"config": "[" * 100_000 + "]" * 100_000})
    with pytest.raises(WeightsError, match="old.safetensors: metadata 'config' nests too deeply"):
        read_weights(old, "test weights", "retrain it")
    save_file({"x": torch.ones(2)}, str(old), metadata={METADATA_KEY: "[1, 2]"})
    with pytest.raises(WeightsError, match="metadata 'sgfkit' is a list, not an object"):
        read_weights(old, "test weights", "retrain it")
    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 16)
    with pytest.raises(WeightsError, match="junk.safetensors: not a readable test weights file .*; retrain it"):
        read_weights(tmp_path / "junk.safetensors", "test weights", "retrain it")


def test_the_shipped_files_are_read_in_either_layout():
    """Shipped weights are not retrained for the new layout: face-attributes' file is the older one."""
    from sgfkit_anime.keypoints_encoder import SHIPPED_WEIGHTS as ANIME
    from sgfkit_caption.encoders import SHIPPED_WEIGHTS as CAPTION
    from sgfkit_face_attributes.encoder import EMBEDDED_WEIGHTS as FACES

    assert {"config", "attribute_names", "input_size"} <= set(read_metadata(FACES))
    assert read_metadata(ANIME)["format"] == "sgfkit-anime-keypoints/1"
    assert {"config", "word_map"} <= set(read_metadata(CAPTION))


def test_training_command_reproduces_the_options_through_set():
    options = {"steps": 3, "lr": 0.001, "attributes": ["smile", "hair_hue"], "generator.resolution": 64,
               "images": "/data/my faces", "name": "123", "flag": True, "nothing": None, "nested": {"a": [1, 2]}}
    command = training_command("my-encoder", "out dir/w.safetensors", options, {"lr": 0.001, "flag": False})
    words = shlex.split(command)
    assert words[:5] == ["sgfkit", "train-encoder", "my-encoder", "--out", "out dir/w.safetensors"]
    sets = [words[i + 1] for i, w in enumerate(words) if w == "--set"]
    parsed = dict(parse_override(text) for text in sets)
    assert parsed == {("steps",): 3, ("attributes",): ["smile", "hair_hue"], ("generator", "resolution"): 64,
                      ("images",): "/data/my faces", ("name",): "123", ("flag",): True, ("nothing",): None,
                      ("nested",): {"a": [1, 2]}}  # lr is at its default: left out


def test_torch_threads_restores_the_previous_count_even_on_errors():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError):
        with torch_threads(before + 1):
            assert torch.get_num_threads() == before + 1
            raise RuntimeError("training failed")
    assert torch.get_num_threads() == before


def test_optimizer_step_updates_weights_and_schedule():
    from sgfkit.shipped_weights import optimizer_step

    w = torch.nn.Parameter(torch.tensor([3.0]))
    opt = torch.optim.SGD([w], lr=0.25)
    schedule = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    first = optimizer_step((w ** 2).sum(), opt, schedule)  # grad 6: w 3 -> 1.5, lr 0.25 -> 0.125
    second = optimizer_step((w ** 2).sum(), opt, schedule)  # grad 3: w 1.5 -> 1.125
    assert (first, second) == (9.0, 2.25)
    assert w.item() == pytest.approx(1.125) and opt.param_groups[0]["lr"] == pytest.approx(0.0625)
