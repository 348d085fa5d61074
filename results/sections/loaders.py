"""Real-model loaders against the reference fixtures, and StyleGAN2 synthesis time on CPU
(benchmarks/bench_loaders.py, benchmarks/bench_stylegan2.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from _bench import load_benchmark

TITLE = "Real-model loaders: errors against the official reference outputs; StyleGAN2 CPU synthesis time"
COMMAND = "make results SECTIONS=loaders"
LAYOUTS = {"senet50": "SE-ResNet-50 (VGGFace2)", "stylegan2_256_paper256": "StyleGAN2 256 px (paper256)",
           "stylegan2_1024_configf": "StyleGAN2 1024 px (config-f)"}


def run(work_dir: Path) -> dict[str, Any]:
    data = load_benchmark("bench_loaders").measure()
    data["timing"] = load_benchmark("bench_stylegan2").measure(resolutions=(256, 1024), batch=1, threads=1)
    return data


def render(data: dict[str, Any]) -> str:
    sg, t = data["stylegan2"], data["timing"]
    layouts = ", ".join(f"{LAYOUTS.get(name, name)} {m['keys']} keys " + ("exactly" if m["exact"] else "**NOT**")
                        for name, m in data["layouts"].items())
    times = ", ".join(f"{s:.1f} s per {res} px image" for res, s in t["seconds_per_image"].items())
    return (f"**Real-model loaders**: StyleGAN2 matches the official generator's reference outputs to "
            f"{sg['image']:.1e} (mapping with truncation {sg['mapping']:.1e}, gradients {sg['gradient']:.1e} where "
            f"the largest entry is {sg['gradient_scale']:.0f}); ProGAN to {data['progan']:.1e}. Layer names and "
            f"shapes match the released key lists: {layouts}. StyleGAN2 synthesis on CPU ({t['threads']} thread, "
            f"batch {t['batch']}, median of {t['repeats']}, load average {t['load_average']} on {t['cores']} cores): "
            f"{times}.\n")
