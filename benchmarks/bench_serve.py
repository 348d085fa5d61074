"""Load test of ``sgfkit serve`` on loopback: N concurrent clients for a fixed time, next to 1 client.

    python benchmarks/bench_serve.py                       # makes a small synth-faces run first (~30 s)
    python benchmarks/bench_serve.py --run runs/00003-faces-attributes --clients 8 --seconds 20

Each client keeps one HTTP/1.1 connection to 127.0.0.1 and sends edit requests (random seed from a
pool, random method, random slider value), plus one deliberately bad request in ten (which must
come back as a 400 JSON error). A request fails when it gets any other status, a non-JSON body, or
no answer. Prints requests/s and p50 / p95 / max latency for 1 client and for N side by side, the
server's resident memory at the start and end of the loaded phase, and exits 1 if any request failed.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SGF_MAX_STEPS = 30   # adaptive SGF stops earlier when the target is reached
SMALL_FACES = ["--set", "dataset.samples=2000", "--set", "device=cpu", "--set",
               f"manipulators=[{{type: sgf, label: SGF, train_steps: 300, lr: 0.001, max_steps: {SGF_MAX_STEPS}}},"
               " {type: interfacegan, label: InterFaceGAN}]"]


def make_run(folder: Path, evaluation: bool = False) -> Path:
    """A small synth-faces run (face-attributes encoder, SGF + InterFaceGAN) in ``folder``.

    Without ``evaluation`` it skips the MDC sweep and metrics (only the fits matter to the server).
    """
    recipe = Path(__file__).resolve().parent.parent / "recipes" / "faces_attributes.yaml"
    extra = ["--set", "evaluation.samples=20"] if evaluation else \
        ["--set", "evaluation=null", "--set", "metrics=[]", "--set", "edits.seeds=[0]"]
    subprocess.run([sys.executable, "-m", "sgfkit", "run", str(recipe), "--no-progress", *SMALL_FACES, *extra],
                   cwd=folder, check=True, stdout=subprocess.DEVNULL)
    return next((folder / "runs").iterdir())


def start_server(run_dir: Path, cwd: Path) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-m", "sgfkit", "serve", str(run_dir), "--port", "0"], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    first = lines.get(timeout=300)
    if " at http://127.0.0.1:" not in first:
        proc.kill()
        raise SystemExit(f"sgfkit serve did not start: {first}")
    return proc, int(first.split("http://127.0.0.1:", 1)[1].split("/")[0])


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def call(conn: http.client.HTTPConnection, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
    resp = conn.getresponse()
    return resp.status, json.loads(resp.read())


def client(port: int, info: dict, seeds: list[int], until: float, seed: int, out: list, failures: list) -> None:
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)  # loopback only
    sliders = [s["name"] for s in info["sliders"]]
    while time.perf_counter() < until:
        bad = rng.random() < 0.1
        target = {rng.choice(sliders): round(rng.uniform(0, 1), 2)} if sliders else {"caption": "a flower"}
        body = {"seed": rng.choice(seeds), "method": rng.choice(info["methods"]), "target": target}
        if bad:
            body["seed"] = -1
        start = time.perf_counter()
        try:
            status, reply = call(conn, "POST", "/api/edit", body)
        except (OSError, http.client.HTTPException, json.JSONDecodeError) as err:
            failures.append(f"{type(err).__name__}: {err}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            continue
        elapsed = time.perf_counter() - start
        if (bad and (status != 400 or "seed must be" not in reply.get("error", ""))) or (not bad and status != 200):
            failures.append(f"status {status}: {reply}")
        elif not bad:
            out.append((body["method"], elapsed))
    conn.close()


def load(port: int, info: dict, seeds: list[int], clients: int, seconds: float,
         pid: int | None = None) -> tuple[list[tuple[str, float]], list[str], list[float]]:
    """Run ``clients`` clients for ``seconds``; returns (method, latency) pairs, failures, RSS samples (MiB)."""
    latencies: list[tuple[str, float]] = []
    failures: list[str] = []
    until = time.perf_counter() + seconds
    threads = [threading.Thread(target=client, args=(port, info, seeds, until, i, latencies, failures))
               for i in range(clients)]
    for t in threads:
        t.start()
    memory = []
    while pid is not None and any(t.is_alive() for t in threads):
        memory.append(rss_mib(pid))
        time.sleep(seconds / 8)
    for t in threads:
        t.join()
    return latencies, failures, memory


def stats(pairs: list[tuple[str, float]], seconds: float) -> dict[str, float | int]:
    """Edits, edits/s and p50 / p95 / max latency (ms) of (method, latency) pairs over ``seconds``."""
    ordered = sorted(lat for _, lat in pairs)
    if not ordered:
        return {"edits": 0, "per_s": 0.0}
    pick = lambda q: round(1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)  # noqa: E731
    return {"edits": len(ordered), "per_s": round(len(ordered) / seconds, 2), "p50_ms": pick(0.5),
            "p95_ms": pick(0.95), "max_ms": round(1000 * ordered[-1], 1)}


def summary(s: dict[str, float | int]) -> str:
    if not s["edits"]:
        return "no successful requests"
    return (f"{s['per_s']:7.1f} req/s  p50 {s['p50_ms']:7.1f} ms  p95 {s['p95_ms']:7.1f} ms  "
            f"max {s['max_ms']:7.1f} ms  ({s['edits']} edits)")


def measure(run: Path | None = None, cwd: Path | None = None, clients: int = 8, seconds: float = 20.0,
            seeds: int = 16) -> dict:
    """Load-test ``sgfkit serve`` on ``run`` (default: a small synth-faces run made in a temporary folder):
    1 client for ``seconds / 2``, then ``clients`` clients for ``seconds``; statistics overall and per method,
    failed requests, the server's memory (MiB) through the loaded phase and the load average."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory() as tmp:
        cwd = cwd or (Path.cwd() if run else Path(tmp))
        run_dir = run.resolve() if run else make_run(cwd)
        proc, port = start_server(run_dir, cwd)
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            info = call(conn, "GET", "/api/info")[1]
            pool = list(range(seeds))
            for s in pool:  # warm the per-seed sources so both phases measure edits
                call(conn, "GET", f"/api/sample?seed={s}")
            conn.close()
            _, warm_fail, _ = load(port, info, pool, clients, min(5.0, seconds / 4))  # not measured
            one, one_fail, _ = load(port, info, pool, 1, seconds / 2)
            many, many_fail, memory = load(port, info, pool, clients, seconds, proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    failures = warm_fail + one_fail + many_fail
    return {"run": run_dir.name, "generator": info["generator"], "encoder": info["encoder"],
            "methods": info["methods"], "sgf_max_steps": SGF_MAX_STEPS if run is None else None,
            "clients": clients, "seconds": seconds, "cores": os.cpu_count(),
            "load_average": round(os.getloadavg()[0], 2),
            "one": stats(one, seconds / 2), "many": stats(many, seconds),
            "per_method": {m: {"one": stats([p for p in one if p[0] == m], seconds / 2),
                               "many": stats([p for p in many if p[0] == m], seconds)} for m in info["methods"]},
            "memory_mib": [round(m, 1) for m in memory], "failures": len(failures), "first_failure": failures[:1],
            "bad_request_share": 0.1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=None, help="run folder to serve (default: make a small one)")
    parser.add_argument("--cwd", type=Path, default=None, help="folder the run was made in (finds its cache)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--seeds", type=int, default=16, help="size of the seed pool")
    args = parser.parse_args()
    r = measure(args.run, args.cwd, args.clients, args.seconds, args.seeds)
    print(f"sgfkit serve {r['run']} ({r['generator']} + {r['encoder']}, methods {', '.join(r['methods'])}),"
          f" loopback, {r['cores']} CPUs, load average {r['load_average']}")
    print(f"  1 client  for {args.seconds / 2:.0f} s: {summary(r['one'])}")
    print(f"{args.clients:3d} clients for {args.seconds:.0f} s: {summary(r['many'])}")
    if r["one"]["edits"] and r["many"]["edits"]:
        print(f"  throughput {args.clients} clients / 1 client: {r['many']['per_s'] / r['one']['per_s']:.2f}x"
              " (model calls are serialised; image encoding and I/O overlap them)")
    for method, m in r["per_method"].items():
        print(f"  {method:>14},  1 client(s): {summary(m['one'])}")
        print(f"  {method:>14}, {args.clients:2d} client(s): {summary(m['many'])}")
    memory = r["memory_mib"]
    print(f"  server memory through the {args.clients}-client phase (MiB): "
          + " ".join(f"{m:.0f}" for m in memory) + f"  (last - first: {memory[-1] - memory[0]:+.1f})")
    print(f"  failed requests: {r['failures']}" + (f" (first: {r['first_failure'][0]})" if r["failures"] else ""))
    sys.exit(1 if r["failures"] else 0)


if __name__ == "__main__":
    main()
