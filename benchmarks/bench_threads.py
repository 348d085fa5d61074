"""torch threads for SGF's F fit: the default sgfkit picks (sgfkit.threads) against 1 and 2 threads,
side by side, on the machine as found and with two extra busy processes of our own ("loaded").

Each configuration runs in a fresh subprocess (torch's thread pool is set once there) that fits F on a
small synth-faces data set for a fixed number of steps and prints steps/s. The auto default is
decided inside the subprocess, as ``sgfkit run`` does, from the cores and load average at that moment.

Usage: .venv/bin/python benchmarks/bench_threads.py [--steps 20] [--repeats 1]
A machine shared with other work is never idle: the table prints the load average next to each row.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time

WORKER = r"""
import json, sys, time, torch
from sgfkit.threads import choose_threads
requested = None if sys.argv[1] == "auto" else int(sys.argv[1])
choice = choose_threads(requested, "bench")
torch.set_num_threads(choice["threads"])
from sgfkit.dataset import LatentDataset
from sgfkit_manipulators.sgf import SGF
from sgfkit_synthetic import SynthFaces, SynthFacesTruth
g = SynthFaces(space="w", truncation=0.8)
enc = SynthFacesTruth()
lat = g.sample_latents(500, seed=0)
ds = LatentDataset(g.sample_z(500, 0), lat.tensor, enc.measure(g, lat), enc.names, "w")
steps = int(sys.argv[2])
sgf = SGF(train_steps=steps, lr=1e-3)
start = time.perf_counter()
sgf.fit(ds, g, enc)
print(json.dumps({"threads": choice["threads"], "reason": choice["reason"],
                  "steps_per_s": steps / (time.perf_counter() - start)}))
"""


def _spin(stop_at: float) -> None:
    while time.time() < stop_at:
        pass


def run_config(threads: str, steps: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": ""}  # let torch's own default apply unless set in the worker
    env.pop("OMP_NUM_THREADS")
    load = os.getloadavg()[0]
    out = subprocess.run([sys.executable, "-c", WORKER, threads, str(steps)], env=env, capture_output=True,
                         text=True, timeout=900, check=True)
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "load_before": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20, help="F training steps per configuration")
    parser.add_argument("--repeats", type=int, default=1, help="rounds (configurations interleaved)")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; load average at start {os.getloadavg()[0]:.2f}; "
          f"F fit of {args.steps} steps on 500 synth-faces samples (W, 128-d)")
    print("\n| condition | threads requested | threads used | load before | F steps/s |", flush=True)
    print("|---|---|---|---|---|", flush=True)
    rows = []
    for condition in ("as found", "loaded (+2 busy processes)"):
        spinners = []
        if condition.startswith("loaded"):
            stop_at = time.time() + 3600
            spinners = [mp.Process(target=_spin, args=(stop_at,), daemon=True) for _ in range(2)]
            for p in spinners:
                p.start()
            time.sleep(5)  # let the load average notice them
        try:
            for _ in range(args.repeats):
                for threads in ("auto", "1", "2"):
                    r = {"condition": condition, "requested": threads, **run_config(threads, args.steps)}
                    rows.append(r)
                    print(f"| {condition} | {r['requested']} | {r['threads']} ({r['reason']}) | "
                          f"{r['load_before']:.2f} | {r['steps_per_s']:.2f} |", flush=True)
        finally:
            for p in spinners:
                p.terminate()
                p.join()
    print("\nratios to 2 threads (mean over repeats):")
    for condition in dict.fromkeys(r["condition"] for r in rows):
        here = [r for r in rows if r["condition"] == condition]
        mean = {t: sum(r["steps_per_s"] for r in here if r["requested"] == t) / args.repeats for t in ("auto", "1", "2")}
        print(f"  {condition}: auto {mean['auto'] / mean['2']:.2f}x, 1 thread {mean['1'] / mean['2']:.2f}x")

if __name__ == "__main__":
    main()
