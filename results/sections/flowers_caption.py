"""Flowers-Caption (the main job): caption edits scored fact by fact, `keep` targets beside plain ones."""
from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from _bench import FIDELITY_GOALS, fidelity_verdict, fit_entries, mapping_cell

TITLE = "SGF caption edits on synth-flowers (flowers_caption.yaml), keep vs plain targets, scored with the truth"
COMMAND = "make results SECTIONS=flowers_caption"
ROOT = Path(__file__).resolve().parents[2]
RECIPE = "recipes/flowers_caption.yaml"
GRID = "docs/images/flowers_caption_edits.png"


def _without_keep(recipe: dict[str, Any]) -> dict[str, Any]:
    """The same recipe with every ``keep: true`` dropped: one shared target sentence per caption."""
    for target in recipe["edits"]["targets"]:
        target["target"].pop("keep", None)
    return recipe


def _scores(result: Any) -> dict[str, Any]:
    per_target = result.metrics["metrics"]["caption-success"]["per_target"]["SGF"]
    return {label: {k: s[k] for k in ("success", "per_fact", "matched_share", "other_changed", "changed_per_fact",
                                      "reader_wrong", "samples")}
            for label, s in per_target.items()}


#: torch threads of the table's runs: the discrete captions turn float rounding into other outcomes, so the
#: scores depend on it (each count reproduces its own); a second cold run on 1 thread shows how much
THREADS = 2
#: random grammar captions as keep targets (the issue's "any caption the grammar can write")
RANDOM_CAPTIONS, RANDOM_SEED = 12, 7
#: further draws of RANDOM_CAPTIONS captions (grammar seeds), same edit seeds: how much the rate owes to one draw
MORE_DRAWS = [11, 19]
#: seeds beyond the recipe's eight, for how firm the table's rates are (same fit)
MORE_SEEDS = list(range(8, 32))
#: other seeds of F's own initialisation and batches (same samples), for how much the rates owe to one fit
F_SEEDS = [1, 2]


def _random_captions(seed: int = RANDOM_SEED) -> list[str]:
    """RANDOM_CAPTIONS captions of random facts in random wording, as the grammar writes them (draw ``seed``)."""
    import random

    from sgfkit_synthetic.captions import random_caption

    rng = random.Random(seed)
    return [random_caption(rng) for _ in range(RANDOM_CAPTIONS)]


#: fresh flowers on which the captioner's own accuracy on each random caption's facts is measured
READER_RENDERS, READER_SEED = 512, 2027


def _reader_accuracy(recipe: dict[str, Any], texts: list[str]) -> dict[str, float]:
    """Per caption, the share of READER_RENDERS fresh flowers (the recipe's generator) whose captioner reading
    (the recipe's encoder) gives every fact the caption names a value that holds in the truth: how often the
    reader is right about those facts on flowers no edit has touched."""
    import torch

    import sgfkit
    from sgfkit.latents import Latents
    from sgfkit_synthetic.captions import fact_holds, parse_caption

    gen_spec, enc_spec = dict(recipe["generator"]), dict(recipe["encoder"])
    generator = sgfkit.get_generator(gen_spec.pop("type"), **gen_spec)
    encoder = sgfkit.get_condition_encoder(enc_spec.pop("type"), **enc_spec)
    z = torch.randn(READER_RENDERS, generator.z_dim, generator=torch.Generator().manual_seed(READER_SEED))
    with torch.no_grad():
        ws = generator.ws_of(Latents(z, "z"))
        truth = generator.facts(generator.scene(ws))
        readings = [parse_caption(t) for t in encoder.captions(generator.synthesize(Latents(ws, "w+")))]
    out = {}
    for i, text in enumerate(texts):
        named = parse_caption(text)
        right = [all(key in read and fact_holds(facts, key, read[key]) for key in named)
                 for read, facts in zip(readings, truth)]
        out[f"random {i}"] = sum(right) / len(right)
    return out


