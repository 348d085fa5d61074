"""Projecting held-out synth-faces renders (saved as PNG) with the optimize projector (bench_projection.py)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

TITLE = "Projection of 8 held-out synth-faces photos in w+ (benchmarks/bench_projection.py)"
COMMAND = "make results SECTIONS=projection"
ROOT = Path(__file__).resolve().parents[2]


def run(work_dir: Path) -> dict[str, Any]:
    out = work_dir / "projection.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_projection.py"), "--json", str(out)],
                   check=True, cwd=ROOT)
    return json.loads(out.read_text())


def render(data: dict[str, Any]) -> str:
    targets = data["targets"]

    def verdict(key: str) -> str:
        return "met" if targets[key] else "**missed**"

    return ("| measure | value | target |\n|---|---|---|\n"
            f"| PSNR, mean over {data['images']} faces (worst face) | {data['psnr_mean']:.1f} dB "
            f"({data['psnr_min']:.1f} dB) | >= 28 dB: {verdict('psnr >= 28 dB')} |\n"
            f"| truth attributes, MAE to the original | {data['attribute_mae']:.4f} | <= 0.05: "
            f"{verdict('attribute MAE <= 0.05')} |\n"
            f"| landmarks, mean distance | {data['landmarks_px']:.2f} px | <= 1 px: {verdict('landmarks <= 1 px')} |\n"
            f"| time per image (batched, {data['threads']} thread) | {data['seconds_per_image_wall']:.1f} s | "
            f"<= 20 s: {verdict('<= 20 s per image')} |\n\n"
            f"{data['steps']} steps in {data['space']}, 64 px, held-out truncation-1.0 renders saved as PNG.\n")
