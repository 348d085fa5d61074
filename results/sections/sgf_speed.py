"""SGF speed: fitting F and editing with it, before / after (benchmarks/bench_sgf_fit.py)."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

TITLE = "SGF speed: fitting F and editing with it, paper F vs the contractive F (and its fitting options)"
COMMAND = "make results SECTIONS=sgf_speed"
ROOT = Path(__file__).resolve().parents[2]


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_sgf_fit", ROOT / "benchmarks" / "bench_sgf_fit.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def recipe_train_steps() -> tuple[int, int]:
    """(fewest, most) training steps of F over the SGF manipulators of the recipes on the embedded default
    (``recipes/*.yaml``; 3000 where unset); the real-weight recipes in ``recipes/paper`` train the paper's 500k."""
    import yaml

    from sgfkit_manipulators.declarations import SGFDeclaration

    steps = [int(m.get("train_steps", SGFDeclaration.params["train_steps"].default))
             for path in sorted((ROOT / "recipes").glob("*.yaml"))
             for m in (yaml.safe_load(path.read_text()) or {}).get("manipulators") or []
             if isinstance(m, dict) and m.get("type") == "sgf"]
    return min(steps), max(steps)


def run(work_dir: Path) -> dict[str, Any]:
    return _bench().measure(samples=4096, train_steps=1500, edit_batch=32, max_steps=20, compile_model=True)


def render(data: dict[str, Any]) -> str:
    bench = _bench()
    text = (f"`benchmarks/bench_sgf_fit.py`: {data['samples']} synth-faces W samples measured by `{data['encoder']}`, "
            f"F trained {data['train_steps']} steps (batch 256) on 90 % of them, one thread, {data['cores']} shared "
            f"cores (load average {data['load_average']} at the end); edits flip smile on a batch of "
            f"{data['edit_batch']} (adaptive SGF at most {data['max_steps']} steps). Ratios against "
            f"`{data['baseline']}`; step cosine / leak are the fit report's one-step fidelity (learned encoder). "
            "The contractive rows do the same arithmetic per training step, so their time differences are the "
            "machine's load, not the options.\n\n")
    text += bench.table(data)
    k = data.get("compile")
    if k:
        saved_per_step = (k["eager_s"] - k["compiled_s"]) / k["steps"]
        breakeven = (f"it pays back after about {k['compile_first_step_s'] / saved_per_step:.0f} training steps"
                     if saved_per_step > 0 else "it never pays back")
        text += (f"\n`torch.compile` of F's training forward ({k['steps']} steps): eager {k['eager_s']:.1f} s, "
                 f"compiled {k['compiled_s']:.1f} s ({k['eager_s'] / k['compiled_s']:.2f}x) after a first compiled "
                 f"step of {k['compile_first_step_s']:.1f} s: {breakeven} (the recipes on the embedded default "
                 "train F for {}-{} steps). F trains eager by default.\n".format(*recipe_train_steps()))
    return text
