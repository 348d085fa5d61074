"""Regenerate the README's photo-editing figures (docs/images/edit_photo_*.png).

Usage: .venv/bin/python docs/figures/edit_photo.py [--cache .sgfkit-cache]

The "photo" is a held-out synth-faces render (seed 7_000_100, truncation 1.0) saved as PNG; the
command is then exactly ``sgfkit edit`` on that file with the faces_attributes recipe in w+
(InterFaceGAN fitted on 5000 samples, as in benchmarks/bench_projection_edits.py), one single target
and one chain. Copies the run's projection.png and edits.png into docs/images/.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default=".sgfkit-cache")
    args = parser.parse_args()
    torch.set_num_threads(1)
    import sgfkit
    from sgfkit.images import save_image

    folder = Path(tempfile.mkdtemp(prefix="sgfkit-figure-"))
    gen = sgfkit.get_generator("synth-faces", space="w+", truncation=1.0)
    save_image(gen.synthesize(gen.to_latents(gen.z_from_seeds([7_000_100])))[0], folder / "photo.png")
    overrides = ["generator.space=w+", "generator.truncation=1.0", "dataset.samples=5000",
                 "manipulators=[{type: interfacegan, label: InterFaceGAN}]", f"output.cache_dir={args.cache}"]
    result = sgfkit.edit([folder / "photo.png"], ROOT / "recipes" / "faces_attributes.yaml",
                         targets=["smile=1", "smile=1 > bald=1 > glasses=1"], overrides=overrides,
                         out_dir=folder / "runs")
    for name in ("projection", "edits"):
        shutil.copy(result.run_dir / f"{name}.png", ROOT / "docs" / "images" / f"edit_photo_{name}.png")
    print(f"run folder: {result.run_dir}")


if __name__ == "__main__":
    main()
