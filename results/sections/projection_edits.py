"""Edit success on projected photos vs the sampled latents they came from (benchmarks/bench_projection_edits.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from _bench import load_benchmark

TITLE = "Edit success on projected held-out synth-faces photos vs their sampled latents"
COMMAND = "make results SECTIONS=projection_edits"
TOLERANCE = 0.05   # goal (issue 11): |success on projections - success on samples| per method
LABELS = {"interfacegan": "InterFaceGAN", "sgf": "SGF", "ganspace": "GANSpace"}


def run(work_dir: Path) -> dict[str, Any]:
    bench = load_benchmark("bench_projection_edits")
    data = bench.measure(images=16, samples=5000, steps=1000, cache=work_dir / "cache", work_dir=work_dir)
    data.pop("grids")   # temporary paths
    return data


def render(data: dict[str, Any]) -> str:
    one_face = 1 / data["images"]
    diffs = ", ".join(f"{m['diff']:+.3f} ({LABELS.get(name, name)})" for name, m in data["per_method"].items())
    worst = max(m["max_abs_target_diff"] for m in data["per_method"].values())
    within = (f"each target within one face of {data['images']}" if worst <= one_face + 1e-9 else
              f"the largest difference for one target is {worst:.3f}, "
              f"{worst * data['images']:.0f} faces of {data['images']}")
    close = all(abs(m["diff"]) <= TOLERANCE for m in data["per_method"].values())
    verdict = "about as often as" if close else f"not within {TOLERANCE} as often as"
    return (f"Edits on the projected photos succeed {verdict} on the sampled latents they came from "
            f"(`bench_projection_edits.py`, {data['images']} faces, fit on {data['samples']} samples, projection "
            f"{data['steps']} steps in w+): the share of edits reaching the target side differs by {diffs} "
            f"(mean over the targets; {within}). Load average {data['load_average']} on {data['cores']} cores.\n")
