"""SGF speed, measured side by side in one run (ratios, not absolute targets).

1. One SGF step (order m = 1) for a batch of 64 latents in W (512-d, F with L = 15):
   batched forward-mode JVP  vs  a per-sample loop of the same JVPs  vs  dense Jacobian + solve.
   Targets: >= 10x over the per-sample loop, >= 20x over the dense Jacobian.
2. Paper F (AdaIN blocks) vs contractive F: training steps per second and one SGF step, same sizes.
3. Edits per second of SGF (Algorithm 1) and its fast version on synth-faces, batch sizes 1..256
   (truth encoder as C, so the numbers show the manipulator's own cost plus the world's measuring).

Usage: .venv/bin/python benchmarks/bench_sgf.py [--threads 2] [--device cpu|cuda] [--quick]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import torch

from sgfkit.components import EditRequest
from sgfkit.dataset import LatentDataset
from sgfkit_manipulators.aux_mapping import AuxMapping
from sgfkit_manipulators.contractive_mapping import ContractiveMapping
from sgfkit_manipulators.sgf import SGF
from sgfkit_manipulators.sgf_solver import exact_direction, neumann_direction, per_sample_direction


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device: torch.device, repeats: int, warmup: bool = True) -> float:
    """Median seconds of ``repeats`` calls after one warm-up call (``warmup=False``: none, for slow calls whose
    first run has nothing to warm up that matters next to their length)."""
    if warmup:
        fn()
        sync(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


#: the batched JVP's required speed-up over each slower solver (issue: >= 10x over the loop, >= 20x over dense)
STEP_TARGETS = {"per_sample_loop": 10.0, "dense_solve": 20.0}
STEP_LABELS = {"batched_jvp": "batched JVP (`torch.func.jvp`)", "per_sample_loop": "per-sample JVP loop",
               "dense_solve": "dense Jacobian + solve"}


def measure_step(device: torch.device, repeats: int, batch: int = 64, dim: int = 512, cond: int = 48,
                 dense_repeats: int | None = None, mapping: str = "contractive") -> dict:
    """Seconds per SGF step (m = 1) of each solver on the same untrained F (``mapping``: contractive | paper) and
    inputs, and the batched JVP's speed-ups.

    The dense solve is by far the slowest (about a second per sample at 512-d); it runs without a warm-up call and
    ``dense_repeats`` times (default ``repeats // 3``).
    """
    torch.manual_seed(0)
    model = ContractiveMapping(dim, cond, 15, dim, 0.5) if mapping == "contractive" else AuxMapping(dim, cond, 15, dim)
    F = model.frozen().to(device)
    u = torch.randn(batch, dim, device=device)
    c = torch.randn(batch, cond, device=device)
    dc = 0.2 * torch.randn(batch, cond, device=device)
    t_batched = timed(lambda: neumann_direction(F, u, c, dc, 1), device, repeats)
    t_loop = timed(lambda: per_sample_direction(F, u, c, dc, 1), device, max(1, repeats // 2))
    t_dense = timed(lambda: exact_direction(F, u, c, dc), device, dense_repeats or max(1, repeats // 3), warmup=False)
    return {"batch": batch, "dim": dim, "cond": cond, "layers": 15, "order": 1, "mapping": mapping,
            "device": str(device),
            "threads": torch.get_num_threads(), "cores": os.cpu_count(),
            "load_average": round(os.getloadavg()[0], 2),
            "seconds": {"batched_jvp": t_batched, "per_sample_loop": t_loop, "dense_solve": t_dense},
            "speedup": {"per_sample_loop": t_loop / t_batched, "dense_solve": t_dense / t_batched},
            "targets": dict(STEP_TARGETS)}


def step_table(data: dict) -> str:
    """Markdown table of a ``measure_step`` result: seconds per step and speed-up against its target."""
    lines = [f"| SGF step, {data['mapping']} F, batch {data['batch']}, {data['dim']}-d, L = {data['layers']}, "
             f"k = {data['cond']}, m = {data['order']} | seconds | batched JVP speed-up |", "|---|---|---|"]
    for key, label in STEP_LABELS.items():
        seconds = data["seconds"][key]
        if key == "batched_jvp":
            ratio = "1.0x"
        else:
            got, goal = data["speedup"][key], data["targets"][key]
            ratio = f"{got:.1f}x (target >= {goal:.0f}x: {'met' if got >= goal else '**missed**'})"
        lines.append(f"| {label} | {seconds:.3f} | {ratio} |")
    return "\n".join(lines) + "\n"


def bench_step(device: torch.device, repeats: int) -> None:
    data = measure_step(device, repeats)
    print(f"\n## SGF step ({device}, {data['threads']} threads)\n")
    print(step_table(data))


def bench_mappings(device: torch.device, repeats: int, steps: int = 30, batch: int = 256, dim: int = 128,
                   cond: int = 15, layers: int = 15) -> None:
    """Before (paper F) / after (contractive F): Adam steps per second and one batched SGF step."""
    torch.manual_seed(0)
    u = torch.randn(4096, dim, device=device)
    c = torch.randn(4096, cond, device=device)
    rows = []
    for name, model in [("paper F (AdaIN)", AuxMapping(dim, cond, layers, dim)),
                        ("contractive F", ContractiveMapping(dim, cond, layers, dim, 0.5))]:
        model = model.to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def train(model=model, opt=opt):
            for _ in range(steps):
                idx = torch.randint(0, len(u), (batch,), device=device)
                loss = torch.nn.functional.mse_loss(model(u[idx], c[idx]), u[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        t_train = timed(train, device, repeats)
        frozen = model.frozen().to(device)
        t_step = timed(lambda: neumann_direction(frozen, u[:64], c[:64], 0.2 * c[:64], 1), device, repeats)
        rows.append((name, steps / t_train, t_step))
    print(f"\n## Auxiliary mapping F, before / after (W {dim}-d, L = {layers}, k = {cond}, batch {batch}; {device})\n")
    print("| F | training steps/s | SGF step, batch 64 (s) |")
    print("|---|---|---|")
    for name, rate, t in rows:
        print(f"| {name} | {rate:.1f} | {t:.4f} |")
    print(f"\ncontractive / paper: training {rows[1][1] / rows[0][1]:.2f}x, step {rows[0][2] / rows[1][2]:.2f}x")


def bench_edits(device: torch.device, sizes: list[int], train_steps: int, max_steps: int) -> None:
    from sgfkit_synthetic import SynthFaces, SynthFacesTruth

    g = SynthFaces(space="w", truncation=0.8).to(device)
    enc = SynthFacesTruth()
    lat = g.sample_latents(4000, seed=0)
    ds = LatentDataset(g.sample_z(4000, 0), lat.tensor, enc.measure(g, lat), enc.names, "w")
    sgf = SGF(train_steps=train_steps, lr=1e-3, max_steps=max_steps)
    start = time.perf_counter()
    sgf.fit(ds, g, enc)
    print(f"\n## Edits per second on synth-faces (W 128-d, L = 15; F trained {train_steps} steps "
          f"in {time.perf_counter() - start:.0f} s; target: smile flipped; adaptive max_steps {max_steps})\n")
    fast = SGF(mode="fast")
    fast.load_state(sgf.state_tensors(), sgf.state_meta())
    smile = enc.index_of("smile")
    print("| batch | SGF edits/s | mean steps | fast SGF edits/s | fast / SGF |")
    print("|---|---|---|---|---|")
    for n in sizes:
        latents = g.sample_latents(n, seed=100 + n)
        c0 = enc.measure(g, latents)
        c1 = c0.clone()
        c1[:, smile] = (c0[:, smile] < 0.5).float()
        req = EditRequest(latents, c0, c1, [smile])
        steps = []

        def run_sgf():
            steps.append(float(sgf.edit(req, g, enc).steps.float().mean()))
        t_sgf = timed(run_sgf, device, 2)
        t_fast = timed(lambda: fast.edit(req, g, enc), device, 2)
        print(f"| {n} | {n / t_sgf:.1f} | {steps[-1]:.1f} | {n / t_fast:.1f} | {t_sgf / t_fast:.1f}x |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="fewer repeats, batch sizes 1, 16, 64")
    parser.add_argument("--train-steps", type=int, default=1000)
    parser.add_argument("--max-steps", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"torch {torch.__version__}, device {device}, threads {args.threads}")
    bench_step(device, repeats=3 if args.quick else 7)
    bench_mappings(device, repeats=2 if args.quick else 5)
    sizes = [1, 16, 64] if args.quick else [1, 4, 16, 64, 256]
    bench_edits(device, sizes, args.train_steps, args.max_steps)


if __name__ == "__main__":
    main()
