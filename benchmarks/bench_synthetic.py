"""Rendering speed of the synthetic worlds: images per second at 64 px and 256 px.

Usage: .venv/bin/python benchmarks/bench_synthetic.py [--threads 1] [--seconds 3]

Prints, per world and resolution, the wall-clock rate with ``--threads`` torch threads and the
rate per CPU-second of this process (robust when other jobs share the cores), with the load
average so the numbers can be judged. Target (issue 3): >= 1000 images/s at 64 px on 2 cores.
Also times the truth encoders (scene only, no pixels) and a gradient step through the renderer.

One thread is the default: the renderer is a chain of small elementwise ops, and on a machine whose
cores are busy with other jobs two torch threads spend their time waiting for each other (measured
10-40x slower than one thread at load average ~7 on 2 cores). With the cores free, run two
processes (or ``--threads 2``) for two cores' worth.
"""
from __future__ import annotations

import argparse
import os
import time

import torch

from sgfkit.latents import Latents
from sgfkit_synthetic import SynthFaces, SynthFacesTruth, SynthFlowers, SynthFlowersTruth


def rate(fn, images_per_call: int, seconds: float) -> tuple[float, float]:
    """(images per wall second, images per CPU second of this process)."""
    fn()  # warm-up
    wall0, cpu0, done = time.perf_counter(), time.process_time(), 0
    while time.perf_counter() - wall0 < seconds:
        fn()
        done += images_per_call
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return done / wall, done / max(cpu, 1e-9)


def measure(threads: int = 1, seconds: float = 3.0, resolution: int = 64, batch: int = 256) -> dict:
    """Rendering rate of each world at ``resolution``: images per wall second and per CPU second of this process."""
    torch.set_num_threads(threads)
    load_before = os.getloadavg()[0]
    out: dict = {"threads": threads, "resolution": resolution, "batch": batch, "cores": os.cpu_count(),
                 "load_average_before": round(load_before, 2)}
    for key, world in (("faces", SynthFaces), ("flowers", SynthFlowers)):
        g = world(resolution=resolution)
        lat = g.sample_latents(batch, seed=0)
        wall, cpu = rate(lambda: g.synthesize(lat, batch_size=batch), batch, seconds)
        out[key] = {"per_s": round(wall, 1), "per_cpu_s": round(cpu, 1)}
    out["load_average_after"] = round(os.getloadavg()[0], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, load average before: {os.getloadavg()[0]:.2f}")
    print(f"{'world':14} {'px':>4} {'batch':>5} {'img/s (wall)':>13} {'img/CPU-s':>10}")
    for world, truth_cls in ((SynthFaces, SynthFacesTruth), (SynthFlowers, SynthFlowersTruth)):
        for resolution, batch in ((64, 256), (256, 32)):
            g = world(resolution=resolution)
            lat = g.sample_latents(batch, seed=0)
            wall, cpu = rate(lambda: g.synthesize(lat, batch_size=batch), batch, args.seconds)
            print(f"{world.__name__:14} {resolution:>4} {batch:>5} {wall:>13.0f} {cpu:>10.0f}")
        g = world(resolution=64)
        lat = g.sample_latents(1024, seed=0)
        truth = truth_cls()
        wall, cpu = rate(lambda: truth.measure(g, lat), 1024, args.seconds)
        print(f"{truth_cls.__name__:14} {'-':>4} {1024:>5} {wall:>13.0f} {cpu:>10.0f}   (truth from latents)")
        lat = Latents(g.sample_latents(64, seed=1).tensor.requires_grad_(True), "w")

        def grad_step() -> None:
            img = g.synthesize(lat, batch_size=64, grad=True)
            img.square().mean().backward()

        wall, cpu = rate(grad_step, 64, args.seconds)
        print(f"{world.__name__:14} {64:>4} {64:>5} {wall:>13.0f} {cpu:>10.0f}   (forward + backward)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
