"""face-attributes, embedded config: the shipped weights load by default, predict synth-faces'
true attributes on fresh renders, and the training command still works."""
from __future__ import annotations

import json

import pytest
import torch

from sgfkit.errors import ComponentError, ParamError, WeightsError
from sgfkit_face_attributes.encoder import EMBEDDED_WEIGHTS, FaceAttributes
from sgfkit_synthetic import SynthFaces, SynthFacesTruth

torch.set_num_threads(2)


@pytest.fixture(scope="module")
def encoder() -> FaceAttributes:
    return FaceAttributes()


def test_shipped_weights_are_small_and_documented(encoder):
    assert EMBEDDED_WEIGHTS.stat().st_size < 5_000_000
    meta = json.loads(EMBEDDED_WEIGHTS.with_suffix(".json").read_text())
    assert meta == encoder.meta
    assert meta["training"]["command"].startswith("sgfkit train-encoder face-attributes --out ")
    assert isinstance(meta["training"]["data_seed"], int)
    assert meta["heldout"]["heldout_mae"] <= 0.05 and meta["heldout"]["heldout_n"] >= 500
    assert encoder.names == SynthFacesTruth.attribute_names
    assert encoder.versions()["weights_sha256"]


def test_fresh_heldout_renders_meet_the_mae_target(encoder):
    gen = SynthFaces(resolution=64, truncation=0.8)
    truth = SynthFacesTruth()
    latents = gen.sample_latents(200, seed=31337)     # neither the training nor the held-out seed
    pred = encoder.measure(gen, latents)
    true = truth.measure(gen, latents)[:, :len(truth.attribute_names)]
    assert pred.shape == true.shape and pred.dtype == torch.float32
    assert (pred >= 0).all() and (pred <= 1).all()
    mae = (pred - true).abs().mean()
    assert mae <= 0.05, f"held-out attribute MAE {mae:.4f}"
    # it tracks each attribute rather than predicting the mean
    per_attr = (pred - true).abs().mean(0)
    spread = (true - true.mean(0)).abs().mean(0)
    assert (per_attr < spread).all()


def test_other_image_sizes_are_resized(encoder):
    gen = SynthFaces(resolution=64, truncation=0.8)
    img64 = gen.synthesize(gen.sample_latents(4, seed=5))
    img128 = torch.nn.functional.interpolate(img64, scale_factor=2, mode="bilinear", align_corners=False)
    a, b = encoder.encode(img64), encoder.encode(img128)
    assert a.shape == b.shape == (4, len(encoder.names))
    assert (a - b).abs().mean() < 0.05


def test_bad_inputs_give_clear_errors(encoder, tmp_path):
    with pytest.raises(ComponentError, match="images with NaN"):
        encoder.encode(torch.full((1, 3, 64, 64), float("nan")))
    with pytest.raises(ComponentError, match="'head' applies to config: senet50 only"):
        FaceAttributes(head="x.safetensors")
    with pytest.raises(ComponentError, match="no condition named 'smille'.*did you mean 'smile'"):
        encoder.index_of("smille")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not safetensors at all")
    with pytest.raises(WeightsError, match="bad.safetensors: not a readable face-attributes weights file"):
        FaceAttributes(weights=str(bad))


def test_training_command_runs_a_tiny_version(tmp_path):
    out = tmp_path / "tiny.safetensors"
    report = FaceAttributes.train(out, samples=24, heldout=8, epochs=2, batch_size=8, layers=[1, 1],
                                  widths=[4, 8], stem_width=8, reduction=2, render_batch=24, threads=1)
    assert report["steps"] == 6 and 0 <= report["heldout_mae"] <= 1
    assert set(report["heldout_per_attribute"]) == set(SynthFacesTruth.attribute_names)
    meta = json.loads(out.with_suffix(".json").read_text())
    assert "--set samples=24" in meta["training"]["command"] and meta["config"]["widths"] == [4, 8]
    enc = FaceAttributes(weights=str(out))
    scores = enc.encode(torch.zeros(3, 3, 64, 64))
    assert scores.shape == (3, 15) and (scores >= 0).all() and (scores <= 1).all()
    with pytest.raises(ParamError, match="sampels"):
        FaceAttributes.train(out, sampels=3)
