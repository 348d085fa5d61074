"""synth-faces' entanglement map: correlations between the true attributes of sampled faces (no pixels)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

TITLE = "synth-faces entanglement map: attribute correlations on 10 000 samples in w, psi 1"
COMMAND = "make results SECTIONS=synth_faces_entanglement"
SAMPLES, SEED = 10_000, 0
#: (attribute pairs, the shared factor behind them: the world's design, see sgfkit_synthetic/faces.py)
PAIRS = [([("bald", "beard")], "masculinity (coarse)"),
         ([("bald", "age")], "masculinity (coarse / middle)"),
         ([("beard", "age")], "masculinity"),
         ([("hair_length", "bald"), ("hair_length", "beard")], "masculinity (negative weight)"),
         ([("glasses", "age")], "age"),
         ([("eyes_open", "age")], "age"),
         ([("smile", "mouth_open")], "smile, mouth_open"),
         ([("hair_hue", "background_hue")], "hair_hue (fine layers)")]
INDEPENDENT = "smile"     # by design shares no factor (mouth_open aside: the smile opens the mouth)
RARE = ("bald", "beard")


def run(work_dir: Path) -> dict[str, Any]:
    import torch
    from sgfkit_synthetic import SynthFaces, SynthFacesTruth

    torch.set_num_threads(1)
    generator = SynthFaces(resolution=64, truncation=1.0)
    truth = SynthFacesTruth()
    c = truth.measure(generator, generator.sample_latents(SAMPLES, seed=SEED))
    names = truth.attribute_names
    attrs = c[:, :len(names)].double()                           # [N, 15] in [0, 1]
    corr = torch.corrcoef(attrs.T)                               # [15, 15]
    col = {n: i for i, n in enumerate(names)}
    pairs = {f"{a}-{b}": round(float(corr[col[a], col[b]]), 3) for group, _ in PAIRS for a, b in group}
    others = [n for n in names if n not in (INDEPENDENT, "mouth_open")]
    independent = max(abs(float(corr[col[INDEPENDENT], col[n]])) for n in others)
    above = {n: round(float((attrs[:, col[n]] > 0.5).double().mean()), 3) for n in RARE}
    return {"samples": SAMPLES, "seed": SEED, "truncation": 1.0, "space": "w", "pairs": pairs,
            "independent": {"attribute": INDEPENDENT, "max_abs": round(independent, 3)}, "share_above_half": above}


def render(data: dict[str, Any]) -> str:
    rows = []
    for group, factor in PAIRS:
        label = ", ".join(f"{a} - {b}" for a, b in group)
        values = ", ".join(f"{data['pairs'][f'{a}-{b}']:+.2f}" for a, b in group)
        rows.append(f"| {label} | {factor} | {values} |")
    ind = data["independent"]
    rows.append(f"| {ind['attribute']} - everything else (but mouth_open) | none | max abs {ind['max_abs']:.2f} |")
    rare = " and ".join(f"`{n}` {100 * v:.0f} %" for n, v in data["share_above_half"].items())
    return (f"**Entanglement map** (correlations measured on {data['samples']} samples in "
            f"{data['space']}, psi {data['truncation']:g}):\n\n"
            "| pair | shared factor | correlation |\n|---|---|---|\n" + "\n".join(rows) + "\n\n"
            f"Share of samples above 0.5: {rare}.\n")
