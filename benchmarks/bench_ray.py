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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--encoder", default="face-attributes")
    parser.add_argument("--shard-size", type=int, default=256)
    args = parser.parse_args()

    import numpy as np
    import ray
    import torch

    from sgfkit.executors import LocalExecutor, RayExecutor
    from sgfkit.pipeline import build_components
    from sgfkit.recipe import load_recipe
    from sgfkit.shards import make_payload, sharded_dataset

    torch.set_num_threads(1)
    recipe = load_recipe({"name": "bench-ray", "device": "cpu", "generator": {"type": "synth-faces", "space": "w"},
                          "encoder": {"type": args.encoder}, "dataset": {"samples": args.samples, "batch_size": 128}})
    comps = build_components(recipe, "cpu")

    def sample(executor) -> tuple[float, object]:
        start = time.perf_counter()
        dataset = sharded_dataset(executor, comps, args.samples, 128, 0,
                                  payload=lambda: make_payload(recipe, comps, fitted=False))
        return time.perf_counter() - start, dataset

    local_s, local = sample(LocalExecutor({"shard_size": args.shard_size}))
    start = time.perf_counter()
    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False, configure_logging=False,
             runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}})
    init_s = time.perf_counter() - start
    executor = RayExecutor({"type": "ray", "shard_size": args.shard_size})
    first_s, remote = sample(executor)   # includes starting the workers and building their components
    second_s, _ = sample(executor)       # warm workers
    ray.shutdown()
    same = np.array_equal(local.conditions.numpy(), remote.conditions.numpy())
    print(f"sampling {args.samples} synth-faces + {args.encoder}, shards of {args.shard_size}, "
          f"{os.cpu_count()} cores, datasets identical: {same}")
    print(f"{'local (1 process)':<28} {local_s:8.1f} s  1.00x")
    print(f"{'ray, cold workers':<28} {first_s:8.1f} s  {local_s / first_s:.2f}x")
    print(f"{'ray, warm workers':<28} {second_s:8.1f} s  {local_s / second_s:.2f}x")
    print(f"{'ray.init (once per run)':<28} {init_s:8.1f} s")
    print(f"end to end, cold: {local_s / (init_s + first_s):.2f}x")


if __name__ == "__main__":
    main()
