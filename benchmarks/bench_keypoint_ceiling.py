"""What the synth-faces world can draw for each keypoint target: the recipe's ask, optimised on the exact truth.

    python benchmarks/bench_keypoint_ceiling.py [--recipe recipes/anime_keypoints.yaml] [--seeds 12]
        [--iterations 600]

For every target of the recipe and every seed, minimises the recipe encoder's own objective (the
targeted dims, held dims included, pulled to their target values, pixels over ``pixel_scale`` as in
its distance; untargeted dims free) over the latent w by Adam, with the *exact* truth as the reader:
no encoder error, no step rule, no budget. The result is scored by the recipe's ``keypoint-moves``
metric exactly as SGF's edits are. A target this optimum does not reach within the tolerance asks
for faces the world cannot draw; where it reaches with little margin, no method reading a learned
encoder can be expected to reach firmly. Prints one row per target; ``measure`` returns them
(results/sections/anime_keypoints.py).
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]


def measure(recipe: str = "recipes/anime_keypoints.yaml", seeds: int = 12, iterations: int = 600,
            lr: float = 0.02) -> dict[str, Any]:
    """{target label: keypoint-moves scores of the optimum} over seeds 0 .. seeds - 1 (plus the settings)."""
    import numpy as np
    import torch

    from sgfkit.components import EditOutcome
    from sgfkit.latents import Latents
    from sgfkit.pipeline import build_components
    from sgfkit.recipe import load_recipe

    torch.set_num_threads(1)
    loaded = load_recipe(ROOT / recipe)
    comps = build_components(loaded, "cpu")
    spec = loaded.data
    generator, encoder, truth = comps.generator, comps.encoder, comps.evaluator   # the evaluator: synth-faces-truth
    metric = dict(comps.metrics)["keypoint-moves"]
    columns = [truth.names.index(name) for name in encoder.names]   # truth read in the encoder's order
    keypoints = [(truth.names.index(x), truth.names.index(y)) for x, y in truth.keypoint_columns()]

    def read(w: torch.Tensor) -> torch.Tensor:   # w [N, w_dim] -> truth [N, K] (attributes, then landmarks)
        return truth.scene_values(generator, generator.scene(generator.ws_of(Latents(w, "w"))))

    w0 = generator.ws_of(generator.to_latents(generator.z_from_seeds(list(range(seeds)))))[:, 0].detach()
    with torch.no_grad():
        full0 = read(w0)
    c0 = full0[:, columns]
    results: dict[str, Any] = {}
    for entry in spec["edits"]["targets"]:
        target = entry["target"]
        c1 = encoder.target(target, c0)
        dims = encoder.target_dims(target)
        scale = encoder.dim_scales(dims)
        w = w0.clone().requires_grad_(True)
        optim = torch.optim.Adam([w], lr=lr)
        with torch.enable_grad():
            for _ in range(iterations):
                loss = (((read(w)[:, columns][:, dims] - c1[:, dims]) / scale) ** 2).sum()
                optim.zero_grad()
                loss.backward()
                optim.step()
        with torch.no_grad():
            full1 = read(w)
        outcome = EditOutcome(method="exact optimum", target=target, label=entry.get("label", str(target)),
                              names=list(truth.names), before=full0.numpy().astype(np.float64),
                              after=full1.numpy().astype(np.float64), steps=np.full(seeds, iterations),
                              status=["optimum"] * seeds, keypoints=keypoints)
        scores = metric.score(outcome)
        scores["latent_move"] = float((w.detach() - w0).norm(dim=1).mean())
        results[outcome.label] = scores
    return {"recipe": recipe, "seeds": seeds, "iterations": iterations,
            "tolerance_px": metric.params["tolerance_px"], "targets": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="recipes/anime_keypoints.yaml")
    parser.add_argument("--seeds", type=int, default=12)
    parser.add_argument("--iterations", type=int, default=600)
    args = parser.parse_args()
    data = measure(args.recipe, args.seeds, args.iterations)
    print(f"{args.recipe}: exact-truth optimum of each target over {args.seeds} seeds "
          f"(tolerance {data['tolerance_px']} px)")
    print(f"{'target':32s} {'reached':>8s} {'move err px':>12s} {'hair change':>12s}")
    for label, s in data["targets"].items():
        err = "-" if s["move_error_px"] is None else f"{s['move_error_px']:.2f}"
        print(f"{label:32s} {s['success']:8.2f} {err:>12s} {s.get('hold_change', 0.0):12.3f}")


if __name__ == "__main__":
    main()
