"""Dataset sampling on a local Ray cluster against this process, side by side, same shards.

    python benchmarks/bench_ray.py [--samples 4096] [--workers 2] [--encoder face-attributes]

Samples synth-faces and measures them with a condition encoder (default: the shipped SE-ResNet
``face-attributes``), once with ``executor: local`` (one process, one torch thread) and once with
``executor: ray`` (``--workers`` one-thread workers), and checks that both datasets are identical.
Ray's start-up (``ray.init``) is timed apart from the stage: on a 2-core machine the honest speed-up
is at most ~2x for the stage and less end to end.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def measure(samples: int = 2048, workers: int = 2, encoder: str = "face-attributes", shard_size: int = 256) -> dict:
    """Seconds for the sampling stage: one process, then Ray (cold and warm workers), and ray.init."""
    import numpy as np
    import ray
    import torch

    from sgfkit.executors import LocalExecutor, RayExecutor
    from sgfkit.pipeline import build_components
    from sgfkit.recipe import load_recipe
    from sgfkit.shards import make_payload, sharded_dataset

    torch.set_num_threads(1)
    recipe = load_recipe({"name": "bench-ray", "device": "cpu", "generator": {"type": "synth-faces", "space": "w"},
                          "encoder": {"type": encoder}, "dataset": {"samples": samples, "batch_size": 128}})
    comps = build_components(recipe, "cpu")

    def sample(executor) -> tuple[float, object]:
        start = time.perf_counter()
        dataset = sharded_dataset(executor, comps, samples, 128, 0,
                                  payload=lambda: make_payload(recipe, comps, fitted=False))
        return time.perf_counter() - start, dataset

    local_s, local = sample(LocalExecutor({"shard_size": shard_size}))
    start = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False,
             runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}})
    init_s = time.perf_counter() - start
    try:
        executor = RayExecutor({"type": "ray", "shard_size": shard_size})
        cold_s, remote = sample(executor)   # includes starting the workers and building their components
        warm_s, _ = sample(executor)        # warm workers
    finally:
        ray.shutdown()
    return {"samples": samples, "workers": workers, "encoder": encoder, "shard_size": shard_size,
            "cores": os.cpu_count(), "load_average": round(os.getloadavg()[0], 2),
            "identical": bool(np.array_equal(local.conditions.numpy(), remote.conditions.numpy())),
            "local_s": round(local_s, 2), "ray_cold_s": round(cold_s, 2), "ray_warm_s": round(warm_s, 2),
            "ray_init_s": round(init_s, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--encoder", default="face-attributes")
    parser.add_argument("--shard-size", type=int, default=256)
    args = parser.parse_args()
    r = measure(args.samples, args.workers, args.encoder, args.shard_size)
    print(f"sampling {r['samples']} synth-faces + {r['encoder']}, shards of {r['shard_size']}, "
          f"{r['cores']} cores, datasets identical: {r['identical']}")
    print(f"{'local (1 process)':<28} {r['local_s']:8.1f} s  1.00x")
    print(f"{'ray, cold workers':<28} {r['ray_cold_s']:8.1f} s  {r['local_s'] / r['ray_cold_s']:.2f}x")
    print(f"{'ray, warm workers':<28} {r['ray_warm_s']:8.1f} s  {r['local_s'] / r['ray_warm_s']:.2f}x")
    print(f"{'ray.init (once per run)':<28} {r['ray_init_s']:8.1f} s")
    print(f"end to end, cold: {r['local_s'] / (r['ray_init_s'] + r['ray_cold_s']):.2f}x")


if __name__ == "__main__":
    main()
