"""Do edits succeed as often on projected photos as on the sampled latents they came from? (issue 11, item 5)

Usage: .venv/bin/python benchmarks/bench_projection_edits.py [--images 16] [--samples 5000] [--steps 1000]
       [--methods interfacegan,sgf] [--json FILE]

Renders held-out synth-faces (truncation 1.0, seeds 7_000_000 + i) to PNG files, then runs the
``faces_attributes`` recipe (in w+, on ``--samples`` fitting samples, the listed manipulators) twice
on the same faces: ``sgfkit.run`` on the sampled latents (edits.seeds = those seeds) and
``sgfkit.edit`` on the PNG files (projected in w+ first). An edit succeeds when the truth of its
target attribute reaches the target side (>= 0.5 for a target of 1, < 0.5 for 0). Prints the success
rate per method and target on both, and the differences (target: within 0.05).
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import torch

SEED0 = 7_000_000
RECIPE = Path(__file__).resolve().parent.parent / "recipes" / "faces_attributes.yaml"
METHODS = {"interfacegan": "{type: interfacegan, label: InterFaceGAN}",
           "sgf": "{type: sgf, label: SGF, train_steps: 3000, lr: 0.001, max_steps: 60}",
           "ganspace": "{type: ganspace, label: GANSpace}"}


def success(outcomes: list) -> dict[str, float]:
    """(method/label) -> share of samples whose target attribute ended on the target side."""
    out = {}
    for o in outcomes:
        (name, value), = o.target.items()
        i = o.names.index(name)
        hit = o.after[:, i] >= 0.5 if float(value) >= 0.5 else o.after[:, i] < 0.5
        out[f"{o.method}/{o.label}"] = float(np.mean(hit))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--methods", default="interfacegan")
    parser.add_argument("--cache", default=".sgfkit-cache")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)

    import sgfkit
    from sgfkit.images import save_image

    seeds = [SEED0 + i for i in range(args.images)]
    manips = "[" + ", ".join(METHODS[m] for m in args.methods.split(",")) + "]"
    overrides = ["generator.space=w+", "generator.truncation=1.0", f"dataset.samples={args.samples}",
                 f"manipulators={manips}", "evaluation=null", "metrics=[]", f"edits.seeds={seeds}",
                 f"output.cache_dir={args.cache}", f"projector.steps={args.steps}", "projector.space=w+"]
    gen = sgfkit.get_generator("synth-faces", space="w+", truncation=1.0)
    folder = Path(tempfile.mkdtemp(prefix="sgfkit-edits-"))
    paths = []
    for seed, img in zip(seeds, gen.synthesize(gen.to_latents(gen.z_from_seeds(seeds)))):
        paths.append(folder / f"face-{seed}.png")
        save_image(img, paths[-1])
    out = folder / "runs"
    sampled = sgfkit.run(RECIPE, overrides=overrides, out_dir=out)
    photos = sgfkit.edit(paths, RECIPE, overrides=overrides, out_dir=out)
    a, b = success(sampled.edits), success(photos.edits)
    print(f"{len(seeds)} held-out faces, fit on {args.samples} samples, projection {args.steps} steps in w+")
    print(f"{'method/target':<28} {'sampled':>8} {'projected':>10} {'diff':>7}")
    for key in a:
        print(f"{key:<28} {a[key]:8.3f} {b[key]:10.3f} {b[key] - a[key]:+7.3f}")
    mean_a, mean_b = float(np.mean(list(a.values()))), float(np.mean(list(b.values())))
    print(f"{'mean':<28} {mean_a:8.3f} {mean_b:10.3f} {mean_b - mean_a:+7.3f}  "
          f"(target |diff| <= 0.05: {'met' if abs(mean_b - mean_a) <= 0.05 else 'MISSED'})")
    print(f"grids: {sampled.run_dir / 'edits.png'} and {photos.run_dir / 'edits.png'}")
    if args.json:
        Path(args.json).write_text(json.dumps({"sampled": a, "projected": b, "mean_sampled": mean_a,
                                               "mean_projected": mean_b}, indent=2))


if __name__ == "__main__":
    main()
