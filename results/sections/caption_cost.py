"""What measuring an image with `flower-caption` costs (benchmarks/bench_caption_cost.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from _bench import load_benchmark

TITLE = "flower-caption encode cost: captioning, Sentence-BERT (new / cached caption), Sentence-BERT load"
COMMAND = "make results SECTIONS=caption_cost"


def run(work_dir: Path) -> dict[str, Any]:
    return load_benchmark("bench_caption_cost").measure(images=256, beam=3, threads=1)


def render(data: dict[str, Any]) -> str:
    return (f"Encode cost of `flower-caption` (`benchmarks/bench_caption_cost.py`: {data['images']} synth-flowers at "
            f"{data['resolution']} px in one batch, beam {data['beam']}, {data['threads']} thread, {data['cores']} "
            f"shared cores, load average {data['load_average']}):\n\n"
            "| stage | cost |\n|---|---|\n"
            f"| captioning (beam search) | {data['caption_ms_per_image']:.2f} ms per image |\n"
            f"| Sentence-BERT, new caption | {data['sbert_ms_per_new_caption']:.2f} ms per caption "
            f"({data['distinct_captions']} distinct of {data['images']}) |\n"
            f"| Sentence-BERT, caption seen before (per-text cache) | "
            f"{1000 * data['sbert_ms_per_cached_caption']:.1f} us per caption |\n"
            f"| loading Sentence-BERT (imports + model folder), once per process | {data['sbert_load_s']:.1f} s |\n")
