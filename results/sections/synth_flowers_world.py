"""synth-flowers' class balance and how sharp its names are: facts of sampled flowers (scene only, no pixels)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

TITLE = "synth-flowers class balance and name sharpness: facts of 4000 flowers at psi 0.8"
COMMAND = "make results SECTIONS=synth_flowers_world"
SAMPLES, SEED, TRUNCATION = 4000, 0, 0.8
#: a hue more than this far from its colour anchor (in steps of the colour path) is "between two names"
OFF_ANCHOR = (0.15, 0.25)
#: tip_share in [0, 0.5]: below LOW a plain flower, above HIGH a half-and-half two-tone one, else in between
TIP_LOW, TIP_HIGH = 0.05, 0.45
FACTS = ("petal_shape", "petal_size", "petal_count", "center_color", "center_size", "background")


def _shares(values: list) -> dict[str, float]:
    counts = Counter(values)
    return {str(k): round(v / len(values), 4) for k, v in sorted(counts.items())}


def run(work_dir: Path) -> dict[str, Any]:
    import torch
    from sgfkit_synthetic import SynthFlowers
    from sgfkit_synthetic.flowers import MIX_MIN_SHARE

    torch.set_num_threads(1)
    generator = SynthFlowers(resolution=64, truncation=TRUNCATION)
    with torch.no_grad():
        scene = generator.scene(generator.ws_of(generator.sample_latents(SAMPLES, seed=SEED)))
    facts = generator.facts(scene)
    off = (scene["hue"] - scene["hue"].round()).abs()
    tip = scene["tip_share"]
    colours = ["two-tone" if isinstance(f["petal_color"], list) else f["petal_color"] for f in facts]
    return {"samples": SAMPLES, "seed": SEED, "truncation": TRUNCATION, "mix_min_share": MIX_MIN_SHARE,
            "hue_off_anchor": {str(t): round(float((off > t).double().mean()), 4) for t in OFF_ANCHOR},
            "tip_share": {"plain": round(float((tip < TIP_LOW).double().mean()), 4),
                          "two_tone": round(float((tip > TIP_HIGH).double().mean()), 4),
                          "between": round(float(((tip >= TIP_LOW) & (tip <= TIP_HIGH)).double().mean()), 4)},
            "petal_color": _shares(colours), **{fact: _shares([f[fact] for f in facts]) for fact in FACTS}}


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def _span(shares: dict[str, float]) -> str:
    lo, hi = min(shares.values()), max(shares.values())
    return _pct(lo) if round(100 * lo) == round(100 * hi) else f"{100 * lo:.0f}-{100 * hi:.0f} %"


def render(data: dict[str, Any]) -> str:
    colours = dict(data["petal_color"])
    two_tone = colours.pop("two-tone", 0.0)
    off = data["hue_off_anchor"]
    tip = data["tip_share"]
    rows = [f"| petal colour | {len(colours)} single colours {_span(colours)} each; two-tone (two names, each "
            f">= {data['mix_min_share']:g} of the petal length) {_pct(two_tone)} |"]
    for fact in FACTS:
        shares = data[fact]
        rows.append(f"| {fact.replace('_', ' ')} | " + ", ".join(f"{k} {_pct(v)}" for k, v in shares.items()) + " |")
    return (f"Facts of {data['samples']} flowers (psi {data['truncation']:g}, seed {data['seed']}):\n\n"
            "| fact | share of flowers |\n|---|---|\n" + "\n".join(rows) + "\n\n"
            f"Hue between two names: {_pct(off['0.15'])} of the flowers lie more than 0.15 of a step from their "
            f"colour's anchor, {_pct(off['0.25'])} more than 0.25. Two tones: `tip_share` is below {TIP_LOW:g} "
            f"for {_pct(tip['plain'])}, above {TIP_HIGH:g} for {_pct(tip['two_tone'])} and in between for "
            f"{_pct(tip['between'])}.\n")
