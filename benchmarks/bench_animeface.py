"""Detection rate of the real animeface-2009 detector on synth-faces renders (issue 3).

Renders N faces per resolution (truncation 0.8, w space), runs ``animeface.detect`` on each image
at its native size (no upscaling), and prints the share with a face found, the mean landmark
error of the detections against the truth (eyes, nose, chin, mouth corners; px and % of the
image size), and the time per image.

    .venv/bin/python benchmarks/bench_animeface.py [--samples 200] [--resolutions 128 256]
"""
from __future__ import annotations

import argparse
import time

import torch


def measure(samples: int = 200, resolutions: tuple[int, ...] = (128, 256), seed: int = 2024,
            truncation: float = 0.8) -> dict:
    """Per resolution: faces found by animeface-2009 (of ``samples`` renders), the detection rate, the mean
    landmark error of the detections against the truth (px) and the time per image (ms)."""
    import os

    from sgfkit_anime.animeface_encoder import ANIMEFACE_POINTS, AnimeFaceEncoder, face_points, to_pil
    from sgfkit_anime.keypoints_training import synth_faces_world

    encoder = AnimeFaceEncoder(upscale_to=0)
    import animeface
    import PIL

    out: dict = {"samples": samples, "seed": seed, "truncation": truncation, "cores": os.cpu_count(),
                 "animeface": getattr(animeface, "__version__", "2.x"), "pillow": PIL.__version__, "resolutions": {}}
    for res in resolutions:
        generator, truth = synth_faces_world(res)
        generator.params["truncation"] = truncation
        latents = generator.sample_latents(samples, seed=seed)
        images = generator.synthesize(latents, batch_size=50)
        c = truth.measure(generator, latents)
        col = {n: i for i, n in enumerate(truth.names)}
        found, errors = 0, []
        started = time.perf_counter()
        for i in range(samples):
            faces = sorted(encoder.animeface.detect(to_pil(images[i])), key=lambda f: -f.likelihood)
            if not faces:
                continue
            found += 1
            pts = face_points(faces[0])
            for p in ANIMEFACE_POINTS:
                if p in ("mouth_top", "mouth_bottom"):
                    continue  # box edges, not the truth's lip points
                dx = pts[p][0] - float(c[i, col[f"{p}_x"]])
                dy = pts[p][1] - float(c[i, col[f"{p}_y"]])
                errors.append((dx * dx + dy * dy) ** 0.5)
        out["resolutions"][str(res)] = {
            "found": found, "rate": found / samples,
            "error_px": sum(errors) / len(errors) if errors else None,
            "ms_per_image": round((time.perf_counter() - started) * 1000 / samples, 1)}
    out["load_average"] = round(os.getloadavg()[0], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--resolutions", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--truncation", type=float, default=0.8)
    args = parser.parse_args()
    torch.set_num_threads(2)
    r = measure(args.samples, tuple(args.resolutions), args.seed, args.truncation)
    print(f"animeface {r['animeface']}, Pillow {r['pillow']}, "
          f"{args.samples} synth-faces renders per resolution, truncation {args.truncation}, seed {args.seed}")
    print(f"{'res':>5} {'detected':>9} {'rate':>6} {'err px':>7} {'err %':>6} {'ms/img':>7}")
    for res, m in r["resolutions"].items():
        err = m["error_px"] if m["error_px"] is not None else float("nan")
        print(f"{res:>5} {m['found']:>5}/{args.samples:<3} {m['rate']:>6.1%} {err:>7.2f} "
              f"{100 * err / int(res):>5.1f}% {m['ms_per_image']:>7.1f}")


if __name__ == "__main__":
    main()
