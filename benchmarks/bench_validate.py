"""``sgfkit validate`` time: checking recipes through the torch-free declarations (now) against checking
them with every component class imported first (what validation did before declarations), side by side.

Each measurement is a fresh ``python -m sgfkit validate`` process, so interpreter start and imports
count, as a user sees them. The "classes" variant sets ``SGFKIT_BENCH_IMPORT_CLASSES=1``, which makes
this script's wrapper resolve every component class the recipe names before validating (the work the
old validator did, because it read params off the classes).

Usage: .venv/bin/python benchmarks/bench_validate.py [--repeats 3] [recipes ...]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RECIPES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "recipes").glob("*.yaml"))

#: validate, optionally after importing every component class the recipes name (the old cost)
WRAPPER = r"""
import os, sys
if os.environ.get("SGFKIT_BENCH_IMPORT_CLASSES") == "1":
    from sgfkit import api
    from sgfkit.registry import get_registry
    for path in sys.argv[1:]:
        recipe = api.load_recipe(path)
        for declared in recipe.classes.values():
            get_registry().resolve(declared.kind, declared.registry_name)
from sgfkit.cli import main
sys.argv = ["sgfkit", "validate", *sys.argv[1:]]
main()
"""


def time_validate(recipes: list[str], import_classes: bool) -> float:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "SGFKIT_BENCH_IMPORT_CLASSES": "1" if import_classes else "0"}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", WRAPPER, *recipes], env=env, cwd=ROOT, check=True,
                   capture_output=True, text=True, timeout=300)
    return time.perf_counter() - start


def measure(recipes: list[str] | None = None, repeats: int = 3) -> dict:
    """Median wall seconds of one ``sgfkit validate`` call per variant (interleaved), and their ratio."""
    recipes = recipes or DEFAULT_RECIPES
    runs: dict[str, list[float]] = {"declarations": [], "classes": []}
    for _ in range(repeats):
        runs["classes"].append(time_validate(recipes, True))
        runs["declarations"].append(time_validate(recipes, False))
    med = {k: statistics.median(v) for k, v in runs.items()}
    return {"recipes": recipes, "repeats": repeats, "seconds": med, "runs": runs,
            "speedup": med["classes"] / med["declarations"], "load_average": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipes", nargs="*", help="recipes to validate (default: recipes/*.yaml)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the measurement as JSON")
    args = parser.parse_args()
    result = measure(args.recipes or None, args.repeats)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"sgfkit validate {' '.join(result['recipes'])}  (median of {result['repeats']}, "
          f"load average {result['load_average']:.1f})")
    print(f"  component classes imported first (before): {result['seconds']['classes']:.2f} s")
    print(f"  torch-free declarations (now):             {result['seconds']['declarations']:.2f} s")
    print(f"  speed-up: {result['speedup']:.1f}x")


if __name__ == "__main__":
    main()
