"""Dataset sampling on a 2-worker local Ray cluster against one process (benchmarks/bench_ray.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from _bench import load_benchmark

TITLE = "Sampling stage: one process vs a 2-worker local Ray cluster, same shards"
COMMAND = "make results SECTIONS=ray_sampling"


def run(work_dir: Path) -> dict[str, Any]:
    bench = load_benchmark("bench_ray")
    return bench.measure(samples=2048, workers=2)


def render(data: dict[str, Any]) -> str:
    local = data["local_s"]
    return (f"{data['samples']} synth-faces measured by the shipped SE-ResNet (`{data['encoder']}`), shards of "
            f"{data['shard_size']}, {data['cores']} cores (load average {data['load_average']} at the end), "
            f"datasets identical: {'yes' if data['identical'] else 'NO'}.\n\n"
            "| executor | seconds | speed-up |\n|---|---|---|\n"
            f"| local, 1 process | {local:.1f} | 1.00x |\n"
            f"| Ray, {data['workers']} workers, cold (workers start, build components) | {data['ray_cold_s']:.1f} | "
            f"{local / data['ray_cold_s']:.2f}x |\n"
            f"| Ray, {data['workers']} workers, warm | {data['ray_warm_s']:.1f} | {local / data['ray_warm_s']:.2f}x |\n"
            f"| `ray.init` (once per run) | {data['ray_init_s']:.1f} | |\n")
