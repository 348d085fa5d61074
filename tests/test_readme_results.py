"""README result blocks are generated: each equals render() of its committed results/data JSON."""
import importlib.util
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _build():
    spec = importlib.util.spec_from_file_location("results_build", ROOT / "results" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _build()
README = (ROOT / "README.md").read_text()
NAMES = re.findall(r"<!-- results:([a-z0-9_]+) -->", README)


def test_readme_has_generated_blocks_with_closing_markers():
    assert NAMES, "the README holds no generated results block"
    assert len(NAMES) == len(set(NAMES)), "a results section appears twice in the README"
    for name in NAMES:
        assert f"<!-- /results:{name} -->" in README, f"results block {name!r} is not closed"


#: (markdown file, section) for every block in the README and in the plugin READMEs / docs
BLOCKS = [(str(path.relative_to(ROOT)), name) for path in build.doc_files()
          for name in re.findall(r"<!-- results:([a-z0-9_]+) -->", path.read_text())]


@pytest.mark.parametrize("doc, name", BLOCKS)
def test_block_matches_its_committed_results(doc, name):
    assert (ROOT / "results" / "sections" / f"{name}.py").is_file(), f"no module for results section {name!r}"
    assert (ROOT / "results" / "data" / f"{name}.json").is_file(), f"no committed data for results section {name!r}"
    text = (ROOT / doc).read_text()
    assert f"<!-- /results:{name} -->" in text, f"results block {name!r} in {doc} is not closed"
    block = re.search(rf"<!-- results:{name} -->\n(.*?)<!-- /results:{name} -->", text, re.S).group(1)
    assert block == build.rendered_block(name), (
        f"{doc} block {name!r} differs from results/data/{name}.json; run: python results/build.py render")


def test_render_detects_hand_edits(tmp_path):
    """The check above can fail: a typed-in number is not what render() produces."""
    name = NAMES[0]
    good = f"<!-- results:{name} -->\n{build.rendered_block(name)}<!-- /results:{name} -->"
    assert build.render_readme(good) == good
    tampered = good.replace("0.", "9.", 1)
    assert tampered != good and build.render_readme(tampered) == good


def test_marker_without_section_is_a_clear_error():
    with pytest.raises(SystemExit, match="no section 'no_such_section'"):
        build.render_readme("<!-- results:no_such_section -->\nx\n<!-- /results:no_such_section -->")


# -- generated numbers that are cheap to recompute stay equal to their source (no stale counts or scores) --

def committed(name: str) -> dict:
    return json.loads((ROOT / "results" / "data" / f"{name}.json").read_text())["data"]


def test_hostile_corpus_count_is_the_corpus_the_test_runs():
    from hostile_weights import all_cases

    data = committed("hostile_corpus")
    assert data["cases"] == len(all_cases()) == sum(data["per_loader"].values()), (
        "the corpus changed; run: make results SECTIONS=hostile_corpus")
    assert f"{len(all_cases())} files" in build.rendered_block("hostile_corpus")


def test_shipped_encoder_scores_are_the_ones_recorded_with_the_weights():
    section = build.load_section("shipped_encoders")
    assert committed("shipped_encoders")["recorded"] == section.recorded(), (
        "shipped weights or their held-out reports changed; run: make results SECTIONS=shipped_encoders")


def test_shipped_encoders_render_goals_strictly_and_any_per_kind_report():
    section = build.load_section("shipped_encoders")
    data = committed("shipped_encoders")
    caption = data["recorded"]["flower-caption"]["held_out"]
    caption["named_attribute_accuracy"] = 0.899
    caption["per_attribute"] = {"petal_color": 0.5}
    caption["two_tone"] = {"renders": 76, "captioned_as_that_mix": 0.25}
    data["recorded"]["face-attributes"]["held_out"]["heldout_mae"] = 0.0501
    text = section.render(data)
    face_row = next(line for line in text.splitlines() if "`face-attributes`" in line)
    caption_row = next(line for line in text.splitlines() if "`flower-caption`" in line)
    assert "0.050" in face_row and face_row.endswith("**missed** |")     # 0.0501 > 0.05 even if it prints as 0.050
    assert "89.9 %" in caption_row and caption_row.endswith("**missed** |")
    assert "petal color 50.0 %" in caption_row and "two tone: renders 76, captioned as that mix 0.25" in caption_row


def test_missing_held_out_report_is_a_clear_error(tmp_path, monkeypatch):
    section = build.load_section("shipped_encoders")
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"x")
    weights.with_suffix(".json").write_text("{}")
    monkeypatch.setattr(section, "ROOT", tmp_path)
    with pytest.raises(SystemExit, match="records no held-out report"):
        section._record("w.safetensors")