def _with_random_targets(recipe: dict[str, Any], texts: list[str], layers: str | None) -> dict[str, Any]:
    """The recipe's method and seeds with the random captions as keep targets (``layers``: auto, or None = all)."""
    recipe["edits"]["targets"] = [{"target": {"caption": t, "keep": True}, "layers": layers, "label": f"random {i}"}
                                  for i, t in enumerate(texts)]
    return recipe


CAPTIONER_JSON = "plugins/sgfkit_caption/weights/flower_captioner.json"


def _read_facts() -> list[str]:
    """The facts the shipped captioner was trained to name (its weights' recorded training options)."""
    import json

    return sorted(json.loads((ROOT / CAPTIONER_JSON).read_text())["options"]["caption_facts"])


def _overall(scores: dict[str, Any]) -> dict[str, float]:
    """Means over the targets (equal samples each); ``reader_wrong`` too when every target has it."""
    n = len(scores)
    out = {"success": sum(s["success"] for s in scores.values()) / n,
           "other_changed": sum(s["other_changed"] for s in scores.values()) / n}
    if all(s.get("reader_wrong") is not None for s in scores.values()):
        out["reader_wrong"] = sum(s["reader_wrong"] for s in scores.values()) / n
    return out


def _mean(values: dict[str, float]) -> float:
    return sum(values.values()) / len(values)


def run(work_dir: Path) -> dict[str, Any]:
    """Run the main recipe (keep targets) cold and warm, its plain-target twin and random grammar captions on
    the warm cache, and the same recipe with the captions embedded as written (its own fit)."""
    import yaml

    import sgfkit

    cache = work_dir / "cache"
    overrides = [f"output.cache_dir={cache}", f"threads={THREADS}"]
    timings = {}
    for phase in ("cold", "warm"):
        start = time.perf_counter()
        keep = sgfkit.run(ROOT / RECIPE, out_dir=work_dir / "runs", overrides=overrides)
        timings[phase] = round(time.perf_counter() - start, 1)
    shutil.copyfile(keep.run_dir / "edits.png", ROOT / GRID)
    more = sgfkit.run(ROOT / RECIPE, out_dir=work_dir / "runs", overrides=overrides + [f"edits.seeds={MORE_SEEDS}"])
    plain_recipe = _without_keep(yaml.safe_load((ROOT / RECIPE).read_text()))
    plain = sgfkit.run(plain_recipe, out_dir=work_dir / "runs", overrides=overrides)
    captions = {t["label"]: t["target"]["caption"] for t in plain_recipe["edits"]["targets"]}
    texts = _random_captions()
    random_runs = {layers or "all": sgfkit.run(_with_random_targets(yaml.safe_load((ROOT / RECIPE).read_text()),
                                                                     texts, layers),
                                               out_dir=work_dir / "runs", overrides=overrides)
                   for layers in ("auto", None)}
    recipe = yaml.safe_load((ROOT / RECIPE).read_text())
    draws = {}
    for seed in MORE_DRAWS:
        drawn = _random_captions(seed)
        drawn_run = sgfkit.run(_with_random_targets(yaml.safe_load((ROOT / RECIPE).read_text()), drawn, "auto"),
                               out_dir=work_dir / "runs", overrides=overrides)
        draws[seed] = {"captions": drawn, "scores": _scores(drawn_run),
                       "reader_accuracy": _reader_accuracy(recipe, drawn)}
    captioned = sgfkit.run(ROOT / RECIPE, out_dir=work_dir / "runs",
                           overrides=overrides + ["encoder.phrasing=captioned"])
    one_thread = sgfkit.run(ROOT / RECIPE, out_dir=work_dir / "runs",
                            overrides=[f"output.cache_dir={work_dir / 'cache_1_thread'}", "threads=1"])
    # the table's seeds and F's seed as the run resolved them: the other fits run on exactly the pooled seeds
    resolved = yaml.safe_load((keep.run_dir / "recipe.resolved.yaml").read_text())
    pooled = list(resolved["edits"]["seeds"]) + MORE_SEEDS
    recipe_f_seed = int(resolved["manipulators"][0]["seed"])
    f_seeds = {"seeds": pooled, "recipe_seed": recipe_f_seed,
               "scores": {seed: _scores(sgfkit.run(ROOT / RECIPE, out_dir=work_dir / "runs",
                                                   overrides=overrides + [f"edits.seeds={pooled}",
                                                                          f"manipulators.0.seed={seed}"]))
                          for seed in F_SEEDS if seed != recipe_f_seed}}
    return {"recipe": RECIPE, "grid": GRID, "seconds": timings, "captions": captions, "threads": THREADS,
            "keep": _scores(keep), "plain": _scores(plain), "captioned": _scores(captioned),
            "more_seeds": {"seeds": MORE_SEEDS, "scores": _scores(more)},
            "random": {"captions": texts, "scores": _scores(random_runs["auto"]),
                       "reader_accuracy": _reader_accuracy(recipe, texts), "reader_renders": READER_RENDERS,
                       "seed": RANDOM_SEED, "more_draws": draws,
                       "scores_all_layers": _scores(random_runs["all"]), "read_facts": _read_facts()},
            "one_thread": _scores(one_thread), "f_seeds": f_seeds, "fit": fit_entries(keep.metrics["fit"]["SGF"], FIT_KEYS)}


