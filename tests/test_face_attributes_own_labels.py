"""train-encoder face-attributes --images DIR --labels CSV: your own attributes, end to end on synth-faces
renders labelled with their true attributes; the held-out error must beat predicting the mean."""
from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from sgfkit.cli import cli
from sgfkit.errors import SgfkitError
from sgfkit_face_attributes.labelled_images import read_labels
from sgfkit_face_attributes.training import render_pool

SMALL = ["--set", "layers=[1,1,1,1]", "--set", "widths=[8,16,32,64]", "--set", "stem_width=8",
         "--set", "resolution=32", "--set", "epochs=10", "--set", "batch_size=32", "--set", "lr=0.005"]


def write_labelled_pngs(root, images, scores, header: list[str]) -> None:
    """uint8 images [N, 3, H, W] as root/img/NNNN.png and root/labels.csv 'file,<header...>' with ``scores`` [N, A]."""
    (root / "img").mkdir()
    lines = ["file," + ",".join(header)]
    for i, (img, row) in enumerate(zip(images, scores)):
        Image.fromarray(img.permute(1, 2, 0).numpy()).save(root / "img" / f"{i:04d}.png")
        lines.append(f"{i:04d}.png," + ",".join(f"{float(v):.4f}" for v in row))
    (root / "labels.csv").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """640 synth-faces renders as PNG files and a CSV of two of their true attributes (renamed)."""
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("own")
    images, attrs, names = render_pool(640, seed=5, resolution=32, truncation=1.0, batch=160)
    write_labelled_pngs(root, images, attrs[:, [names.index("smile"), names.index("black_hair")]],
                        ["grin", "dark_hair"])
    return root


def test_own_labels_train_an_encoder_that_recipes_use(labelled, tmp_path):
    out = tmp_path / "mine.safetensors"
    result = CliRunner().invoke(cli, ["train-encoder", "face-attributes", "--out", str(out), "--images",
                                      str(labelled / "img"), "--labels", str(labelled / "labels.csv"),
                                      "--no-progress", *SMALL])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    print("held-out MAE", report["heldout_mae"], "predict-the-mean MAE", report["heldout_mae_predict_mean"], report["heldout_per_attribute"])
    assert report["heldout_n"] == 128  # 20 % of 640 held out
    # strict: the network must beat the constant that a useless model would output
    assert report["heldout_mae"] < 0.8 * report["heldout_mae_predict_mean"], report
    from sgfkit_face_attributes.encoder import FaceAttributes
    from sgfkit_synthetic import SynthFaces

    enc = FaceAttributes(weights=str(out))
    assert enc.names == ["grin", "dark_hair"]
    gen = SynthFaces(resolution=32)
    scores = enc.measure(gen, gen.sample_latents(4, seed=1))
    assert scores.shape == (4, 2) and bool(((scores >= 0) & (scores <= 1)).all())


@pytest.mark.parametrize("csv_text, needle", [
    ("name,a\nx.png,0.5\n", "header 'file,<attribute>"),
    ("file,a b\nx.png,0.5\n", "distinct identifiers"),
    ("file,a\nx.png,1.5\n", r"in \[0, 1\]"),
    ("file,a\nx.png,high\n", "must be numbers"),
    ("file,a,b\nx.png,0.5\n", "2 columns, the header has 3"),
])
def test_bad_label_files_name_the_line(tmp_path, csv_text, needle):
    (tmp_path / "labels.csv").write_text(csv_text)
    with pytest.raises(SgfkitError, match=needle):
        read_labels(tmp_path / "labels.csv")


def test_missing_images_and_half_the_options_are_clear(labelled, tmp_path):
    (tmp_path / "labels.csv").write_text("file,a\n" + "nope.png,0.5\n" * 4)
    runner = CliRunner()
    result = runner.invoke(cli, ["train-encoder", "face-attributes", "--out", str(tmp_path / "x.safetensors"),
                                 "--images", str(labelled / "img"), "--labels", str(tmp_path / "labels.csv"),
                                 "--no-progress"])
    assert result.exit_code == 1 and "image 'nope.png' cannot be read" in result.output
    result = runner.invoke(cli, ["train-encoder", "face-attributes", "--out", str(tmp_path / "x.safetensors"),
                                 "--images", str(labelled / "img"), "--no-progress"])
    assert result.exit_code == 1 and "both --images DIR and --labels" in result.output
    assert not (tmp_path / "x.safetensors").exists()
