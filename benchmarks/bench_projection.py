"""Projection of held-out synth-faces photos (the proof of issue 11, item 5) and its speed.

Usage: .venv/bin/python benchmarks/bench_projection.py [--images 8] [--steps 300] [--threads 1]
       [--space w+] [--out DIR] [--json FILE]

Renders ``--images`` synth-faces at truncation 1.0 from seeds 7_000_000 + i (no fitting stage of any
recipe or shipped encoder draws those seeds), saves them as 8-bit PNG files, reads them back through
``sgfkit.load_images`` and projects them with the ``optimize`` projector on the embedded default
distance (pixel + shipped encoder features). Prints per image and on average: PSNR (dB, 64 px), the
truth attributes' mean absolute error between reconstruction and original, the landmark error
(mean Euclidean pixel distance) and seconds per image (wall and CPU). Targets: PSNR >= 28 dB,
attribute MAE <= 0.05, landmarks <= 1 px, <= 20 s per image on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import torch

SEED0 = 7_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--space", default="w+", choices=("w", "w+"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--init", default="nearest", choices=("w_avg", "nearest"))
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--w-first", type=float, default=0.3)
    parser.add_argument("--out", default=None, help="keep the PNG files here (default: a temporary folder)")
    parser.add_argument("--json", default=None, help="also write the numbers here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    import sgfkit
    from sgfkit.images import save_image

    gen = sgfkit.get_generator("synth-faces", space="w+", truncation=1.0)
    truth = sgfkit.get_condition_encoder("synth-faces-truth")
    seeds = [SEED0 + i for i in range(args.images)]
    original = gen.to_latents(gen.z_from_seeds(seeds))
    folder = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="sgfkit-proj-"))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed, img in zip(seeds, gen.synthesize(original)):
        paths.append(folder / f"face-{seed}.png")
        save_image(img, paths[-1])
    photos = sgfkit.load_images(paths, gen.resolution)

    projector = sgfkit.get_projector("optimize", space=args.space, steps=args.steps,
                                    batch_size=args.batch_size, init=args.init, lr=args.lr,
                                    w_first=args.w_first)
    projector.distance()  # load the feature CNN outside the timing
    wall0, cpu0 = time.perf_counter(), time.process_time()
    result = projector.project(photos, gen)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0

    c0, c1 = truth.measure(gen, original), truth.measure(gen, result.latents)
    na = len(truth.attribute_names)
    attr_mae = (c1[:, :na] - c0[:, :na]).abs().mean(dim=1)
    marks = (c1[:, na:] - c0[:, na:]).reshape(len(seeds), -1, 2).norm(dim=2).mean(dim=1)
    psnr = torch.tensor(result.scores["psnr"])
    per_attr = (c1[:, :na] - c0[:, :na]).abs().mean(dim=0)
    print("attribute MAE per attribute: " + ", ".join(f"{n} {v:.3f}" for n, v in zip(truth.attribute_names, per_attr)))
    print(f"optimize projector, {args.space}, {args.steps} steps, distance {result.info['distance']}, "
          f"init {args.init}, lr {args.lr}, w_first {args.w_first}, {len(seeds)} images of {gen.resolution} px, {args.threads} thread(s), load {os.getloadavg()[0]:.1f}")
    print(f"{'seed':>9} {'PSNR dB':>8} {'attr MAE':>9} {'landmarks px':>13}")
    for i, seed in enumerate(seeds):
        print(f"{seed:>9} {psnr[i]:8.2f} {attr_mae[i]:9.4f} {marks[i]:13.3f}")
    summary = {"images": len(seeds), "steps": args.steps, "space": args.space, "threads": args.threads,
               "psnr_mean": float(psnr.mean()), "psnr_min": float(psnr.min()),
               "attribute_mae": float(attr_mae.mean()), "landmarks_px": float(marks.mean()),
               "seconds_per_image_wall": wall / len(seeds), "seconds_per_image_cpu": cpu / len(seeds),
               "final_loss": result.losses[-1]}
    print(f"{'mean':>9} {summary['psnr_mean']:8.2f} {summary['attribute_mae']:9.4f} {summary['landmarks_px']:13.3f}")
    print(f"time per image: {summary['seconds_per_image_wall']:.2f} s wall, "
          f"{summary['seconds_per_image_cpu']:.2f} s CPU (batched, batch {args.batch_size})")
    verdict = {"psnr >= 28 dB": summary["psnr_mean"] >= 28, "attribute MAE <= 0.05": summary["attribute_mae"] <= 0.05,
               "landmarks <= 1 px": summary["landmarks_px"] <= 1.0,
               "<= 20 s per image": summary["seconds_per_image_wall"] <= 20}
    print("targets: " + ", ".join(f"{k}: {'met' if v else 'MISSED'}" for k, v in verdict.items()))
    if args.json:
        Path(args.json).write_text(json.dumps({**summary, "targets": verdict}, indent=2))


if __name__ == "__main__":
    main()
