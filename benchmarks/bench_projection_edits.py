"""Do edits succeed as often on projected photos as on the sampled latents they came from? (issue 11, item 5)

Usage: .venv/bin/python benchmarks/bench_projection_edits.py [--images 16] [--samples 5000] [--steps 1000]
       [--methods interfacegan,sgf,ganspace] [--json FILE]

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


def measure(images: int = 16, samples: int = 5000, steps: int = 1000,
            methods: tuple[str, ...] = ("interfacegan", "sgf", "ganspace"), cache: str | Path = ".sgfkit-cache",
            work_dir: Path | None = None) -> dict:
    """Edit success (share of edits whose target attribute ends on the target side) on sampled latents and on
    their projections, per ``method/target`` and per method, and the differences (projected - sampled)."""
    import os

    import sgfkit
    from sgfkit.images import save_image

    torch.set_num_threads(1)
    seeds = [SEED0 + i for i in range(images)]
    manips = "[" + ", ".join(METHODS[m] for m in methods) + "]"
    overrides = ["generator.space=w+", "generator.truncation=1.0", f"dataset.samples={samples}",
                 f"manipulators={manips}", "evaluation=null", "metrics=[]", f"edits.seeds={seeds}",
                 f"output.cache_dir={cache}", f"projector.steps={steps}", "projector.space=w+"]
    gen = sgfkit.get_generator("synth-faces", space="w+", truncation=1.0)
    folder = Path(work_dir) if work_dir is not None else Path(tempfile.mkdtemp(prefix="sgfkit-edits-"))
    paths = []
    for seed, img in zip(seeds, gen.synthesize(gen.to_latents(gen.z_from_seeds(seeds)))):
        paths.append(folder / f"face-{seed}.png")
        save_image(img, paths[-1])
    out = folder / "runs"
    sampled = sgfkit.run(RECIPE, overrides=overrides, out_dir=out)
    photos = sgfkit.edit(paths, RECIPE, overrides=overrides, out_dir=out)
    a, b = success(sampled.edits), success(photos.edits)
    per_method = {}
    for key in a:
        method = key.split("/", 1)[0]
        per_method.setdefault(method, {"sampled": [], "projected": []})
        per_method[method]["sampled"].append(a[key])
        per_method[method]["projected"].append(b[key])
    methods_out = {m: {"sampled": float(np.mean(v["sampled"])), "projected": float(np.mean(v["projected"])),
                       "diff": float(np.mean(v["projected"]) - np.mean(v["sampled"])),
                       "max_abs_target_diff": float(np.max(np.abs(np.subtract(v["projected"], v["sampled"]))))}
                   for m, v in per_method.items()}
    mean_a, mean_b = float(np.mean(list(a.values()))), float(np.mean(list(b.values())))
    return {"images": images, "samples": samples, "steps": steps, "methods": list(methods),
            "sampled": a, "projected": b, "per_method": methods_out, "mean_sampled": mean_a,
            "mean_projected": mean_b, "cores": os.cpu_count(), "load_average": round(os.getloadavg()[0], 2),
            "grids": [str(sampled.run_dir / "edits.png"), str(photos.run_dir / "edits.png")]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--methods", default="interfacegan,sgf,ganspace")
    parser.add_argument("--cache", default=".sgfkit-cache")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    r = measure(args.images, args.samples, args.steps, tuple(args.methods.split(",")), args.cache)
    a, b = r["sampled"], r["projected"]
    print(f"{r['images']} held-out faces, fit on {r['samples']} samples, projection {r['steps']} steps in w+")
    print(f"{'method/target':<28} {'sampled':>8} {'projected':>10} {'diff':>7}")
    for key in a:
        print(f"{key:<28} {a[key]:8.3f} {b[key]:10.3f} {b[key] - a[key]:+7.3f}")
    for method, m in r["per_method"].items():
        print(f"{method:<28} {m['sampled']:8.3f} {m['projected']:10.3f} {m['diff']:+7.3f}")
    mean_a, mean_b = r["mean_sampled"], r["mean_projected"]
    print(f"{'mean':<28} {mean_a:8.3f} {mean_b:10.3f} {mean_b - mean_a:+7.3f}  "
          f"(target |diff| <= 0.05: {'met' if abs(mean_b - mean_a) <= 0.05 else 'MISSED'})")
    print(f"grids: {r['grids'][0]} and {r['grids'][1]}")
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2))


if __name__ == "__main__":
    main()
