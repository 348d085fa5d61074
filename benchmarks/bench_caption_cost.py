"""What measuring an image with `flower-caption` costs: beam-search captioning, Sentence-BERT, and its load.

    python benchmarks/bench_caption_cost.py [--images 256] [--beam 3] [--threads 1]

Renders synth-flowers at 64 px (truncation 0.8) and times, on ``--threads`` torch threads:
1. captioning them with the shipped captioner (beam search, one batch of ``--images``), per image;
2. embedding the distinct captions with Sentence-BERT on an empty cache, per new caption, and the same
   captions again (served from the per-text cache), per caption;
3. loading Sentence-BERT in a fresh Python process (importing sentence-transformers / transformers and
   reading the model folder), which every process that embeds text pays once.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
#: run in a fresh interpreter: the load is only honest when nothing of transformers is imported yet
LOAD_SNIPPET = ("import time; t = time.perf_counter(); "
                "from sgfkit_caption.sentence_encoder import SentenceEmbedder; SentenceEmbedder(); "
                "print(time.perf_counter() - t)")


def sentence_bert_load_s(threads: int) -> float:
    """Seconds to import the sentence encoder and load the packaged model, in a new process."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    paths = [str(ROOT), str(ROOT / "plugins"), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    out = subprocess.run([sys.executable, "-c", LOAD_SNIPPET], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def measure(images: int = 256, beam: int = 3, threads: int = 1, seed: int = 0) -> dict:
    """Milliseconds per image / caption for each stage of `flower-caption`, and the Sentence-BERT load."""
    import torch

    import sgfkit
    from sgfkit_caption.sentence_encoder import SentenceEmbedder

    torch.set_num_threads(threads)
    generator = sgfkit.get_generator("synth-flowers", truncation=0.8)
    batch = generator.synthesize(generator.sample_latents(images, seed=seed))   # [N, 3, 64, 64] in [-1, 1]
    encoder = sgfkit.get_condition_encoder("flower-caption", beam_size=beam, batch_size=images)
    encoder.captions(batch[:8])                       # warm-up: first-call allocations, lazy init
    start = time.perf_counter()
    captions = encoder.captions(batch)
    caption_s = time.perf_counter() - start

    distinct = list(dict.fromkeys(captions))
    embedder = SentenceEmbedder()                     # its own instance: an empty text cache
    embedder.embed(["warm-up sentence"])
    start = time.perf_counter()
    embedder.embed(distinct)
    new_s = time.perf_counter() - start
    start = time.perf_counter()
    embedder.embed(captions)
    cached_s = time.perf_counter() - start
    return {"images": images, "resolution": int(batch.shape[-1]), "beam": beam, "threads": threads,
            "cores": os.cpu_count(), "distinct_captions": len(distinct),
            "caption_ms_per_image": 1000 * caption_s / images,
            "sbert_ms_per_new_caption": 1000 * new_s / len(distinct),
            "sbert_ms_per_cached_caption": 1000 * cached_s / len(captions),
            "sbert_load_s": sentence_bert_load_s(threads),
            "load_average": round(os.getloadavg()[0], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--beam", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    r = measure(args.images, args.beam, args.threads)
    print(f"{r['images']} synth-flowers at {r['resolution']} px, beam {r['beam']}, {r['threads']} thread(s), "
          f"load average {r['load_average']}")
    print(f"captioning          {r['caption_ms_per_image']:8.2f} ms per image")
    print(f"Sentence-BERT, new  {r['sbert_ms_per_new_caption']:8.2f} ms per caption ({r['distinct_captions']} distinct)")
    print(f"Sentence-BERT, seen {r['sbert_ms_per_cached_caption']:8.3f} ms per caption (cache)")
    print(f"Sentence-BERT load  {r['sbert_load_s']:8.1f} s per process")


if __name__ == "__main__":
    main()
