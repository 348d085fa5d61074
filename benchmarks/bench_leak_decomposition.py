"""Where SGF's step-fidelity leak comes from, on synth-faces (face-attributes encoder, truth known).

    python benchmarks/bench_leak_decomposition.py [--space w|z] [--samples 20000] [--train-steps 3000]
        [--contraction 0.5] [--whiten std] [--steps 0.2] [--dataset FILE]

Fits SGF as the recipes do (``faces_attributes.yaml`` / ``_z.yaml``), then takes one step on the fit
report's 128 held-out samples towards the report's targets (two random attributes, a ``--steps``
fraction of the way to another sample's values) with several directions, and measures each
realised change twice: with the learned encoder the recipe edits with (the issue's leak) and with
the exact truth attributes of the same renders. Rows:

- SGF with the Neumann series (m = 1, the default), m = 0, and the exact solve: (d) the solver;
- InterFaceGAN (SVM normals scaled by their fitted slopes), for reference;
- ``oracle J_learned``: the min-norm step ``pinv(dC/dz) dc`` from the learned encoder's own local
  Jacobian through the renderer (autograd);
- ``regression J``: the same from the Jacobian of an MLP fitted to predict c from the latent on the
  training samples (what a loss on F's Jacobian could at best copy from the data);
- ``oracle J_truth``: the same from the truth's Jacobian: its truth leak is (c) the nonlinearity of
  one step of this size, and its learned leak is the floor that (a) the encoder's own error puts
  under any direction, however well F is fitted.

The gap between SGF's truth leak and the J_truth oracle's is (b) F's fit. Prints one table per step size.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")


def measure(space: str = "w", samples: int = 20000, train_steps: int = 3000, step_sizes: tuple[float, ...] = (0.2,),
            sgf_params: dict[str, Any] | None = None, dataset_file: str | None = None) -> dict[str, Any]:
    """Leak / cosine / gain of each direction, measured by the learned encoder and by the truth."""
    import torch

    from sgfkit.dataset import LatentDataset, sample_dataset
    from sgfkit.latents import Latents
    from sgfkit_face_attributes.encoder import FaceAttributes
    from sgfkit_manipulators.interfacegan import InterFaceGAN
    from sgfkit_manipulators.sgf import SGF
    from sgfkit_manipulators.step_fidelity import fidelity_stats, fidelity_targets, linear_step
    from sgfkit_synthetic import SynthFaces, SynthFacesTruth

    torch.set_num_threads(1)
    generator, encoder, truth = SynthFaces(space=space, truncation=0.8), FaceAttributes(), SynthFacesTruth()
    if dataset_file and Path(dataset_file).is_file():
        dataset = LatentDataset.load(dataset_file)
    else:
        dataset = sample_dataset(generator, encoder, samples, 256, 0)
        if dataset_file:
            dataset.save(dataset_file)
    sgf = SGF(train_steps=train_steps, lr=1e-3, **(sgf_params or {}))
    start = time.perf_counter()
    report = sgf.fit(dataset, generator, encoder)
    fit_s = time.perf_counter() - start

    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(sgf.params["seed"]))
    n_hold = max(1, int(len(dataset) * 0.1))
    hold, train = order[:sgf.params["fidelity_samples"]], order[n_hold:]
    lat, c = dataset.latents[hold].float(), dataset.conditions[hold].float()
    k = c.shape[1]
    truth0 = truth.measure(generator, Latents(lat, dataset.space))[:, :k]
    sub = LatentDataset(dataset.z[train], dataset.latents[train], dataset.conditions[train],
                        list(dataset.condition_names), dataset.space)
    ifg = InterFaceGAN(seed=sgf.params["seed"])
    ifg.fit(sub, generator, encoder)
    ifg_step = linear_step(ifg.normals, sub.latents.float(), sub.conditions.float())

    def jacobian(fn) -> torch.Tensor:   # [N, k, d], one backward pass per condition dim
        x = lat.clone().requires_grad_(True)
        out = fn(x)
        return torch.stack([torch.autograd.grad(out[:, j].sum(), x, retain_graph=True)[0] for j in range(k)], 1)

    def learned_fn(x: torch.Tensor) -> torch.Tensor:
        return encoder.net(encoder.preprocess(generator.synthesize(Latents(x, dataset.space), grad=True)))

    def truth_fn(x: torch.Tensor) -> torch.Tensor:
        scene = generator.scene(generator.ws_of(Latents(x, dataset.space)))
        return torch.stack([scene[a] for a in truth.attribute_names[:k]], 1)

    regressor = _fit_regressor(sub.latents.float(), sub.conditions.float(), sgf.params["seed"])
    with torch.enable_grad():
        pinv = {name: torch.linalg.pinv(jacobian(fn).detach()) for name, fn in
                (("learned", learned_fn), ("truth", truth_fn), ("regression", regressor))}
    directions = {
        "SGF (m = 1)": lambda dc: sgf.direction(lat, c, dc),
        "SGF (m = 0)": lambda dc: _with_order(sgf, 0, lambda: sgf.direction(lat, c, dc)),
        "SGF (exact solve)": lambda dc: sgf.direction(lat, c, dc, exact=True),
        "InterFaceGAN": lambda dc: ifg_step(lat, c, dc),
        "oracle J_learned": lambda dc: (pinv["learned"] @ dc.unsqueeze(2)).squeeze(2),
        "regression J": lambda dc: (pinv["regression"] @ dc.unsqueeze(2)).squeeze(2),
        "oracle J_truth": lambda dc: (pinv["truth"] @ dc.unsqueeze(2)).squeeze(2),
    }
    tables: dict[str, Any] = {}
    for eta in step_sizes:
        mask, dc = fidelity_targets(c, encoder.condition_kind, eta, sgf.params["seed"])
        rows = {}
        for name, direction in directions.items():
            with torch.enable_grad():
                dz = direction(dc).detach()
            moved = Latents(lat + dz, dataset.space)
            rows[name] = {"learned": fidelity_stats(dc, encoder.measure(generator, moved) - c, mask),
                          "truth": fidelity_stats(dc, truth.measure(generator, moved)[:, :k] - truth0, mask)}
        tables[str(eta)] = rows
    return {"space": space, "samples": len(dataset), "train_steps": train_steps, "fit_s": fit_s,
            "sgf_params": sgf_params or {}, "r2": report["reconstruction_r2"],
            "condition_dependence": report["condition_dependence"], "step_scale": report.get("step_scale"),
            "heldout": len(hold), "tables": tables}


def _fit_regressor(x: Any, y: Any, seed: int, steps: int = 2000) -> Any:
    """An MLP latent [N, d] -> conditions [N, k] (Adam, MSE, standardised inputs); returns a function of x."""
    import torch

    torch.manual_seed(seed)
    mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 256), torch.nn.SiLU(), torch.nn.Linear(256, 256),
                              torch.nn.SiLU(), torch.nn.Linear(256, y.shape[1]))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(0, len(x), (256,), generator=gen)
        loss = torch.nn.functional.mse_loss(net((x[idx] - mean) / std), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return lambda z: net((z - mean) / std)


def _with_order(sgf: Any, order: int, fn: Any) -> Any:
    saved = sgf.params["neumann_order"]
    sgf.params["neumann_order"] = order
    try:
        return fn()
    finally:
        sgf.params["neumann_order"] = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--space", choices=("w", "z"), default="w")
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--train-steps", type=int, default=None, help="default: 3000 in w, 9000 in z (the recipes)")
    parser.add_argument("--contraction", type=float, default=0.5)
    parser.add_argument("--whiten", default="std")
    parser.add_argument("--steps", type=float, nargs="+", default=[0.2], help="step sizes eta")
    parser.add_argument("--dataset", default=None, help="reuse / save the sampled dataset here")
    args = parser.parse_args()
    steps = args.train_steps or (3000 if args.space == "w" else 9000)
    data = measure(args.space, args.samples, steps, tuple(args.steps),
                   {"contraction": args.contraction, "whiten": args.whiten}, args.dataset)
    print(f"{args.space} space, {data['samples']} samples, F {steps} steps in {data['fit_s']:.0f} s: held-out R^2 "
          f"{data['r2']:.3f}, condition dependence {data['condition_dependence']:.3f}, step scale "
          f"{data['step_scale']:.2f}; {data['heldout']} held-out samples")
    for eta, rows in data["tables"].items():
        print(f"\n## step size {eta}\n")
        print("| direction | learned encoder: cosine / gain / leak | truth: cosine / gain / leak |")
        print("|---|---|---|")
        for name, r in rows.items():
            cells = [" / ".join(f"{r[src][m]:.3f}" for m in ("cosine", "gain", "leak")) for src in ("learned", "truth")]
            print(f"| {name} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
