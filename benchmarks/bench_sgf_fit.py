"""Fitting SGF's F and editing with it: before / after, side by side in one run (ratios, not targets).

    python benchmarks/bench_sgf_fit.py [--samples 4096] [--train-steps 1500] [--compile]

One synth-faces W dataset measured by the shipped SE-ResNet (``face-attributes``, 15 attributes),
then the same SGF fit under each configuration:

- ``paper F``: the paper's AdaIN F (``F: paper``), conditions standardised per dim, constant lr;
- ``contractive``: the contractive F as main had it (``whiten: std``, ``lr_schedule: constant``), the
  baseline of the ratios;
- ``contractive, cosine lr``: the defaults on these attribute conditions (``whiten: auto`` is std for attributes);
- ``contractive, pca + cosine lr``: PCA-whitened conditions (the ``auto`` choice for embeddings);
- with ``--compile``: the default F trained eager and through ``torch.compile`` (a fifth of the steps).

For each: F's training seconds (the optimisation loop of the fit) and training steps/s (best of
three interleaved bursts of 100 steps, like the edit speeds, so that a shared machine's load hits
every configuration alike); held-out R^2
and condition dependence; one-step fidelity (median cosine / leak of the learned encoder's reading,
the fit report's numbers); and edit throughput: adaptive SGF edits per second and fast-SGF edits
per second for a batch flipping smile (at most ``--max-steps`` steps). Ratios are against
``contractive``. The README's "SGF speed" block is this benchmark's output
(``make results SECTIONS=sgf_speed``).
"""
from __future__ import annotations

import argparse
import os
import time
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

#: label -> SGF parameters that differ from the defaults
CONFIGS: dict[str, dict[str, Any]] = {
    "paper F": {"F": "paper", "whiten": "std", "lr_schedule": "constant"},
    "contractive": {"whiten": "std", "lr_schedule": "constant"},
    "contractive, cosine lr": {"whiten": "std", "lr_schedule": "cosine"},
    "contractive, pca + cosine lr": {"whiten": "pca", "lr_schedule": "cosine"},
}
#: speed measurements: interleaved rounds (best of), training steps per burst
ROUNDS, BURST_STEPS = 3, 100
BASELINE = "contractive"  # the defaults on attributes = main's settings before whiten / lr_schedule existed


