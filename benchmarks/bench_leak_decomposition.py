"""Where SGF's step-fidelity leak comes from, on a bundled synth-faces recipe (truth known).

    python benchmarks/bench_leak_decomposition.py [--recipe recipes/faces_attributes.yaml] [--steps 0.2]
        [--dataset FILE]

Builds the recipe's generator, condition encoder and first SGF manipulator (its dataset size and fit
options), fits SGF, then takes one step on the fit report's held-out samples (up to 512) towards the report's
targets (two random conditions, a ``--steps`` fraction of the way to another sample's values) with
several directions, and measures each realised change twice: with the learned encoder the recipe
edits with (the issue's leak) and with the exact truth (``synth-faces-truth``, the same condition
names) of the same renders. Rows:

- SGF with the Neumann series (m = 1, the default), m = 0, and the exact solve: the solver; where the
  recipe's F is the mean of several fits (``ensemble``), also one of them alone (``SGF, one F of the mean``);
- InterFaceGAN (SVM normals scaled by their fitted slopes), for reference;
- ``oracle J_learned``: the min-norm step ``pinv(dC/dz) dc`` from the learned encoder's own local
  Jacobian through the renderer (autograd; the face-attributes encoder only): what the best
  first-order direction for the learned encoder leaks after a step of this size;
- ``regression J``: the same from the Jacobian of an MLP fitted to predict c from the latent on the
  training samples (what a forward model of the same data offers), and ``SGF + regression
  correction``: SGF's step plus the min-norm change that makes that MLP predict exactly dc;
- ``oracle J_truth``: the same from the truth's Jacobian: its truth leak is the nonlinearity of one
  step of this size (and, where conditions are tied, the part of the ask no image can realise),
  and its learned leak is the floor that the encoder's own error puts under any direction, however
  well F is fitted.

Prints one table per step size; ``measure`` returns them (results/sections/step_fidelity_floor.py).
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
#: options of the recipe's SGF entry that only matter for editing or labelling
EDIT_ONLY = ("type", "label", "mode", "strengths", "max_steps", "tolerance", "smoothing", "patience", "reaim",
             "plateau_growth")


def recipe_setup(recipe: str) -> dict[str, Any]:
    """Generator / encoder / dataset / SGF options of a recipe file (plain YAML; validation is not needed here)."""
    import yaml

    spec = yaml.safe_load((ROOT / recipe).read_text())
    sgf = next(m for m in spec["manipulators"] if m["type"] == "sgf")
    return {"generator": dict(spec["generator"]), "encoder": dict(spec["encoder"]),
            "samples": int(spec["dataset"]["samples"]), "batch_size": int(spec["dataset"].get("batch_size", 256)),
            "sgf": {k: v for k, v in sgf.items() if k not in EDIT_ONLY}}


def measure(recipe: str = "recipes/faces_attributes.yaml", step_sizes: tuple[float, ...] = (0.2,),
            dataset_file: str | None = None, samples: int | None = None,
            sgf_overrides: dict[str, Any] | None = None,
            encoder_overrides: dict[str, Any] | None = None, probes: int = 0) -> dict[str, Any]:
    """Leak / cosine / gain of each direction, measured by the learned encoder and by the truth.

    ``samples`` / ``sgf_overrides`` / ``encoder_overrides`` replace the recipe's dataset size / SGF
    options / encoder options (experiments, e.g. another encoder weights file). ``probes`` > 0 adds
    the row ``probe regression``: at each sample, ``probes`` random small latent offsets eps measured
    by C (black box), and the step E[eps | dc] from their covariance (for isotropic eps and a locally
    linear C this is the local min-norm direction)."""
    import torch

    from sgfkit.api import get_condition_encoder, get_generator, get_manipulator
    from sgfkit.dataset import LatentDataset, sample_dataset
    from sgfkit.latents import Latents
    from sgfkit_manipulators.sgf import heldout_split, interfacegan_step, report_samples
    from sgfkit_manipulators.step_fidelity import fidelity_stats, fidelity_targets
    from sgfkit_synthetic import SynthFacesTruth

    torch.set_num_threads(1)
    setup = recipe_setup(recipe)
    setup["samples"] = samples or setup["samples"]
    setup["sgf"].update(sgf_overrides or {})
    setup["encoder"].update(encoder_overrides or {})
    generator = get_generator(setup["generator"].pop("type"), **setup["generator"])
    encoder = get_condition_encoder(setup["encoder"].pop("type"), **setup["encoder"])
    truth = SynthFacesTruth()
    if dataset_file and Path(dataset_file).is_file():
        dataset = LatentDataset.load(dataset_file)
    else:
        dataset = sample_dataset(generator, encoder, setup["samples"], setup["batch_size"], 0)
        if dataset_file:
            dataset.save(dataset_file)
    space = dataset.space
    sgf = get_manipulator("sgf", **setup["sgf"])
    start = time.perf_counter()
    report = sgf.fit(dataset, generator, encoder)
    fit_s = time.perf_counter() - start

    hold, train = heldout_split(len(dataset), sgf.params["seed"])   # the fit report's split
    hold = hold[:report_samples(len(hold), sgf.params["fidelity_samples"], sgf.params["calibrate_step"])[0]]
    lat, c = dataset.latents[hold].float(), dataset.conditions[hold].float()
    k = c.shape[1]
    columns = [truth.names.index(name) for name in dataset.condition_names]   # truth in the encoder's order
    truth0 = truth.measure(generator, Latents(lat, space))[:, columns]
    ifg_step = interfacegan_step(dataset, train, generator, encoder, sgf.params["seed"])

    def jacobian(fn) -> torch.Tensor:   # [N, k, d], one backward pass per condition dim
        x = lat.clone().requires_grad_(True)
        out = fn(x)
        return torch.stack([torch.autograd.grad(out[:, j].sum(), x, retain_graph=True)[0] for j in range(k)], 1)

    def truth_fn(x: torch.Tensor) -> torch.Tensor:
        return truth.scene_values(generator, generator.scene(generator.ws_of(Latents(x, space))))[:, columns]

    functions = {"truth": truth_fn, "regression": _fit_regressor(dataset.latents[train].float(),
                                                                 dataset.conditions[train].float(),
                                                                 sgf.params["seed"])}
    if hasattr(encoder, "net") and hasattr(encoder, "preprocess"):   # face-attributes: differentiable end to end
        functions["learned"] = lambda x: encoder.net(encoder.preprocess(generator.synthesize(Latents(x, space),
                                                                                                grad=True)))
    with torch.enable_grad():
        jac = {name: jacobian(fn).detach() for name, fn in functions.items()}
    pinv = {name: torch.linalg.pinv(j) for name, j in jac.items()}

    def solve(name: str):
        return lambda dc: (pinv[name] @ dc.unsqueeze(2)).squeeze(2)

    directions = {
        "SGF (m = 1)": lambda dc: sgf.direction(lat, c, dc),
        **({"SGF, one F of the mean": lambda dc: _with_member(sgf, 0, lambda: sgf.direction(lat, c, dc))}
           if len(getattr(sgf.F, "members", ())) > 1 else {}),
        "SGF (m = 0)": lambda dc: _with_order(sgf, 0, lambda: sgf.direction(lat, c, dc)),
        "SGF (exact solve)": lambda dc: sgf.direction(lat, c, dc, exact=True),
        **({"InterFaceGAN": lambda dc: ifg_step(lat, c, dc)} if ifg_step is not None else {}),
        **({"oracle J_learned": solve("learned")} if "learned" in pinv else {}),
        "regression J": solve("regression"),
        "SGF + regression correction": lambda dc: _corrected(sgf.direction(lat, c, dc), dc, jac["regression"],
                                                             pinv["regression"]),
        "oracle J_truth": solve("truth"),
    }
    if probes:
        directions["probe regression"] = _probe_regression(encoder, generator, lat, c, space, probes,
                                                           sgf.params["seed"])
    tables: dict[str, Any] = {}
    for eta in step_sizes:
        mask, dc = fidelity_targets(c, encoder.condition_kind, eta, sgf.params["seed"])
        rows = {}
        for name, direction in directions.items():
            with torch.enable_grad():
                dz = direction(dc).detach()
            moved = Latents(lat + dz, space)
            rows[name] = {"learned": fidelity_stats(dc, encoder.measure(generator, moved) - c, mask),
                          "truth": fidelity_stats(dc, truth.measure(generator, moved)[:, columns] - truth0, mask)}
        tables[str(eta)] = rows
    return {"recipe": recipe, "space": space, "encoder": encoder.registry_name or type(encoder).__name__,
            "samples": len(dataset), "train_steps": sgf.params["train_steps"], "fit_s": fit_s,
            "sgf_params": setup["sgf"], "r2": report["reconstruction_r2"],
            "condition_dependence": report["condition_dependence"], "step_scale": report.get("step_scale"),
            "heldout": len(hold), "tables": tables}


def _fit_regressor(x: Any, y: Any, seed: int, steps: int = 2000) -> Any:
    """An MLP latent [N, d] -> conditions [N, k] (Adam, MSE on standardised inputs and outputs); a function of x."""
    import torch

    torch.manual_seed(seed)
    mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
    y_mean, y_std = y.mean(0), y.std(0).clamp_min(1e-6)   # pixels and scores weigh alike
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 256), torch.nn.SiLU(), torch.nn.Linear(256, 256),
                              torch.nn.SiLU(), torch.nn.Linear(256, y.shape[1]))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        idx = torch.randint(0, len(x), (256,), generator=gen)
        loss = torch.nn.functional.mse_loss(net((x[idx] - mean) / std), (y[idx] - y_mean) / y_std)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    return lambda z: net((z - mean) / std) * y_std + y_mean


def _probe_regression(encoder: Any, generator: Any, lat: Any, c: Any, space: str, probes: int, seed: int,
                      scale: float = 0.05, ridge: float = 1e-3) -> Any:
    """Per sample: eps [K, d] ~ N(0, (scale * std)^2), dC = C(G(z + eps)) - c; the step for dc is
    cov(eps, dC) (cov(dC) + ridge)^-1 dc, i.e. E[eps | dC = dc] under a linear-Gaussian fit."""
    import torch

    from sgfkit.latents import Latents

    gen = torch.Generator().manual_seed(seed + 7)
    sigma = scale * float(lat.std())
    maps = []
    for i in range(len(lat)):
        eps = sigma * torch.randn(probes, lat.shape[1], generator=gen)
        dC = encoder.measure(generator, Latents(lat[i] + eps, space)).float() - c[i]
        cov_ec, cov_cc = eps.T @ dC / probes, dC.T @ dC / probes
        reg = ridge * float(cov_cc.diagonal().mean()) * torch.eye(cov_cc.shape[0])
        maps.append(cov_ec @ torch.linalg.inv(cov_cc + reg))   # [d, k]
    gains = torch.stack(maps)
    return lambda dc: (gains @ dc.unsqueeze(2)).squeeze(2)


def _corrected(dz: Any, dc: Any, jac: Any, pinv: Any) -> Any:
    """dz [N, d] plus the min-norm change that makes jac [N, k, d] predict exactly dc [N, k]."""
    miss = dc - (jac @ dz.unsqueeze(2)).squeeze(2)
    return dz + (pinv @ miss.unsqueeze(2)).squeeze(2)


def _with_member(sgf: Any, index: int, fn: Any) -> Any:
    """``fn()`` with SGF's F (an ensemble) replaced by its member ``index`` (same step scale)."""
    saved = sgf.F
    sgf.F = saved.members[index]
    try:
        return fn()
    finally:
        sgf.F = saved