def test_synthetic_worlds_target_is_judged_on_the_wall_clock_rate():
    section = build.load_section("synthetic_worlds")
    speed = {"threads": 1, "resolution": 64, "batch": 256, "cores": 2, "load_average_after": 9.0,
             "faces": {"per_s": 900.0, "per_cpu_s": 3000.0}, "flowers": {"per_s": 2000.0, "per_cpu_s": 4000.0}}
    data = {"speed": [speed], "animeface": {"missing": "No module named 'animeface'; pip install animeface"}}
    text = section.render(data)
    assert "**missed**" in text and "not measured (No module named 'animeface'" in text
    speed["faces"]["per_s"] = 1000.0
    assert "wall clock: met" in section.render(data)


def test_synth_flowers_world_shares_are_the_world_the_code_samples(tmp_path):
    section = build.load_section("synth_flowers_world")
    assert committed("synth_flowers_world") == section.run(tmp_path), (
        "synth-flowers changed; run: make results SECTIONS=synth_flowers_world")


def test_sgf_solver_table_judges_each_speed_up_against_its_target():
    bench = build.load_section("sgf_solver").load_benchmark("bench_sgf")
    import torch

    data = bench.measure_step(torch.device("cpu"), repeats=1, batch=2, dim=8, cond=3, mapping="paper")
    assert data["mapping"] == "paper" and all(t > 0 for t in data["seconds"].values())
    assert data["speedup"]["dense_solve"] == data["seconds"]["dense_solve"] / data["seconds"]["batched_jvp"]
    data["seconds"] = {"batched_jvp": 0.1, "per_sample_loop": 0.95, "dense_solve": 2.5}
    data["speedup"] = {"per_sample_loop": 9.5, "dense_solve": 25.0}
    rows = bench.step_table(data).splitlines()
    assert rows[3].endswith("9.5x (target >= 10x: **missed**) |") and rows[4].endswith("25.0x (target >= 20x: met) |")


# -- no typed tables of measured numbers outside generated blocks --

#: header words that name a measurement (whole words, lower case)
MEASURED_HEADER_WORDS = {"mds", "accuracy", "mae", "r^2", "ms", "s", "seconds", "speed-up", "speedup", "edits/s",
                         "success", "leak", "cosine", "score", "scores", "error", "px", "faces/s", "images/s"}
NUMBER_CELL = re.compile(r"[~+-]?(\d+(\.\d*)?|\.\d+)\s*(%|x|ms|s|px)?(\s*\(.*\))?")
DECIMAL_CELL = re.compile(r"[~+-]?\d*\.\d+\s*(%|x|ms|s|px)?(\s*\(.*\))?")


def measured_tables(text: str) -> list[tuple[int, str]]:
    """(line number, header row) of each markdown table outside ``<!-- results:... -->`` blocks that reports
    measured values: its header names a measurement and a body cell is a number (optionally with a unit and a
    note), or, without a ``default`` column (settings tables), two or more body cells are decimal numbers."""
    outside = build.BLOCK.sub(lambda m: "\n" * m.group(0).count("\n"), text)   # keep line numbers
    lines = outside.splitlines()
    found, i = [], 0
    while i < len(lines):
        if not lines[i].lstrip().startswith("|"):
            i += 1
            continue
        start = i
        while i < len(lines) and lines[i].lstrip().startswith("|"):
            i += 1
        header, body = lines[start], lines[start + 2:i]
        words = set(re.findall(r"[a-z0-9^/\-]+", header.lower().replace("`", "")))
        cells = [c.strip().strip("*") for row in body for c in row.strip().strip("|").split("|")]
        named = bool(words & MEASURED_HEADER_WORDS) and any(NUMBER_CELL.fullmatch(c) for c in cells)
        decimals = "default" not in words and sum(bool(DECIMAL_CELL.fullmatch(c)) for c in cells) >= 2
        if named or decimals:
            found.append((start + 1, header.strip()))
    return found


@pytest.mark.parametrize("doc", [str(p.relative_to(ROOT)) for p in build.all_doc_files()])
def test_no_typed_table_of_measurements(doc):
    typed = measured_tables((ROOT / doc).read_text())
    assert not typed, (f"{doc} holds a typed table of measured numbers outside a generated block "
                       f"(line {typed[0][0]}: {typed[0][1]}); generate it from a results section "
                       "(results/build.py) or remove the numbers")


