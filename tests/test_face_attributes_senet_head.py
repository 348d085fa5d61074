"""train-encoder face-attributes --backbone senet50 --weights X.pkl: only an attribute head is fitted on frozen
SE-ResNet-50 features; the file it writes is the head the senet50 encoder reads (random-weights backbone in the
official VGGFace2 layout, written here; small labelled synth-faces images)."""
from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner

from sgfkit.cli import cli
from sgfkit_face_attributes.senet import SENET50, SENet
from sgfkit_face_attributes.training import render_pool
from test_face_attributes_own_labels import write_labelled_pngs
from test_face_attributes_senet import py2_style_pickle, random_state

pytestmark = pytest.mark.slow  # SE-ResNet-50 at 224 px on the CPU: a few seconds


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("senet_head")
    (root / "senet50_ft_weight.pkl").write_bytes(py2_style_pickle(random_state(SENet(SENET50), seed=3)))
    images, attrs, names = render_pool(60, seed=7, resolution=32, truncation=1.0, batch=60)
    write_labelled_pngs(root, images, attrs[:, [names.index("black_hair")]], ["dark_hair"])
    return root


def test_a_head_on_frozen_senet50_features_is_what_the_encoder_reads(setup, tmp_path):
    out = tmp_path / "head.safetensors"
    pkl = setup / "senet50_ft_weight.pkl"
    before = pkl.read_bytes()
    result = CliRunner().invoke(cli, ["train-encoder", "face-attributes", "--backbone", "senet50", "--weights",
                                      str(pkl), "--images", str(setup / "img"), "--labels",
                                      str(setup / "labels.csv"), "--out", str(out), "--no-progress",
                                      "--set", "resolution=32", "--set", "epochs=60", "--set", "batch_size=16",
                                      "--set", "lr=0.01", "--set", "weight_decay=0.0"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    print({k: report[k] for k in ("train_mae", "train_mae_predict_mean", "heldout_mae", "heldout_mae_predict_mean")})
    assert pkl.read_bytes() == before and report["heldout_n"] == 12
    # the head learns from the frozen features: the training labels are fitted far better than by their mean
    assert report["train_loss_last"] < report["train_loss_first"]
    assert report["train_mae"] < 0.5 * report["train_mae_predict_mean"], report
    from safetensors import safe_open

    with safe_open(str(out), framework="pt") as f:   # only the head is written: [2048 -> 1]
        assert sorted(f.keys()) == ["layers.0.bias", "layers.0.weight"]
        assert list(f.get_tensor("layers.0.weight").shape) == [1, 2048]
    # the encoder (original preprocessing, raw features) reproduces the held-out error the report states:
    # the standardisation used while fitting is folded into the saved head
    from sgfkit_face_attributes.encoder import FaceAttributes
    from sgfkit_face_attributes.labelled_images import read_labelled_images, split_heldout

    enc = FaceAttributes(config="senet50", weights=str(pkl), head=str(out))
    assert enc.names == ["dark_hair"]
    images, scores, _ = read_labelled_images(setup / "img", setup / "labels.csv", 32)
    _, test_idx = split_heldout(len(images), 0.2, 987654)
    pred = enc.encode(images[test_idx].float() / 127.5 - 1.0)
    mae = float((pred - scores[test_idx]).abs().mean())
    assert mae == pytest.approx(report["heldout_mae"], abs=1e-4)


def test_senet50_head_needs_labels_and_a_found_pkl(setup, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["train-encoder", "face-attributes", "--backbone", "senet50", "--out",
                                 str(tmp_path / "h.safetensors"), "--no-progress"])
    assert result.exit_code == 1 and "trains an attribute head on your labels" in result.output
    result = runner.invoke(cli, ["train-encoder", "face-attributes", "--weights", "x.pkl", "--out",
                                 str(tmp_path / "h.safetensors"), "--no-progress"])
    assert result.exit_code == 1 and "add --backbone senet50" in result.output
    result = runner.invoke(cli, ["train-encoder", "face-attributes", "--backbone", "senet50", "--weights",
                                 str(tmp_path / "missing.pkl"), "--images", str(setup / "img"), "--labels",
                                 str(setup / "labels.csv"), "--out", str(tmp_path / "h.safetensors"), "--no-progress"])
    assert result.exit_code == 1 and "missing.pkl" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "h.safetensors").exists()
