"""Step fidelity, decomposed: what any direction leaks through each recipe's learned encoder
(benchmarks/bench_leak_decomposition.py on the synth-faces recipes)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from _bench import FIDELITY_GOALS, FIDELITY_LEAK_GOAL, load_benchmark

TITLE = "Step fidelity decomposed: SGF against oracle directions, read by the learned encoder and by the truth"
COMMAND = "make results SECTIONS=step_fidelity_floor"
RECIPES = ("recipes/faces_attributes.yaml", "recipes/faces_attributes_z.yaml", "recipes/anime_keypoints.yaml")
STEP = 0.2
#: random latent probes per sample for the black-box "probe regression" row
PROBES = 256


def run(work_dir: Path) -> dict[str, Any]:
    bench = load_benchmark("bench_leak_decomposition")
    return {"step": STEP, "probes": PROBES,
            "recipes": [bench.measure(recipe, (STEP,), probes=PROBES) for recipe in RECIPES]}


def render(data: dict[str, Any]) -> str:
    bench = load_benchmark("bench_leak_decomposition")
    eta = str(data["step"])
    text = (f"`benchmarks/bench_leak_decomposition.py`: the fit report's one step (eta {eta}, two random conditions "
            "moved towards another sample's values, the fit report's held-out samples, medians) taken by SGF and by oracle "
            f"directions, each read by the recipe's learned encoder (the goal's measure: {FIDELITY_GOALS}) "
            "and by the exact truth of the same renders. `oracle J_truth` is the min-norm step from the truth's own "
            "Jacobian: its learned-encoder leak is what the encoder's error alone adds to a perfect direction. "
            f"`probe regression` needs no gradient: at each sample, {data.get('probes', PROBES)} small random latent "
            "offsets are measured by C and the step is their conditional mean given dc, a local direction "
            "learned from the black box.\n")
    text += "\n" + _summary(data, eta) + "\n"
    for block in data["recipes"]:
        ensemble = block.get("sgf_params", {}).get("ensemble", 1)
        text += (f"\n`{block['recipe']}` ({block['space']} space, C = `{block['encoder']}`; "
                 + (f"F the mean of {ensemble} fits, " if ensemble > 1 else "")
                 + f"F held-out R^2 {block['r2']:.3f}, condition dependence {block['condition_dependence']:.3f}; "
                 f"{block['heldout']} held-out samples):\n\n")
        text += bench.table(block, eta)
    return text


def _summary(data: dict[str, Any], eta: str) -> str:
    """What the tables say about the goal: the floor a perfect direction leaves, and what SGF still owns."""
    floors, owned = [], []
    for block in data["recipes"]:
        rows = block["tables"][eta]
        name = f"{block['space'].upper()} ({Path(block['recipe']).stem})"
        floors.append(f"{name} {rows['oracle J_truth']['learned']['leak']:.2f}")
        sgf = rows["SGF (m = 1)"]["truth"]["leak"]
        alone = rows.get("SGF, one F of the mean")
        owned.append(f"{name} {sgf:.2f}" + (f" (one F alone {alone['truth']['leak']:.2f})" if alone else "")
                     + f" against {rows['oracle J_truth']['truth']['leak']:.2f} for the perfect direction")
    return ("Even a perfect direction (`oracle J_truth`) leaks, through the recipe's learned encoder: "
            + ", ".join(floors) + f". Where that is above {FIDELITY_LEAK_GOAL}, the goal as it is read (leak <= "
            f"{FIDELITY_LEAK_GOAL} through the learned encoder) is out of reach of any direction with that encoder. "
            "What the method itself still owns is its truth leak: SGF " + "; ".join(owned) + ".")