def test_typed_table_check_flags_measurements_and_spares_other_tables():
    typed = "| method | bald | overall |\n|---|---|---|\n| SGF | 0.999 | 0.997 |\n"
    one_typed = "| method | bald |\n|---|---|\n| SGF | 0.999 |\n"
    mds = "| MDS, W space | bald | overall |\n|---|---|---|\n| SGF | 0.999 | **0.997** |\n"
    timing = "| solver | seconds | speed-up |\n|---|---|---|\n| dense | 70.8 | 146x (target >= 20x) |\n"
    assert measured_tables("intro\n\n" + mds) == [(3, mds.splitlines()[0])]
    assert measured_tables(timing) == [(1, timing.splitlines()[0])]
    assert measured_tables(f"<!-- results:x -->\n{mds}<!-- /results:x -->\n") == []
    params = ("| param | default | range |\n|---|---|---|\n| `num_ws` | 10 | 8-32 |\n"
              "| `truncation` | 1.0 | 0.5 - 1.0 |\n| `contraction` | 0.5 | < 1 |\n")
    formats = "| format | one unit of `strength` |\n|---|---|\n| `vector` | the vector as it is |\n"
    pending = "| stage | seconds |\n|---|---|\n| fit | - |\n"
    assert measured_tables(params + "\n" + formats + "\n" + pending) == []
    assert measured_tables(typed) == [(1, typed.splitlines()[0])]   # two decimal cells, no default column
    assert measured_tables(one_typed) == []   # one number under a plain header: the check's known blind spot


def test_flowers_f_seed_line_weighs_the_two_seed_ranges_by_their_samples():
    """The F-seed line pools the table's 8 seeds with the 24 more (seeds 0-31) before it compares fits."""
    section = build.load_section("flowers_caption")
    table = {"red": {"success": 1.0, "other_changed": 0.0, "samples": 8}}
    more = {"red": {"success": 0.5, "other_changed": 0.25, "samples": 24}}
    pooled = section._merged(table, more)["red"]
    assert pooled == {"success": 0.625, "other_changed": 0.1875}
    data = {"keep": table, "more_seeds": {"seeds": list(range(8, 32)), "scores": more},
            "f_seeds": {"seeds": list(range(32)), "recipe_seed": 0,
                        "scores": {"1": {"red": {"success": 0.75, "other_changed": 0.0}}}}}
    line = section._f_seeds_line(data)
    assert "seeds 0-31" in line and "seed 0 / 1" in line and "red 0.62 / 0.75" in line, line
    # the recipe's own F comes first, whatever its seed
    data["f_seeds"] = {"seeds": [0, 1, 2, 3, 8, 9], "recipe_seed": 5,
                       "scores": {"1": {"red": {"success": 0.75, "other_changed": 0.0}}}}
    line = section._f_seeds_line(data)
    assert "seeds 0-3, 8-9" in line and "seed 5 / 1" in line and "5 is the recipe's" in line, line


def test_flowers_fit_line_prints_the_main_runs_fit_report():
    """The flowers block shows SGF's fit report (rho, step fidelity) as the faces blocks do; a leak that the
    report leaves undefined (embeddings: every axis targeted) is said so, not printed as a number."""
    section = build.load_section("flowers_caption")
    fit = {"F": "contractive", "layers_F": 15, "train_samples": 9000, "heldout_samples": 1000,
           "reconstruction_r2": 0.6154, "condition_dependence": 0.393, "spectral_radius_median": 0.419,
           "spectral_radius_max": 0.466, "step_scale": 1.0,
           "step_fidelity": {"samples": 500, "step_size": 0.2, "methods": {"SGF": {
               "cosine": 0.341, "gain": 2.77, "leak": None, "unchanged": 0.218, "samples": 500}}}}
    line = section._fit_line(fit)
    assert "R^2 0.62" in line and "median / max 0.42 / 0.47" in line and "cosine 0.34, gain 2.77" in line, line
    assert "leak undefined" in line and "22% of the steps" in line, line
    assert "contractive (15 blocks)" in line, line
    fit["step_fidelity"]["methods"]["SGF"]["leak"] = 0.5
    assert "leak 0.50" in section._fit_line(fit)
    assert "Counted in facts" not in line                      # older data without the smallest-change report
    fit["step_fidelity"]["smallest_change"] = {"methods": {"SGF": {
        "cosine": 0.63, "gain": 1.16, "leak": 0.957, "unchanged": 0.04, "samples": 500, "asked_changed": 0.894,
        "exact": 0.286, "other_aspects": 0.856}}}
    line = section._fit_line(fit)
    assert "the asked fact changed in 89% of the steps, the reading became exactly the target in 29%" in line, line
    assert "0.86 other facts changed per step: leak (other facts changed per asked fact changed) 0.96" in line
    assert line.endswith("Against the goals: missed: cosine 0.630 < 0.8, leak 0.957 > 0.3."), line


