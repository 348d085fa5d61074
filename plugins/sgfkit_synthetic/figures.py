"""Documentation figures of the synthetic worlds (``python -m sgfkit_synthetic.figures --out docs/images``).

* ``synth_faces.png`` / ``synth_flowers.png``: labelled sample grids (truth attributes / captions),
  the same as ``sgfkit samples synth-faces --encoder synth-faces-truth``.
* ``synth_faces_layers.png`` / ``synth_flowers_layers.png``: w+ layer control. Each column starts from
  one source; the rows copy the coarse, middle or fine layers of a donor into it.
* ``synth_faces_entangled.png``: a labelled sample grid of synth-faces-entangled.
* ``synth_faces_entangled_age.png``: its curved entanglement: faces moved along the age factor alone.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch

from sgfkit.outputs import GridBlock, render_grid, sample_grid, to_uint8
from sgfkit_synthetic.faces import SynthFaces
from sgfkit_synthetic.faces_entangled import SynthFacesEntangled
from sgfkit_synthetic.flowers import SynthFlowers
from sgfkit_synthetic.truth import SynthFacesEntangledTruth, SynthFacesTruth, SynthFlowersTruth


def layer_control_grid(generator, truth, label_fn, columns: int = 6, seed: int = 3) -> bytes:
    """PNG: sources, donors, and sources with each layer group taken from the donor."""
    src = generator.to_latents(generator.sample_z(columns, seed), "w+").tensor
    donor = generator.to_latents(generator.sample_z(columns, seed + 1000), "w+").tensor
    rows: list[list] = []
    variants = [("source", src), ("donor", donor)]
    for group in ("coarse", "middle", "fine"):
        mixed = src.clone()
        layers = generator.layer_groups[group]
        mixed[:, layers] = donor[:, layers]
        variants.append((f"{group} from donor", mixed))
    from sgfkit.latents import Latents

    for name, ws in variants:
        lat = Latents(ws, "w+")
        images = to_uint8(generator.synthesize(lat))
        labels = label_fn(truth, generator, lat)
        rows.append([(img, f"{name}: {text}") for img, text in zip(images, labels)])
    title = f"{generator.registry_name or type(generator).__name__}: w+ layer groups {generator.layer_groups}"
    return render_grid([GridBlock(title.replace("'all': [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], ", ""), rows)], max_label_lines=3)


def set_factor(generator, w: torch.Tensor, factor: str, value: float) -> torch.Tensor:
    """w [N, D] moved so that one factor reads ``value`` (in every layer group that reads it) and every
    other factor keeps its value."""
    reader = generator.factors
    i = reader.direction_index[factor]
    dirs = reader.directions.double()                                       # [F, D]; factor_j = w . d_j - mean_j
    now = w.double() @ dirs[i] - reader.mean[i]                             # [N]
    # the whitened directions are not orthogonal: the shortest move that changes factor i by 1 and no
    # other factor is D^T (D D^T)^-1 e_i
    unit = dirs.T @ torch.linalg.solve(dirs @ dirs.T, torch.eye(len(dirs), dtype=dirs.dtype)[i])
    return (w.double() + (value - now).unsqueeze(1) * unit).to(w.dtype)


def factor_sweep_grid(generator, truth, factor: str, values: list[float], labels: list[str],
                      columns: int = 6, seed: int = 5) -> bytes:
    """PNG: each column one source face; each row sets ``factor`` (in every layer group that reads it) to a
    value, by moving w along the factor's direction only. The labels show the truth's ``labels``."""
    from sgfkit.latents import Latents

    w = generator.to_latents(generator.sample_z(columns, seed), "w").tensor
    rows = []
    for v in values:
        lat = Latents(set_factor(generator, w, factor, v), "w")
        text = truth.describe(truth.measure(generator, lat), [truth.index_of(n) for n in labels])
        rows.append([(img, f"{factor} {v:+.1f}: {t}") for img, t in zip(to_uint8(generator.synthesize(lat)), text)])
    name = generator.registry_name or type(generator).__name__
    return render_grid([GridBlock(f"{name}: the {factor} factor alone, rows {values[0]:+.1f} .. {values[-1]:+.1f}",
                                  rows)], max_label_lines=3)


def _face_labels(truth, generator, lat) -> list[str]:
    c = truth.measure(generator, lat)
    return truth.describe(c, [truth.index_of(n) for n in ("bald", "smile", "black_hair", "hair_hue")])


def _flower_labels(truth, generator, lat) -> list[str]:
    return [f"{f['petal_count']} {f['petal_shape']} {f['petal_color']}, {f['center_color']} center"
            for f in truth.facts(generator, lat)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--resolution", type=int, default=128)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    faces, flowers = SynthFaces(resolution=args.resolution, truncation=0.9), SynthFlowers(resolution=args.resolution)
    faces.registry_name, flowers.registry_name = "synth-faces", "synth-flowers"
    (args.out / "synth_faces.png").write_bytes(sample_grid(faces, SynthFacesTruth(), 16, seed=1))
    (args.out / "synth_flowers.png").write_bytes(sample_grid(flowers, SynthFlowersTruth(), 16, seed=1))
    (args.out / "synth_faces_layers.png").write_bytes(layer_control_grid(faces, SynthFacesTruth(), _face_labels))
    (args.out / "synth_flowers_layers.png").write_bytes(layer_control_grid(flowers, SynthFlowersTruth(), _flower_labels))
    entangled = SynthFacesEntangled(resolution=args.resolution, truncation=0.9)
    entangled.registry_name = "synth-faces-entangled"
    (args.out / "synth_faces_entangled.png").write_bytes(sample_grid(entangled, SynthFacesEntangledTruth(), 16, seed=1))
    (args.out / "synth_faces_entangled_age.png").write_bytes(factor_sweep_grid(
        entangled, SynthFacesEntangledTruth(), "age", [-1.5, -0.5, 0.5, 1.5, 2.5],
        ["age", "grey_hair", "bald", "glasses"]))
    print(f"wrote 6 figures to {args.out}")


if __name__ == "__main__":
    main()
