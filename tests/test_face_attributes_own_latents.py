"""train-encoder face-attributes --latents FILE --labels CSV --generator NAME: labels given on generated
samples, end to end on synth-faces latents labelled with their true attributes; the held-out error must beat
predicting the mean."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from sgfkit.cli import cli
from test_face_attributes_own_labels import SMALL  # the same tiny network and schedule



@pytest.fixture(scope="module")
def labelled_latents(tmp_path_factory):
    """700 synth-faces latents (npz) and a CSV of two true attributes of 640 of them, rows in shuffled order."""
    from sgfkit_synthetic import SynthFaces, SynthFacesTruth

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("own_latents")
    gen = SynthFaces(resolution=64, truncation=1.0)  # rendered at 64 px, trained at 32: the resize path runs
    truth = SynthFacesTruth()
    latents = gen.sample_latents(700, seed=11)
    with torch.no_grad():
        attrs = truth.measure(gen, latents).float().cpu()
    names = list(truth.attribute_names)
    cols = [names.index("smile"), names.index("black_hair")]
    np.savez(root / "codes.npz", codes=latents.tensor.cpu().numpy(), other=np.zeros(3, np.float32))
    rows = torch.randperm(700, generator=torch.Generator().manual_seed(0))[:640].tolist()  # 60 unlabelled
    lines = ["index,grin,dark_hair"] + [f"{i},{float(attrs[i, cols[0]]):.4f},{float(attrs[i, cols[1]]):.4f}"
                                        for i in rows]
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    return root, latents.space


def _train(root, out, *extra):
    return CliRunner().invoke(cli, ["train-encoder", "face-attributes", "--out", str(out), "--latents",
                                    str(root / "codes.npz"), "--labels", str(root / "labels.csv"),
                                    "--no-progress", *extra])


def test_labels_on_generated_samples_train_an_encoder(labelled_latents, tmp_path):
    root, _ = labelled_latents
    out = tmp_path / "mine.safetensors"
    result = _train(root, out, "--generator", "synth-faces", "--set", "generator.resolution=64",
                    "--set", "generator.truncation=1.0", "--set", "latents_key=codes", *SMALL)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    print("held-out MAE", report["heldout_mae"], "predict-the-mean MAE", report["heldout_mae_predict_mean"],
          report["heldout_per_attribute"])
    assert report["heldout_n"] == 128  # 20 % of the 640 labelled rows
    # strict: the network must beat the constant that a useless model would output
    assert report["heldout_mae"] < 0.8 * report["heldout_mae_predict_mean"], report
    from sgfkit_face_attributes.encoder import FaceAttributes
    from sgfkit_synthetic import SynthFaces

    enc = FaceAttributes(weights=str(out))
    assert enc.names == ["grin", "dark_hair"]
    command = json.loads(out.with_suffix(".json").read_text())["training"]["command"]
    assert "--set generator.resolution=64" in command and "--set latents=" in command, command
    gen = SynthFaces(resolution=64)
    scores = enc.measure(gen, gen.sample_latents(4, seed=1))
    assert scores.shape == (4, 2) and bool(((scores >= 0) & (scores <= 1)).all())


def test_labels_on_shuffled_rows_follow_the_index_column(labelled_latents, tmp_path):
    """Labels that name the wrong rows (the index column ignored) must train no better than the mean."""
    root, _ = labelled_latents
    lines = (root / "labels.csv").read_text().splitlines()
    body = lines[1:]
    indices = [row.split(",", 1)[0] for row in body]
    scores = [row.split(",", 1)[1] for row in body]
    shifted = [f"{i},{s}" for i, s in zip(indices, scores[1:] + scores[:1])]  # each label on another latent
    (tmp_path / "codes.npz").write_bytes((root / "codes.npz").read_bytes())
    (tmp_path / "labels.csv").write_text("\n".join([lines[0], *shifted]) + "\n")
    result = _train(tmp_path, tmp_path / "x.safetensors", "--generator", "synth-faces",
                    "--set", "generator.resolution=64", "--set", "latents_key=codes", *SMALL)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["heldout_mae"] > 0.9 * report["heldout_mae_predict_mean"], report


@pytest.mark.parametrize("csv_text, extra, needle", [
    ("index,a\n700,0.5\n" + "1,0.5\n2,0.5\n3,0.5\n", ["--generator", "synth-faces"], "index 700 is outside"),
    ("index,a\nfirst,0.5\n", ["--generator", "synth-faces"], "'first' is not a row number"),
    ("index,a\n1,0.5\n1,0.2\n", ["--generator", "synth-faces"], "labelled twice"),
    ("file,a\n1,0.5\n", ["--generator", "synth-faces"], "header 'index,<attribute>"),
    ("index,a\n1,0.5\n", [], "--latents needs --generator NAME"),
    ("index,a\n1,0.5\n", ["--generator", "synth-faces", "--images", "."], "not both"),
])
def test_bad_latent_labels_are_one_clear_line(labelled_latents, tmp_path, csv_text, extra, needle):
    root, _ = labelled_latents
    (tmp_path / "codes.npz").write_bytes((root / "codes.npz").read_bytes())
    (tmp_path / "labels.csv").write_text(csv_text)
    result = _train(tmp_path, tmp_path / "x.safetensors", "--set", "latents_key=codes", *extra)
    assert result.exit_code == 1 and needle in result.output, result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.safetensors").exists()


def test_latents_that_do_not_fit_the_generator_are_named(tmp_path):
    np.save(tmp_path / "codes.npy", np.zeros((8, 7), np.float32))
    (tmp_path / "labels.csv").write_text("index,a\n" + "".join(f"{i},0.5\n" for i in range(8)))
    result = CliRunner().invoke(cli, ["train-encoder", "face-attributes", "--out", str(tmp_path / "x.safetensors"),
                                      "--latents", str(tmp_path / "codes.npy"), "--labels",
                                      str(tmp_path / "labels.csv"), "--generator", "synth-faces", "--no-progress"])
    assert result.exit_code == 1 and "do not fit this generator" in result.output, result.output


def test_generic_attributes_encoder_trains_and_is_named_in_recipes(labelled_latents, tmp_path):
    """train-encoder attributes writes the same file; recipes say encoder: {type: attributes, weights: X}."""
    from sgfkit import api

    root, _ = labelled_latents
    out = tmp_path / "mine.safetensors"
    result = CliRunner().invoke(cli, ["train-encoder", "attributes", "--out", str(out), "--latents",
                                      str(root / "codes.npz"), "--labels", str(root / "labels.csv"),
                                      "--generator", "synth-faces", "--set", "generator.resolution=64",
                                      "--set", "latents_key=codes", "--no-progress", *SMALL[:-6], "--set", "epochs=2"])
    assert result.exit_code == 0, result.output
    assert "sgfkit train-encoder attributes --out" in json.loads(out.with_suffix(".json").read_text())["training"]["command"]
    enc = api.get_condition_encoder("attributes", weights=str(out))
    assert enc.names == ["grin", "dark_hair"] and enc.versions()["weights_sha256"]
    gen = api.get_generator("synth-faces", resolution=64)
    assert enc.measure(gen, gen.sample_latents(3, seed=2)).shape == (3, 2)
    recipe = tmp_path / "mine.yaml"
    recipe.write_text(f"name: mine\ngenerator: {{type: synth-faces, resolution: 64}}\n"
                      f"encoder: {{type: attributes, weights: {out.name}}}\n"
                      "manipulators: [{type: interfacegan}]\n"
                      "edits: {seeds: [0], targets: [{target: {grin: 1.0}}]}\n")
    result = CliRunner().invoke(cli, ["validate", str(recipe)])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["validate", str(recipe), "--set", "edits.targets=[{target: {smile: 1.0}}]"])
    assert result.exit_code != 0 and "no condition named 'smile'" in result.output and "grin" in result.output


def test_generic_attributes_needs_your_file_and_your_labels(tmp_path):
    from sgfkit import api
    from sgfkit.errors import SgfkitError

    with pytest.raises(SgfkitError, match="weights"):
        api.get_condition_encoder("attributes")
    with pytest.raises(SgfkitError, match="config"):  # face-attributes' senet50 options are not offered
        api.get_condition_encoder("attributes", weights="x.safetensors", config="senet50")
    result = CliRunner().invoke(cli, ["train-encoder", "attributes", "--out", str(tmp_path / "x.safetensors"),
                                      "--no-progress"])
    assert result.exit_code == 1 and "trains on your labels" in result.output, result.output