def test_running_a_section_writes_its_record_and_says_when_it_is_done(tmp_path, monkeypatch, capsys):
    """A long section prints when it starts and when its data file is written, so a log tells a finished
    run from one still working."""
    sections, data = tmp_path / "sections", tmp_path / "data"
    sections.mkdir()
    (sections / "tiny.py").write_text('TITLE = "a tiny section"\nCOMMAND = "make results SECTIONS=tiny"\n'
                                      'def run(work_dir):\n    return {"answer": 42}\n'
                                      'def render(data):\n    return str(data["answer"])\n')
    monkeypatch.setattr(build, "SECTIONS_DIR", sections)
    monkeypatch.setattr(build, "DATA_DIR", data)
    build.run_sections(["tiny"])
    record = json.loads((data / "tiny.json").read_text())
    assert record["data"] == {"answer": 42} and record["command"] == "make results SECTIONS=tiny"
    out = capsys.readouterr().out
    assert "[results] running tiny: a tiny section" in out
    assert re.search(r"\[results\] tiny done in \d+ s: wrote .*tiny\.json", out), out


def test_fidelity_verdict_judges_both_goals_strictly():
    """The sections' goal column is computed from the fit report, never typed: at the goal's edge a step
    meets it, a hair past it misses, and an undefined leak is said so instead of passing as met on it."""
    section = build.load_section("faces_attributes")   # puts results/sections on the import path
    from _bench import fidelity_verdict

    def report(cosine, leak):
        return {"methods": {"SGF": {"cosine": cosine, "gain": 1.0, "leak": leak}}}
    assert fidelity_verdict(report(0.8, 0.3)) == "met"
    assert fidelity_verdict(report(0.95, 0.301)) == "missed: leak 0.301 > 0.3"
    assert fidelity_verdict(report(0.79, 0.5)) == "missed: cosine 0.790 < 0.8, leak 0.500 > 0.3"
    assert fidelity_verdict(report(0.34, None)) == "missed: cosine 0.340 < 0.8 (leak undefined)"
    assert fidelity_verdict(report(0.9, None)) == "met (leak undefined)"
    assert fidelity_verdict(report(0.9, 0.1), "InterFaceGAN") == "-"
    block = {"attributes": ["smile"], "mds": {"SGF": {"smile": 1.0, "overall": 1.0}},
             "fit": {"F": "contractive", "reconstruction_r2": 0.8, "condition_dependence": 0.4,
                     "spectral_radius_median": 0.4, "spectral_radius_max": 0.5, "step_fidelity": report(0.99, 0.28)}}
    text = section.render({"W": block})
    assert "SGF: goals" in text
    assert "| 0.990 / 1.000 / 0.280 | met |" in text, text   # the verdict sits beside the figures it judges
    block["fit"]["step_fidelity"] = report(0.99, 0.31)
    assert "| missed: leak 0.310 > 0.3 |" in section.render({"W": block})


def test_flowers_prose_quotes_the_recipes_own_sgf_settings():
    """The prose under the flowers block explains settings by quoting them (`patience: 20`); each quoted SGF
    setting must be what recipes/flowers_caption.yaml holds, so a recipe change cannot leave the prose behind."""
    import yaml

    prose = README.split("<!-- /results:flowers_caption -->")[1].split("\n## ")[0]
    quoted = dict(re.findall(r"`([a-z_]+): ([0-9.]+)`", prose))
    sgf = yaml.safe_load((ROOT / "recipes" / "flowers_caption.yaml").read_text())["manipulators"][0]
    named = {key: value for key, value in quoted.items() if key in sgf}
    assert {"patience", "tolerance", "plateau_growth", "train_steps"} <= set(named), quoted
    assert {key: float(value) for key, value in named.items()} == {key: float(sgf[key]) for key in named}