def measure(samples: int = 4096, train_steps: int = 1500, edit_batch: int = 32, max_steps: int = 20,
            compile_model: bool = False, seed: int = 0) -> dict[str, Any]:
    """Fit and edit with every configuration in :data:`CONFIGS` on one dataset; a JSON-able dict."""
    import torch

    from sgfkit.components import EditRequest
    from sgfkit.dataset import sample_dataset
    from sgfkit_face_attributes.encoder import FaceAttributes
    from sgfkit_manipulators.sgf import SGF
    from sgfkit_manipulators.sgf_training import train_aux_mapping
    from sgfkit_synthetic import SynthFaces

    torch.set_num_threads(1)
    generator = SynthFaces(space="w", truncation=0.8)
    encoder = FaceAttributes()
    start = time.perf_counter()
    dataset = sample_dataset(generator, encoder, samples, 256, seed)
    sample_s = time.perf_counter() - start
    smile = encoder.index_of("smile")
    latents = generator.sample_latents(edit_batch, seed=seed + 100)
    c0 = encoder.measure(generator, latents)
    c1 = c0.clone()
    c1[:, smile] = (c0[:, smile] < 0.5).float()
    request = EditRequest(latents, c0, c1, [smile])

    rows: dict[str, dict[str, Any]] = {}
    fitted: dict[str, tuple[Any, Any]] = {}
    for label, params in CONFIGS.items():
        sgf = SGF(train_steps=train_steps, lr=1e-3, max_steps=max_steps, seed=seed, **params)
        report = sgf.fit(dataset, generator, encoder)
        fidelity = report["step_fidelity"]["methods"]["SGF"]
        fast = SGF(mode="fast", step_size=sgf.params["step_size"])
        fast.load_state(sgf.state_tensors(), sgf.state_meta())
        fitted[label] = (sgf, fast)
        result = sgf.edit(request, generator, encoder)
        rows[label] = {
            "params": params, "train_s": sgf.train_seconds,
            "r2": report["reconstruction_r2"], "condition_dependence": report["condition_dependence"],
            "rho_max": report["spectral_radius_max"], "cosine": fidelity["cosine"], "leak": fidelity["leak"],
            "mean_steps": float(result.steps.float().mean()),
            "converged": sum(s == "converged" for s in result.status) / edit_batch,
        }
    # speeds: ROUNDS interleaved rounds, best of each, so that load drifting on a shared machine
    # hits every configuration alike instead of whichever happened to run during a busy minute
    u, cn = _standardised(dataset)
    best: dict[str, dict[str, float]] = {label: {} for label in CONFIGS}
    for _ in range(ROUNDS):
        for label, params in CONFIGS.items():
            sgf, fast = fitted[label]
            burst = train_aux_mapping(u, cn, 15, u.shape[1], BURST_STEPS, 256, 1e-3, seed,
                                      kind=params.get("F", "contractive"),
                                      schedule=params.get("lr_schedule", "constant")).seconds
            start = time.perf_counter()
            sgf.edit(request, generator, encoder)
            edit_s = time.perf_counter() - start
            start = time.perf_counter()
            fast.edit(request, generator, encoder)
            fast_s = time.perf_counter() - start
            for key, value in (("burst_s", burst), ("edit_s", edit_s), ("fast_s", fast_s)):
                best[label][key] = min(best[label].get(key, float("inf")), value)
    for label, row in rows.items():
        row.update({"train_steps_per_s": BURST_STEPS / best[label]["burst_s"],
                    "edits_per_s": edit_batch / best[label]["edit_s"],
                    "fast_edits_per_s": edit_batch / best[label]["fast_s"]})
    return {"samples": samples, "sample_s": sample_s, "train_steps": train_steps, "edit_batch": edit_batch,
            "max_steps": max_steps, "encoder": "face-attributes", "cores": os.cpu_count(),
            "load_average": round(os.getloadavg()[0], 1), "torch": torch.__version__, "baseline": BASELINE,
            "rows": rows, "compile": compile_check(dataset, train_steps // 5, seed) if compile_model else None}


def _standardised(dataset: Any) -> tuple[Any, Any]:
    """Latents [N, d] scaled as SGF scales them and per-dim standardised conditions [N, k] (for timing)."""
    z, c = dataset.latents.float(), dataset.conditions.float()
    return (z - z.mean(0)) / (z - z.mean(0)).std(), (c - c.mean(0)) / c.std(0).clamp_min(1e-3)


def compile_check(dataset: Any, steps: int, seed: int) -> dict[str, float]:
    """Training seconds of the default F for ``steps`` steps, eager vs ``torch.compile`` (compilation counted
    separately: the first compiled step), on the dataset's standardised latents and conditions."""
    from sgfkit_manipulators.sgf_training import train_aux_mapping

    u, cn = _standardised(dataset)
    args = (u, cn, 15, u.shape[1])
    eager = train_aux_mapping(*args, steps, 256, 1e-3, seed).seconds
    first = train_aux_mapping(*args, 1, 256, 1e-3, seed, compile_model=True).seconds
    compiled = train_aux_mapping(*args, steps, 256, 1e-3, seed, compile_model=True).seconds
    return {"steps": steps, "eager_s": eager, "compile_first_step_s": first, "compiled_s": compiled}


def table(data: dict[str, Any]) -> str:
    """Markdown table of :func:`measure`'s result, ratios against the baseline row."""
    base = data["rows"][data["baseline"]]
    lines = ["| F | training s | training speed | held-out R^2 | condition dependence | rho max "
             "| step cosine / leak | SGF edits/s (mean steps) | fast SGF edits/s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for label, r in data["rows"].items():
        lines.append(
            f"| {label} | {r['train_s']:.1f} | {r['train_steps_per_s'] / base['train_steps_per_s']:.2f}x | "
            f"{r['r2']:.3f} | {r['condition_dependence']:.3f} | {r['rho_max']:.2f} | "
            f"{r['cosine']:.3f} / {r['leak']:.3f} | {r['edits_per_s']:.1f} ({r['mean_steps']:.1f}; "
            f"{r['edits_per_s'] / base['edits_per_s']:.2f}x) | {r['fast_edits_per_s']:.1f} "
            f"({r['fast_edits_per_s'] / base['fast_edits_per_s']:.2f}x) |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=4096)
    parser.add_argument("--train-steps", type=int, default=1500)
    parser.add_argument("--edit-batch", type=int, default=32)
    parser.add_argument("--max-steps", type=int, default=20)
    parser.add_argument("--compile", action="store_true", help="also time the training forward compiled")
    args = parser.parse_args()
    data = measure(args.samples, args.train_steps, args.edit_batch, args.max_steps, args.compile)
    print(f"torch {data['torch']}, {data['cores']} cores, load average {data['load_average']}; "
          f"{data['samples']} samples measured in {data['sample_s']:.1f} s; F trained {data['train_steps']} steps\n")
    print(table(data))
    if data["compile"]:
        k = data["compile"]
        print(f"torch.compile, {k['steps']} training steps: eager {k['eager_s']:.1f} s, compiled {k['compiled_s']:.1f} s "
              f"({k['eager_s'] / k['compiled_s']:.2f}x) after a first compiled step of {k['compile_first_step_s']:.1f} s")


if __name__ == "__main__":
    main()