#: the fit-report entries the README's fit line prints (see sgf_training.diagnose)
FIT_KEYS = ("F", "layers_F", "train_samples", "heldout_samples", "reconstruction_r2", "condition_dependence",
            "spectral_radius_median", "spectral_radius_max", "step_scale", "step_fidelity")


def _short(key: str) -> str:
    return key.replace('petal_', '').replace('_', ' ')


def _facts_cell(score: dict[str, Any]) -> str:
    return ", ".join(f"{_short(k)} {v:.2f}" for k, v in score["per_fact"].items())


def _changed_cell(score: dict[str, Any]) -> str:
    """The unnamed facts that changed, each with the share of edits it changed in (largest first)."""
    changed = sorted(((v, k) for k, v in score.get("changed_per_fact", {}).items() if v > 0), reverse=True)
    return ", ".join(f"{_short(k)} {v:.2f}" for v, k in changed) or "none"


def render(data: dict[str, Any]) -> str:
    keep, plain = data["keep"], data["plain"]
    n = next(iter(keep.values()))["samples"]
    lines = [f"![flowers-caption edits]({data['grid']})", "",
             f"Main job: {data['seconds']['cold']:.0f} s cold, {data['seconds']['warm']:.0f} s warm (this machine, "
             f"`{data['recipe']}`). Scored with the truth (`caption-success`, {n} seeds per target); a target is met "
             "when every fact it names holds (a colour list only for a visible mix). *keep* targets aim at each "
             "source's own caption with only the named facts replaced; *plain* targets at the sentence alone.", "",
             "| target | caption | keep: success | keep: per fact | keep: other facts changed | keep: which | "
             "plain: success | plain: per fact | plain: other facts changed |",
             "|---|---|---|---|---|---|---|---|---|"]
    for label, k in keep.items():
        p = plain.get(label, {})
        lines.append(f"| {label} | \"{data['captions'].get(label, '')}\" | {k['success']:.2f} | {_facts_cell(k)} | "
                     f"{k['other_changed']:.2f} | {_changed_cell(k)} | "
                     + (f"{p['success']:.2f} | {_facts_cell(p)} | {p['other_changed']:.2f} |" if p else "- | - | - |"))
    if "more_seeds" in data:
        lines += ["", _more_seeds_line(data)]
    if "one_thread" in data:
        lines += ["", _threads_line(data)]
    if "f_seeds" in data:
        lines += ["", _f_seeds_line(data)]
    if "fit" in data:
        lines += ["", _fit_line(data["fit"])]
    if "captioned" in data:
        lines += ["", _phrasing_table(data)]
    if "random" in data:
        lines += ["", _random_table(data)]
    return "\n".join(lines) + "\n"