def _with_order(sgf: Any, order: int, fn: Any) -> Any:
    saved = sgf.params["neumann_order"]
    sgf.params["neumann_order"] = order
    try:
        return fn()
    finally:
        sgf.params["neumann_order"] = saved


def table(data: dict[str, Any], eta: str) -> str:
    """The markdown table of one step size."""
    lines = ["| direction | learned encoder: cosine / gain / leak | truth: cosine / gain / leak |", "|---|---|---|"]
    for name, r in data["tables"][eta].items():
        cells = [" / ".join(f"{r[src][m]:.3f}" for m in ("cosine", "gain", "leak")) for src in ("learned", "truth")]
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", default="recipes/faces_attributes.yaml",
                        help="a synth-faces recipe: faces_attributes.yaml, faces_attributes_z.yaml, anime_keypoints.yaml")
    parser.add_argument("--steps", type=float, nargs="+", default=[0.2], help="step sizes eta")
    parser.add_argument("--dataset", default=None, help="reuse / save the sampled dataset here")
    parser.add_argument("--samples", type=int, default=None, help="replace the recipe's dataset size")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="replace an SGF option of the recipe (YAML value), e.g. --set train_steps=20000")
    parser.add_argument("--probes", type=int, default=0, help="add the probe-regression row with this many probes")
    parser.add_argument("--encoder-set", action="append", default=[], metavar="KEY=VALUE",
                        help="replace an encoder option of the recipe, e.g. --encoder-set weights=FILE")
    args = parser.parse_args()
    import yaml

    def pairs(items: list[str]) -> dict[str, Any]:
        return {k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in items)}

    data = measure(args.recipe, tuple(args.steps), args.dataset, args.samples, pairs(args.set), pairs(args.encoder_set),
                   args.probes)
    print(f"{data['recipe']} ({data['space']} space, {data['encoder']}), {data['samples']} samples, F "
          f"{data['train_steps']} steps in {data['fit_s']:.0f} s: held-out R^2 {data['r2']:.3f}, condition dependence "
          f"{data['condition_dependence']:.3f}, step scale {data['step_scale']:.2f}; {data['heldout']} held-out samples")
    for eta in data["tables"]:
        print(f"\n## step size {eta}\n")
        print(table(data, eta))


if __name__ == "__main__":
    main()
