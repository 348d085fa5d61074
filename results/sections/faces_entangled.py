"""MDS of every method on synth-faces-entangled (curved, fact-based entanglement), with side effects."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from _bench import FIDELITY_GOALS, fidelity_cell, fidelity_verdict, fit_entries, keep_mdc_figure, mapping_cell, mds_by_method, mds_table_lines

TITLE = "SGF vs InterFaceGAN vs GANSpace on synth-faces-entangled (MDS and side effects, W and Z space)"
COMMAND = "make results SECTIONS=faces_entangled"
ROOT = Path(__file__).resolve().parents[2]
RECIPES = {"W": "recipes/faces_entangled.yaml", "Z": "recipes/faces_entangled_z.yaml"}
#: method label in the recipe -> row name in the tables
ROWS = {"SGF": "SGF", "SGF-fast": "SGF (fast)", "InterFaceGAN": "InterFaceGAN",
        "InterFaceGAN-cond": "InterFaceGAN (conditional)", "GANSpace": "GANSpace"}
#: side effects are read at the first strength where this share of the edits succeeds
ACCURACY_LEVEL = 0.9
#: how many of the most often changed other attributes a side-effect cell names
TOP = 2
#: SGF fit-report entries shown under the tables
FIT_KEYS = ("F", "layers_F", "reconstruction_r2", "condition_dependence", "spectral_radius_max", "step_fidelity")


def _fidelity_lines(data: dict[str, Any]) -> list[str]:
    """The fit report's one-step fidelity per space; here C is the exact truth, so the leak is the direction's own."""
    rows = [(space, b["fit"]["step_fidelity"]) for space, b in data.items() if (b.get("fit") or {}).get("step_fidelity")]
    if not rows:
        return []
    lines = ["One-step fidelity (the fit report's; C is the exact truth here, so no encoder error is in the leak; "
             f"goals {FIDELITY_GOALS}):", "",
             "| space | SGF cosine / gain / leak | SGF: goals | InterFaceGAN cosine / gain / leak |", "|---|---|---|---|"]
    for space, fid in rows:
        lines.append(f"| {space} | {fidelity_cell(fid, 'SGF')} | {fidelity_verdict(fid)} | "
                     f"{fidelity_cell(fid, 'InterFaceGAN')} |")
    return lines + [""]


def side_effects(before: np.ndarray, after: np.ndarray, target: int, direction: np.ndarray, delta: float,
                 names: list[str], level: float = ACCURACY_LEVEL) -> dict[str, Any]:
    """What else an edit changed, at the weakest strength where ``level`` of the edits succeed.

    Args:
        before: [N, K] scores before the edit; after: [S, N, K] after it at each strength (weakest first).
        target: the edited column; direction: [N] +1 / -1 (the way it should move); delta: "changed" threshold.
        names: the K column names.

    Returns:
        ``{"strength_index", "accuracy", "reached", "others", "changed"}``: the strength used (the most
        accurate one when ``level`` is never reached, then ``reached`` is False), the accuracy there, the
        mean number of *other* attributes that moved by more than delta per sample, and the share of
        samples in which each other attribute moved (the most often changed first).
    """
    moved = after - before[None]                                            # [S, N, K]
    success = (np.sign(direction)[None] * moved[:, :, target] > delta).mean(axis=1)   # [S]
    reached = bool((success >= level).any())
    s = int(np.argmax(success >= level)) if reached else int(np.argmax(success))
    changed = np.abs(moved[s]) > delta                                      # [N, K]
    others = [k for k in range(len(names)) if k != target]
    shares = {names[k]: float(changed[:, k].mean()) for k in others}
    ranked = dict(sorted(shares.items(), key=lambda kv: -kv[1]))
    return {"strength_index": s, "accuracy": float(success[s]), "reached": reached,
            "others": float(changed[:, others].sum(axis=1).mean()), "changed": ranked}


def run(work_dir: Path) -> dict[str, Any]:
    import sgfkit

    out: dict[str, Any] = {}
    for space, recipe in RECIPES.items():
        result = sgfkit.run(ROOT / recipe, out_dir=work_dir)
        values = result.metrics["metrics"]["mds"]
        settings = values["settings"]
        attributes = list(settings["strengths"][next(iter(settings["strengths"]))])
        effects: dict[str, dict[str, Any]] = {}
        for ev in result.evaluations:
            entry = side_effects(ev.before, ev.after, ev.attribute_index, ev.direction, settings["delta"], ev.names)
            entry["strength"] = ev.strengths[entry["strength_index"]]
            effects.setdefault(ev.method, {})[ev.attribute] = entry
        out[space] = {
            "recipe": recipe, "attributes": attributes,
            "delta": settings["delta"], "samples": settings["samples"], "scored": settings["scored_attributes"],
            "mds": mds_by_method(values, attributes),
            "side_effects": effects, "level": ACCURACY_LEVEL,
            "fit": fit_entries(result.metrics["fit"]["SGF"], FIT_KEYS),
            "timings_s": result.timings,
        }
        figure = keep_mdc_figure(result.run_dir, f"faces_entangled_mdc_{space.lower()}")
        if figure is not None:
            out[space]["figure"] = figure
    return out


def _order(methods: dict[str, Any]) -> list[str]:
    order = list(ROWS)
    return sorted(methods, key=lambda m: order.index(m) if m in order else len(order))


def _effect_cell(e: dict[str, Any]) -> str:
    named = [f"{n} {v:.2f}" for n, v in list(e["changed"].items())[:TOP] if v > 0]
    acc = f"{e['accuracy']:.2f}" + ("" if e["reached"] else " (max)")
    return f"{acc} / {e['others']:.2f}" + (f" ({', '.join(named)})" if named else "")


def render(data: dict[str, Any]) -> str:
    lines: list[str] = []
    for space, block in data.items():
        attrs = block["attributes"]
        lines += mds_table_lines(space, block, ROWS)
        lines += ["", f"N = {block['samples']} per attribute, delta = {block['delta']}, "
                  f"K = {block['scored']} scored attributes.", ""]
        lines += [f"Side effects, {space} space: accuracy / other attributes changed per edit (the two most often "
                  f"changed, share of samples), at the weakest strength where {block['level']:.0%} of the edits "
                  "succeed ((max): never reached, read at the most accurate strength):", "",
                  "| method | " + " | ".join(attrs) + " |", "|---" * (len(attrs) + 1) + "|"]
        effects = block["side_effects"]
        for method in _order(effects):
            cells = [_effect_cell(effects[method][a]) if a in effects[method] else "-" for a in attrs]
            lines.append(f"| {ROWS.get(method, method)} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["SGF's F (held-out samples): " + "; ".join(
        f"{space}: {mapping_cell(b['fit'])}, R^2 {b['fit']['reconstruction_r2']:.3f}, "
        f"condition dependence {b['fit']['condition_dependence']:.3f}, rho(dF/dz) max "
        f"{b['fit']['spectral_radius_max']:.3f}" for space, b in data.items() if b.get("fit")) + ".", ""]
    lines += _fidelity_lines(data)
    figures = [f"![MDC, synth-faces-entangled, {space} space]({block['figure']})"
               for space, block in data.items() if block.get("figure")]
    if figures:
        lines += [" ".join(figures), ""]
    return "\n".join(lines) + "\n"