def _more_seeds_line(data: dict[str, Any]) -> str:
    """The keep targets on more seeds than the table's eight (same fit)."""
    seeds, scores = data["more_seeds"]["seeds"], data["more_seeds"]["scores"]
    overall = _overall(scores)
    return (f"On {len(seeds)} more seeds ({seeds[0]}-{seeds[-1]}, same fit), keep targets, success / other facts "
            "changed: " + ", ".join(f"{label} {s['success']:.2f} / {s['other_changed']:.2f}"
                                    for label, s in scores.items())
            + f"; all targets {overall['success']:.2f} / {overall['other_changed']:.2f}." + _failure_split(data))


def _failure_split(data: dict[str, Any]) -> str:
    """Over the table's seeds and the more seeds (same fit), the failed keep edits split into the reader's
    (stopped as converged, a named fact false in the truth) and the path's (never reached the target)."""
    runs = [data["keep"], data["more_seeds"]["scores"]]
    if any(s.get("reader_wrong") is None for run in runs for s in run.values()):
        return ""
    samples = sum(s["samples"] for run in runs for s in run.values())
    failed = sum((1 - s["success"]) * s["samples"] for run in runs for s in run.values())
    wrong = sum(s["reader_wrong"] * s["samples"] for run in runs for s in run.values())
    return (f" Of the {samples} keep edits on both seed ranges, {failed:.0f} fail: {wrong:.0f} stopped as converged "
            f"(the captioner read the target) with a named fact false in the truth, the reader's error; "
            f"{failed - wrong:.0f} never reached the target by the reader.")


