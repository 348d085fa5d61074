"""Load test of ``sgfkit serve`` on loopback: one client, then 8 concurrent clients (benchmarks/bench_serve.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from _bench import load_benchmark

TITLE = "sgfkit serve under load: 1 client vs 8 concurrent clients, small synth-faces run"
COMMAND = "make results SECTIONS=serve_load"
LABELS = {"InterFaceGAN": "InterFaceGAN edits", "SGF": "SGF edits"}


def run(work_dir: Path) -> dict[str, Any]:
    return load_benchmark("bench_serve").measure(cwd=work_dir, clients=8, seconds=20.0)


def _latency(s: dict[str, Any]) -> str:
    return f"p50 {s['p50_ms']:.0f} ms / p95 {s['p95_ms']:.0f} ms" if s["edits"] else "no edits"


def render(data: dict[str, Any]) -> str:
    one, many, memory = data["one"], data["many"], data["memory_mib"]
    per_method = []
    for method, s in data["per_method"].items():
        label = LABELS.get(method, f"{method} edits")
        if method == "SGF" and data.get("sgf_max_steps"):
            label += f" (adaptive, up to {data['sgf_max_steps']} steps)"
        per_method.append(f"{label} at {_latency(s['one'])} ({s['one']['edits']} edits)")
    ratio = f" ({many['per_s'] / one['per_s']:.1f}x one client; model calls are serialised)" if one["edits"] else ""
    return (f"Load test (`python benchmarks/bench_serve.py`, loopback, {data['generator']} + {data['encoder']}, "
            f"{data['cores']} cores shared, load average {data['load_average']} at the end): one client gets "
            + " and ".join(per_method)
            + f"; {data['clients']} concurrent clients for {data['seconds']:.0f} s get {many['per_s']:.1f} edits/s"
            f"{ratio}, {_latency(many)} ({many['edits']} edits), {data['failures']} failed requests (one in "
            f"{round(1 / data['bad_request_share'])} was a deliberate bad request answered with its 400), server "
            f"memory {memory[0]:.0f} -> {memory[-1]:.0f} MiB over the phase.\n")
