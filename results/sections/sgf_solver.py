"""The SGF step's solvers side by side: batched forward-mode JVP vs a per-sample loop vs a dense solve
(benchmarks/bench_sgf.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from _bench import load_benchmark

TITLE = "SGF step: batched JVP Neumann step vs per-sample JVP loop vs dense Jacobian + solve"
COMMAND = "make results SECTIONS=sgf_solver"
MAPPINGS = ("contractive", "paper")   # the default F first


def run(work_dir: Path) -> dict[str, Any]:
    import torch

    bench = load_benchmark("bench_sgf")
    torch.set_num_threads(1)
    # the dense solve is timed once: it takes 10-25 s per call on one thread and varies far less than that
    return {m: bench.measure_step(torch.device("cpu"), repeats=5, dense_repeats=1, mapping=m) for m in MAPPINGS}


def render(data: dict[str, Any]) -> str:
    bench = load_benchmark("bench_sgf")
    first = data[MAPPINGS[0]]
    text = (f"`benchmarks/bench_sgf.py`: one Euler step of SGF (Neumann order {first['order']}) for the same "
            f"untrained F and inputs, {first['device'].upper()}, {first['threads']} thread, {first['cores']} shared "
            f"cores (load average {first['load_average']} at the end); median seconds per step.\n")
    for mapping in MAPPINGS:
        text += "\n" + bench.step_table(data[mapping])
    return text