def _merged(first: dict[str, Any], second: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per target, success / other facts changed over the samples of two runs of the same targets."""
    out = {}
    for label, a in first.items():
        b = second[label]
        n, m = a["samples"], b["samples"]
        out[label] = {key: (a[key] * n + b[key] * m) / (n + m) for key in ("success", "other_changed")}
    return out


def _fit_line(fit: dict[str, Any]) -> str:
    """SGF's fit report of the main run in one paragraph (step fidelity against the goals of the faces block)."""
    fid = fit["step_fidelity"]
    sgf = fid["methods"]["SGF"]
    leak = ("leak undefined (every embedding axis is a targeted condition)" if sgf["leak"] is None
            else f"leak {sgf['leak']:.2f}")
    return (f"SGF's fit report (the main run, {fit['heldout_samples']} held-out samples): F {mapping_cell(fit)}, "
            f"fitted on {fit['train_samples']} samples, held-out R^2 "
            f"{fit['reconstruction_r2']:.2f}, condition dependence {fit['condition_dependence']:.2f}, rho(dF/dz) "
            f"median / max {fit['spectral_radius_median']:.2f} / {fit['spectral_radius_max']:.2f}, step scale "
            f"{fit['step_scale']:.2f}. One step {fid['step_size']:g} of the way towards another held-out flower's "
            f"caption embedding ({sgf['samples']} samples, medians): cosine {sgf['cosine']:.2f}, gain "
            f"{sgf['gain']:.2f}, {leak}; {sgf['unchanged']:.0%} of the steps left the caption as it was. Against the "
            f"step-fidelity goals ({FIDELITY_GOALS}): {fidelity_verdict(fit['step_fidelity'])}. A step changes a "
            "discrete caption by whole facts or not at all, and the edits re-measure after every step."
            + _smallest_change_sentence(fid))


def _smallest_change_sentence(fid: dict[str, Any]) -> str:
    """The fit report's one step the whole way to a one-fact change, counted in facts (absent in older data)."""
    smallest = fid.get("smallest_change")
    if not smallest:
        return ""
    sgf = smallest["methods"]["SGF"]
    leak = "-" if sgf["leak"] is None else f"{sgf['leak']:.2f}"
    return (" Counted in facts, the smallest change a caption can say: one step the whole way to the reading with "
            "one fact replaced by another value (a random fact and value per sample, as a keep target; same samples): "
            f"cosine {sgf['cosine']:.2f}, gain {sgf['gain']:.2f}; the asked fact changed in {sgf['asked_changed']:.0%} "
            f"of the steps, the reading became exactly the target in {sgf['exact']:.0%}, and {sgf['other_aspects']:.2f} "
            f"other facts changed per step: leak (other facts changed per asked fact changed) {leak}. Against the "
            f"goals: {fidelity_verdict(smallest)}.")


def _f_seeds_line(data: dict[str, Any]) -> str:
    """The table's seeds and the more seeds, pooled, with F fitted from other seeds of its own (same samples):
    how much the rates owe to one F. The recipe's own F is the table's run and the more-seeds run together."""
    from sgfkit.report_model import layers_text   # index runs, "0-31"

    info, recipe_seed = data["f_seeds"], data["f_seeds"]["recipe_seed"]
    runs = {recipe_seed: _merged(data["keep"], data["more_seeds"]["scores"])}
    runs.update({int(seed): scores for seed, scores in info["scores"].items()})
    order = [recipe_seed] + sorted(s for s in runs if s != recipe_seed)
    cells = ", ".join(f"{label} " + " / ".join(f"{runs[s][label]['success']:.2f}" for s in order)
                      for label in runs[recipe_seed])
    overall = " / ".join(f"{_overall(runs[s])['success']:.2f}" for s in order)
    changed = " / ".join(f"{_overall(runs[s])['other_changed']:.2f}" for s in order)
    return (f"How much the rates owe to one fit of F: seeds {layers_text(info['seeds'])}, keep targets, F fitted "
            f"from its own seed {' / '.join(str(s) for s in order)} on the same samples (`manipulators.0.seed`; "
            f"{recipe_seed} is the recipe's), success: {cells}; all targets {overall} (other facts changed {changed}).")


def _threads_line(data: dict[str, Any]) -> str:
    """The same recipe cold on 1 torch thread: how far float rounding moves the 8-seed scores."""
    one, a = data["one_thread"], _overall(data["one_thread"])
    b = _overall(data["keep"])
    return (f"These runs used {data['threads']} torch threads. The discrete captions turn float rounding into other "
            "outcomes, so the same recipe cold on 1 thread (`--threads 1`, reproducible in turn) scores, keep "
            "targets, success / other facts changed: "
            + ", ".join(f"{label} {s['success']:.2f} / {s['other_changed']:.2f}" for label, s in one.items())
            + f"; all targets {a['success']:.2f} / {a['other_changed']:.2f} (here {b['success']:.2f} / "
            f"{b['other_changed']:.2f}).")


def _phrasing_table(data: dict[str, Any]) -> str:
    """keep targets with the recipe's canonical phrasing beside the captions embedded as written."""
    keep, captioned = data["keep"], data["captioned"]
    rows = ["Why `phrasing: canonical`: the same recipe with the captions embedded as the captioner wrote them "
            "(`encoder.phrasing=captioned`, its own fit of F), keep targets, success / other facts changed:", "",
            "| target | canonical (the recipe) | captioned |", "|---|---|---|"]
    for label, k in keep.items():
        c = captioned.get(label)
        rows.append(f"| {label} | {k['success']:.2f} / {k['other_changed']:.2f} | "
                    + (f"{c['success']:.2f} / {c['other_changed']:.2f} |" if c else "- |"))
    a, b = _overall(keep), _overall(captioned)
    rows.append(f"| **all** | {a['success']:.2f} / {a['other_changed']:.2f} | "
                f"{b['success']:.2f} / {b['other_changed']:.2f} |")
    return "\n".join(rows)


def _random_table(data: dict[str, Any]) -> str:
    """Random grammar captions (random facts, random wording) as keep targets on the recipe's seeds, with
    ``layers: auto`` (the recipe's choice) beside all layers."""
    random = data["random"]
    scores, texts, every = random["scores"], random["captions"], random.get("scores_all_layers", {})
    n = next(iter(scores.values()))["samples"]
    per_kind: dict[str, list[float]] = {}
    for score in scores.values():
        for kind, rate in score["per_fact"].items():
            per_kind.setdefault(kind, []).append(rate)
    overall = _overall(scores)
    read = set(random.get("read_facts", []))
    readable = {label: s for label, s in scores.items() if read and set(s["per_fact"]) <= read}
    rows = [f"Any caption the grammar can write: {len(texts)} random grammar captions (random facts in random "
            f"wording) as keep targets with `layers: auto`, {n} seeds each: success {overall['success']:.2f}, "
            f"other facts changed {overall['other_changed']:.2f}"
            + (f" (all layers: {_overall(every)['success']:.2f} / {_overall(every)['other_changed']:.2f})"
               if every else "")
            + "; per fact kind: "
            + ", ".join(f"{_short(k)} {sum(v) / len(v):.2f}" for k, v in sorted(per_kind.items())) + "."]
    if read:
        unread = sorted({k for s in scores.values() for k in s["per_fact"]} - read)
        rows[0] += (f" The captioner names {', '.join(_short(k) for k in sorted(read))}"
                    + (f", never {' or '.join(_short(k) for k in unread)}: a target that asks for those has nothing "
                       "to follow there" if unread else "")
                    + (f"; the {len(readable)} captions that name only what it reads: success "
                       f"{_overall(readable)['success']:.2f}, other facts changed "
                       f"{_overall(readable)['other_changed']:.2f}." if readable and unread else "."))
    accuracy = random.get("reader_accuracy")
    if accuracy:
        rows[0] += " " + _reader_sentence(scores, accuracy, random["reader_renders"])
    if random.get("more_draws"):
        rows[0] += " " + _more_draws_sentence(random)
    rows += ["", "| caption | success | per fact | other facts changed | reader wrong | reader right on fresh flowers "
             "| all layers: success / other facts changed |", "|---|---|---|---|---|---|---|"]
    for i, text in enumerate(texts):
        s, a = scores[f"random {i}"], every.get(f"random {i}")
        wrong = "-" if s.get("reader_wrong") is None else f"{s['reader_wrong']:.2f}"
        right = f"{accuracy[f'random {i}']:.2f}" if accuracy else "-"
        every_cell = f"{a['success']:.2f} / {a['other_changed']:.2f}" if a else "-"
        rows.append(f"| \"{text}\" | {s['success']:.2f} | {_facts_cell(s)} | {s['other_changed']:.2f} | {wrong} | "
                    f"{right} | {every_cell} |")
    return "\n".join(rows)


def _more_draws_sentence(random: dict[str, Any]) -> str:
    """The same measure on other draws of captions (same seeds): how much one draw says."""
    cells = []
    for seed, draw in random["more_draws"].items():
        overall = _overall(draw["scores"])
        cells.append(f"draw {seed}: success {overall['success']:.2f}, other facts changed "
                     f"{overall['other_changed']:.2f}, reader wrong {overall['reader_wrong']:.2f}, "
                     f"reader right on fresh flowers {_mean(draw['reader_accuracy']):.2f}")
    pooled = [s for draw in [random["scores"], *(d["scores"] for d in random["more_draws"].values())]
              for s in draw.values()]
    rate = sum(s["success"] for s in pooled) / len(pooled)
    return (f"Other draws of {len(random['captions'])} captions (the table's is grammar seed {random['seed']}), same "
            f"seeds: " + "; ".join(cells) + f"; all {len(pooled)} captions: success {rate:.3f} (goal 0.9).")


def _reader_sentence(scores: dict[str, Any], accuracy: dict[str, float], renders: int) -> str:
    """Where the random-caption edits fail: the reader's error (converged, truth false) or the path's."""
    overall = _overall(scores)
    failed, wrong = 1 - overall["success"], overall["reader_wrong"]
    return (f"Failed: {failed:.2f} of the edits, {wrong:.2f} of them stopped as converged (the captioner read the "
            "target) while the truth says a named fact is false: the reader's error, which no better path fixes; "
            f"the other {failed - wrong:.2f} never reached the target by the reader either. The captioner's own "
            f"accuracy on unedited flowers sets the scale: on {renders} fresh flowers its reading of the facts a "
            f"caption names is all true in {_mean(accuracy):.2f} of them (mean over the "
            "captions; per caption in the table).")