def test_random_caption_line_says_what_the_captioner_leaves_unread_only_when_it_does():
    section = build.load_section("flowers_caption")
    scores = {"random 0": {"success": 1.0, "other_changed": 0.0, "samples": 8, "per_fact": {"petal_color": 1.0}},
              "random 1": {"success": 0.5, "other_changed": 0.25, "samples": 8,
                           "per_fact": {"petal_color": 1.0, "petal_count": 0.5}}}
    data = {"random": {"scores": scores, "captions": ["red petals", "7 red petals"],
                       "read_facts": ["petal_color", "petal_count"]}}
    every_fact_read = section._random_table(data).splitlines()[0]
    assert every_fact_read.endswith("The captioner names color, count."), every_fact_read
    data["random"]["read_facts"] = ["petal_color"]
    one_unread = section._random_table(data).splitlines()[0]
    assert "never count: a target that asks for those has nothing to follow there" in one_unread, one_unread
    assert one_unread.endswith("the 1 captions that name only what it reads: success 1.00, other facts changed 0.00.")


def test_random_caption_line_splits_failures_into_the_readers_and_the_paths():
    section = build.load_section("flowers_caption")
    scores = {"random 0": {"success": 0.75, "other_changed": 0.0, "samples": 8, "per_fact": {"petal_color": 0.75},
                           "reader_wrong": 0.25},
              "random 1": {"success": 0.5, "other_changed": 0.0, "samples": 8, "per_fact": {"petal_count": 0.5},
                           "reader_wrong": 0.125}}
    data = {"random": {"scores": scores, "captions": ["red petals", "7 petals"], "read_facts": [],
                       "reader_accuracy": {"random 0": 0.9, "random 1": 0.8}, "reader_renders": 64}}
    table = section._random_table(data)
    first = table.splitlines()[0]
    # failures 0.375 on average, 0.1875 of them the reader's (converged, truth false), the rest the path's
    assert "Failed: 0.38 of the edits, 0.19 of them stopped as converged" in first, first
    assert "the other 0.19 never reached the target" in first, first
    assert "on 64 fresh flowers its reading of the facts a caption names is all true in 0.85 of them" in first, first
    assert '| "red petals" | 0.75 | color 0.75 | 0.00 | 0.25 | 0.90 | - |' in table, table


@pytest.mark.slow
def test_reader_accuracy_scores_the_captioners_reading_of_the_named_facts_against_the_truth(monkeypatch):
    """On fresh flowers the shipped captioner reads a one-fact caption's fact right far more often than a
    seven-fact caption's facts all at once, and never above 1."""
    import yaml

    section = build.load_section("flowers_caption")
    monkeypatch.setattr(section, "READER_RENDERS", 48)
    recipe = yaml.safe_load((ROOT / "recipes" / "flowers_caption.yaml").read_text())
    one = "this flower has a green background"
    seven = "this flower has seven large pointed red petals and a small yellow center on a dark background"
    accuracy = section._reader_accuracy(recipe, [one, seven])
    assert accuracy["random 0"] > 0.85          # background: 100 % at training
    assert 0.0 <= accuracy["random 1"] <= accuracy["random 0"]


def test_more_seeds_line_splits_the_failed_keep_edits_and_stays_silent_without_statuses():
    section = build.load_section("flowers_caption")

    def score(success, wrong, n):
        return {"success": success, "other_changed": 0.0, "samples": n, "reader_wrong": wrong}

    data = {"keep": {"red": score(0.75, 0.25, 8)},
            "more_seeds": {"seeds": [8, 9], "scores": {"red": score(0.5, 0.0, 16)}}}
    line = section._more_seeds_line(data)
    assert line.endswith("Of the 24 keep edits on both seed ranges, 10 fail: 2 stopped as converged (the captioner "
                         "read the target) with a named fact false in the truth, the reader's error; 8 never reached "
                         "the target by the reader."), line
    data["keep"]["red"]["reader_wrong"] = None   # results recorded before the metric split failures
    assert section._more_seeds_line(data).endswith("all targets 0.50 / 0.00."), section._more_seeds_line(data)


def test_random_caption_line_reports_the_other_draws_and_the_pooled_rate():
    section = build.load_section("flowers_caption")

    def score(success, wrong):
        return {"success": success, "other_changed": 0.0, "samples": 8, "per_fact": {"petal_color": success},
                "reader_wrong": wrong}

    other_draw = {"captions": ["blue petals"], "scores": {"random 0": score(0.5, 0.25)},
                  "reader_accuracy": {"random 0": 0.75}}
    data = {"random": {"scores": {"random 0": score(1.0, 0.0)}, "captions": ["red petals"], "read_facts": [],
                       "seed": 7, "more_draws": {"11": other_draw}}}
    first = section._random_table(data).splitlines()[0]
    assert ("Other draws of 1 captions (the table's is grammar seed 7), same seeds: draw 11: success 0.50, other facts "
            "changed 0.00, reader wrong 0.25, reader right on fresh flowers 0.75; all 2 captions: success 0.750 (goal 0.9).") \
        in first, first
