"""Time the README's main job, cold (empty cache) and warm (cached dataset and fitted F), side by side.

    python benchmarks/bench_main_job.py [--recipe recipes/flowers_caption.yaml]

Targets (issue 5, 2 CPU cores): cold <= 300 s, warm <= 30 s. Prints wall time per run and the
stage timings each run recorded in its metrics.json.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_once(recipe: str, out: Path, cache: Path) -> tuple[float, dict[str, float]]:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sgfkit", "run", recipe, "--out", str(out), "--no-progress",
                    "--set", f"output.cache_dir={cache}"], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    run_dir = sorted(out.iterdir())[-1]
    return wall, json.loads((run_dir / "metrics.json").read_text())["timings_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="recipes/flowers_caption.yaml")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out, cache = Path(tmp) / "runs", Path(tmp) / "cache"
        cold, cold_stages = run_once(args.recipe, out, cache)
        warm, warm_stages = run_once(args.recipe, out, cache)
    print(f"{args.recipe}: cold {cold:.1f} s (target <= 300), warm {warm:.1f} s (target <= 30), "
          f"warm/cold {warm / cold:.2f}")
    print(f"{'stage':<12} {'cold s':>8} {'warm s':>8}")
    for stage in cold_stages:
        print(f"{stage:<12} {cold_stages[stage]:>8.2f} {warm_stages.get(stage, float('nan')):>8.2f}")


if __name__ == "__main__":
    main()
