"""The CLI as a daily tool (issue 16): threads, progress when piped, run --json, validate many recipes
with missing weights all listed, weights status and check, fit warnings on cached reruns, Ctrl-C exit 130."""
from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import pytest
from click.testing import CliRunner

from sgfkit.cli import cli

REPO = Path(__file__).resolve().parent.parent
TINY = REPO / "tests" / "fixtures" / "core" / "recipes" / "tiny.yaml"
BAD = TINY.with_name("bad.yaml")


def test_default_threads_leave_busy_cores_alone():
    from sgfkit.errors import SgfkitError
    from sgfkit.threads import choose_threads, default_threads

    assert default_threads(cores=2, load=0.0)[0] == 2
    assert default_threads(cores=2, load=8.0)[0] == 1  # the loaded 2-core machine of the issue
    assert default_threads(cores=4, load=1.0)[0] == 3
    assert "load 8.0" in default_threads(cores=2, load=8.0)[1]
    assert choose_threads(3)["threads"] == 3 and choose_threads(None)["source"] == "auto"
    with pytest.raises(SgfkitError, match="threads must be >= 1"):
        choose_threads(0)


def test_run_json_threads_and_log_file(tiny_plugins, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["run", str(TINY), "--out", "out", "--threads", "1", "--json",
                                      "--log-file", "progress.log", "--set", "evaluation=null"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # stdout is only the JSON
    run_dir = Path(summary["run_dir"])
    assert (run_dir / "report.md").is_file() and summary["warnings"] == []
    assert set(summary["metrics"]) == {"tiny-gain"}
    env = json.loads((run_dir / "environment.json").read_text())
    assert env["threads"]["threads"] == 1 and env["threads"]["source"] == "recipe"
    log = (tmp_path / "progress.log").read_text().splitlines()
    assert log and all(line.startswith("[") and "] " in line for line in log)
    assert any("done in" in line for line in log)


def test_piped_run_prints_progress_lines_and_quiet_does_not(tiny_plugins, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    loud = CliRunner().invoke(cli, ["run", str(TINY), "--out", "out", "--set", "evaluation=null"])
    assert loud.exit_code == 0, loud.output
    assert "started" in loud.stderr and "done in" in loud.stderr
    quiet = CliRunner().invoke(cli, ["run", str(TINY), "--out", "out", "-q", "--set", "evaluation=null"])
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert quiet.stdout.strip().startswith("run folder:") and "report:" not in quiet.stdout


def test_line_reporter_shows_count_rate_and_eta():
    from sgfkit.rich_progress import LineReporter

    now = [0.0]
    buffer = io.StringIO()
    reporter = LineReporter([buffer], interval_s=5.0, clock=lambda: now[0])
    with reporter.task("Fitting F", total=100) as task:
        for _ in range(50):
            now[0] += 0.2  # 5 steps/s
            task.advance()
        task.update(loss=0.5)
    lines = buffer.getvalue().splitlines()
    assert "Fitting F  started (100 steps)" in lines[0]
    progress = [line for line in lines if "ETA" in line]
    assert progress and "25/100" in progress[0] and "5/s" in progress[0] and "ETA 0:00:15" in progress[0]
    assert "50/100" in lines[-1] and "done in 0:00:10" in lines[-1]


def test_validate_takes_many_files_and_reports_each(tiny_plugins):
    result = CliRunner().invoke(cli, ["validate", str(TINY), str(BAD), str(TINY)])
    assert result.exit_code == 1
    assert result.stdout.count(f"{TINY}: OK") == 2
    assert f"{BAD} has" in result.stderr and "1 of 3 recipes have problems" in result.stderr


def test_validate_lists_every_missing_weights_file_with_download_help(no_weight_dirs):
    recipe = REPO / "recipes" / "paper" / "ffhq_attributes.yaml"
    result = CliRunner().invoke(cli, ["validate", str(recipe)])
    assert result.exit_code == 1
    for key, name in (("generator.checkpoint", "stylegan2-ffhq-config-f.pkl"),
                      ("encoder.weights", "senet50_ft_weight.pkl"),
                      ("encoder.head", "ffhq_attribute_head.safetensors")):
        assert f"{key}: weights file '{name}' not found" in result.output
    assert "3 problems" in result.output and "download it from https://" in result.output
    assert "Traceback" not in result.output
    schema = CliRunner().invoke(cli, ["validate", "--schema-only", str(recipe)])
    assert schema.exit_code == 0 and "OK" in schema.output


def test_weights_status_column_and_check(no_weight_dirs, monkeypatch):
    from sgfkit.weights import KnownWeights, sha256_of, weights_status

    tmp_path = no_weight_dirs
    home = tmp_path / "home"
    (home / "weights").mkdir(parents=True)
    (home / "weights" / "senet50_ft_weight.pkl").write_bytes(b"not really")
    rows = {r["file_name"]: r for r in json.loads(CliRunner().invoke(cli, ["weights", "--json"]).output)["weights"]}
    assert rows["senet50_ft_weight.pkl"]["status"] == "present"
    assert rows["stylegan2-ffhq-config-f.pkl"]["status"] == "missing"
    table = CliRunner().invoke(cli, ["weights"]).output
    assert "…" not in table and "present" in table and "missing" in table

    file = home / "weights" / "x.bin"
    file.write_bytes(b"abc")
    good = KnownWeights("c", "x.bin", "d", "https://example.org", "MIT", sha256=sha256_of(file))
    assert weights_status(good, verify_sha256=True)["status"] == "sha256 ok"
    bad = KnownWeights("c", "x.bin", "d", "https://example.org", "MIT", sha256="0" * 64)
    assert weights_status(bad, verify_sha256=True)["status"] == "sha256 MISMATCH"
    assert weights_status(bad)["status"] == "present"  # hashing only when asked
    check = CliRunner().invoke(cli, ["weights", "check", "--json"])
    assert check.exit_code == 0 and "no sha256 published" in check.output


def test_fit_warnings_are_stored_and_shown_on_cached_reruns(tiny_plugins, tmp_path, monkeypatch):
    import sgfkit
    from sgfkit.registry import get_registry

    monkeypatch.chdir(tmp_path)
    cls = get_registry().resolve("manipulator", "tiny-shift")
    original = cls.fit

    def fit_with_warning(self, *args, **kwargs):
        warnings.warn("spectral radius 1.2 > 1", UserWarning)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, "fit", fit_with_warning)
    for attempt in ("fresh", "cached"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = sgfkit.run(TINY, out_dir=tmp_path / "runs", overrides=["evaluation=null"])
        shown = [str(w.message) for w in caught if "spectral radius" in str(w.message)]
        assert shown == ["shift: spectral radius 1.2 > 1", "shift-ridge: spectral radius 1.2 > 1"], attempt
        report = (result.run_dir / "report.md").read_text()
        assert "**Warnings:**\n\n- shift: spectral radius 1.2 > 1" in report
    assert all(result.cache_hits[f"fit:{label}"] for label in ("shift", "shift-ridge"))


def test_ctrl_c_exits_130_without_a_run_folder(tiny_plugins, tmp_path, monkeypatch, capsys):
    from sgfkit import api
    from sgfkit.cli import main

    monkeypatch.chdir(tmp_path)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(api, "run", interrupted)
    with pytest.raises(SystemExit) as exit_info:
        main(["run", str(TINY), "--out", "out", "--no-progress"])
    assert exit_info.value.code == 130
    assert "interrupted" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    with pytest.raises(SystemExit) as usage:
        main(["run"])  # a usage error keeps click's exit code 2
    assert usage.value.code == 2


def test_list_help_error_and_tables_use_one_vocabulary_for_kinds(tiny_plugins):
    from sgfkit.registry import KIND_CHOICES_TEXT, KIND_WORDS

    help_text = " ".join(CliRunner().invoke(cli, ["list", "--help"]).output.split())
    error = CliRunner().invoke(cli, ["list", "encodres"]).output
    assert KIND_CHOICES_TEXT in help_text and KIND_CHOICES_TEXT in error
    tables = CliRunner().invoke(cli, ["list"]).output
    present = {row["kind"] for row in json.loads(CliRunner().invoke(cli, ["list", "--json"]).output)}
    assert present and all(KIND_WORDS[kind] in tables for kind in present) and "condition-encoders" not in tables
    for word in KIND_WORDS.values():  # every word the help offers works
        assert CliRunner().invoke(cli, ["list", word, "--json"]).exit_code == 0


def test_report_model_summary_headline_legends_and_flat_values():
    from sgfkit.report_model import STATUS_LEGEND, build_report_model

    data = {"name": "r", "seed": 3, "generator": {"type": "g"}, "encoder": {"type": "e"}, "evaluator": None,
            "dataset": {"samples": 64}, "manipulators": [{"type": "sgf", "label": "sgf"}]}
    metrics = {"metrics": {"mds": {"sgf": {"smile": {"mds": 0.5}, "overall": 0.61}, "settings": {"delta": 0.2}}},
               "fit": {"sgf": {"steps": 10, "warnings": ["spectral radius 1.1"]}}, "cache_hits": {"fit:sgf": True},
               "edits": [{"method": "sgf", "label": "smile", "status": ["converged", "diverging", "converged"]}],
               "files": {"figures": ["mds_mdc.png"], "tables": ["mds_best.md"],
                         "legends": {"mds_best.md": {"cells": "accuracy / disentanglement @ strength"}}}}
    env = {"device": "cpu", "threads": {"threads": 1, "source": "auto"}}
    model = build_report_model(data, env, metrics, {"mds_best.md": "| method | smile |\n|---|---|\n"})
    assert model.headline == [{"metric": "mds", "key": "sgf.overall", "value": 0.61}]
    assert model.warnings == ["sgf: spectral radius 1.1"]
    assert "sgf (sgf, fit from cache)" in model.what_ran[1] and "threads 1 (auto)" in model.what_ran[2]
    assert model.status_legend == {s: STATUS_LEGEND[s] for s in ("converged", "diverging")}
    assert "rose above the source" in model.status_legend["diverging"]
    assert model.edits == [{"method": "sgf", "label": "smile", "statuses": {"converged": 2, "diverging": 1},
                            "layers": None}]  # a W run: no w+ layers
    assert model.tables[0].title == "mds_best" and "cells" in model.tables[0].legend
    assert model.pictures == ["edits.png", "mds_mdc.png"]
    assert ("mds.sgf.overall", 0.61) in model.flat_values and ("mds.settings.delta", 0.2) in model.flat_values


def test_report_md_opens_with_the_summary_and_ends_with_the_flat_values(tiny_plugins, tmp_path, monkeypatch):
    import sgfkit

    monkeypatch.chdir(tmp_path)
    report = (sgfkit.run(TINY, out_dir=tmp_path / "runs").run_dir / "report.md").read_text()
    order = [report.index(h) for h in ("## Summary", "**Warnings:** none", "![edits](edits.png)",
                                       "## Example edits", "*status:*", "### tiny-gain_gain",
                                       "- **gain at strongest**: mean change of the target attribute",
                                       "## All metric values", "## Environment")]
    assert order == sorted(order)
    assert "- **done**: a fixed-length edit" in report


def test_validate_checks_targets_and_attributes_against_declared_names(tiny_plugins, monkeypatch):
    bad = CliRunner().invoke(cli, ["validate", str(TINY), "--set", "edits.targets=[{target: {rde: 1.0}}, "
                                   "{target: {offset: {gren: 0.2}}}]", "--set", "evaluation.attributes=[red, blu]"])
    assert bad.exit_code == 1
    for needle in ("edits.targets[0].target: tiny-colour has no condition named 'rde'. did you mean 'red'?",
                   "edits.targets[1].target: tiny-colour has no condition named 'gren'. did you mean 'green'?",
                   "evaluation.attributes[1]: encoder: tiny-colour has no condition named 'blu'",
                   "3 problems"):
        assert needle in bad.output
    from sgfkit.registry import get_registry

    cls = get_registry().resolve("condition-encoder", "tiny-colour")
    monkeypatch.setattr(cls, "declared_names", classmethod(lambda c, params, base_dir=None: None))
    unknown = CliRunner().invoke(cli, ["validate", str(TINY), "--set", "edits.targets=[{target: {rde: 1.0}}]"])
    assert unknown.exit_code == 0  # cannot be checked without loading: said so, left to 'run'
    assert "note: encoder tiny-colour: condition names are known only after loading it" in unknown.output


def test_shipped_encoders_declare_their_names_without_loading():
    from sgfkit.registry import get_registry

    registry = get_registry()
    faces = registry.resolve("condition-encoder", "face-attributes")
    names = faces.declared_names({"config": "embedded", "weights": None})
    assert names and "smile" in names and names == faces().names  # the names loading gives
    assert faces.declared_names({"config": "embedded", "weights": "/nonexistent.safetensors"}) is None
    truth = registry.resolve("condition-encoder", "synth-faces-truth")
    assert truth.declared_names({}) == truth().names


def test_samples_say_which_conditions_the_labels_show(tiny_plugins, tmp_path):
    out = tmp_path / "grid.png"
    base = ["samples", "tiny-linear", "--encoder", "tiny-colour", "--n", "2", "--set", "generator.resolution=16",
            "--out", str(out), "--no-progress"]
    default = CliRunner().invoke(cli, base)
    assert default.exit_code == 0 and "(labels: red, green, blue)" in default.output
    chosen = CliRunner().invoke(cli, [*base, "--attributes", "blue"])
    assert chosen.exit_code == 0 and "(labels: blue (1 of 3; --attributes to choose))" in chosen.output
    wrong = CliRunner().invoke(cli, [*base, "--attributes", "bleu"])
    assert wrong.exit_code == 1 and "did you mean 'blue'?" in wrong.output
    alone = CliRunner().invoke(cli, ["samples", "tiny-linear", "--attributes", "red", "--out", str(out)])
    assert alone.exit_code == 1 and "--attributes needs --encoder" in alone.output


def _fit_warnings(monkeypatch, tmp_path, extra) -> list[str]:
    """The ``warnings`` of tiny-shift's fit report when its fit first runs ``extra()`` (which may warn and
    returns what to add to the report)."""
    import sgfkit
    from sgfkit.registry import get_registry

    monkeypatch.chdir(tmp_path)
    cls = get_registry().resolve("manipulator", "tiny-shift")
    original = cls.fit
    monkeypatch.setattr(cls, "fit", lambda self, *a, **k: {**original(self, *a, **k), **extra()})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = sgfkit.run(TINY, out_dir=tmp_path / "runs", overrides=["evaluation=null"])
    return result.metrics["fit"]["shift"]["warnings"]


def test_a_manipulators_own_warnings_are_not_stored_twice(tiny_plugins, tmp_path, monkeypatch):
    def like_sgf():  # in its report and as a Python warning
        warnings.warn("SGF: radius 1.3", UserWarning)
        return {"warnings": ["radius 1.3"]}

    assert _fit_warnings(monkeypatch, tmp_path, like_sgf) == ["radius 1.3"]


def test_a_librarys_deprecation_notice_is_not_a_fit_warning(tiny_plugins, tmp_path, monkeypatch):
    def with_notices():  # e.g. torch deprecating an API that SGF's dependencies call
        warnings.warn("`torch.jit.script` is deprecated", DeprecationWarning)
        warnings.warn("condition 3 never varies", UserWarning)
        return {}

    assert _fit_warnings(monkeypatch, tmp_path, with_notices) == ["condition 3 never varies"]


def test_verbose_run_shows_threads_timings_and_cache_hits(tiny_plugins, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["run", str(TINY), "--out", "out", "--no-progress", "--set", "evaluation=null", "--threads", "1"]
    CliRunner().invoke(cli, args, catch_exceptions=False)
    again = CliRunner().invoke(cli, [*args, "-v"], catch_exceptions=False)
    assert again.exit_code == 0
    assert "threads: 1 (recipe, requested)" in again.stdout
    assert any(line.strip().startswith("fit:shift ") and line.endswith("(from cache)")
               for line in again.stdout.splitlines())
    both = CliRunner().invoke(cli, [*args, "-v", "-q"])
    assert both.exit_code == 1 and "contradict" in both.output


def test_keypoint_and_tagger_encoders_declare_their_names_from_file_headers(tmp_path):
    from sgfkit_anime.illustration2vec import Illustration2Vec
    from sgfkit_anime.keypoints_encoder import AnimeKeypointsEncoder

    declared = AnimeKeypointsEncoder.declared_names({"weights": None, "attributes": None})
    built = AnimeKeypointsEncoder()
    assert declared == built.names
    chosen = AnimeKeypointsEncoder.declared_names({"weights": None, "attributes": [built.attribute_names[0]]})
    assert chosen[-1] == built.attribute_names[0] and len(chosen) == 2 * len(built.point_names) + 1
    assert AnimeKeypointsEncoder.declared_names({"weights": str(tmp_path / "none.safetensors")}) is None
    tags = tmp_path / "tag_list.json"
    tags.write_text('["1girl", "smile", "blonde hair"]')
    assert Illustration2Vec.declared_names({"tag_list": str(tags), "tags": None}) == ["1girl", "smile", "blonde hair"]
    assert Illustration2Vec.declared_names({"tag_list": str(tags), "tags": ["smile"]}) == ["smile"]
    assert Illustration2Vec.declared_names({"tag_list": str(tmp_path / "missing.json"), "tags": None}) is None


@pytest.mark.slow
@pytest.mark.integration
def test_a_real_sigint_during_sampling_exits_130_and_leaves_nothing_half_written(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    import yaml

    data = yaml.safe_load(TINY.read_text())
    data["dataset"] = {"samples": 2_000_000, "batch_size": 64}  # long enough to be interrupted mid-stage
    recipe = tmp_path / "long.yaml"
    recipe.write_text(yaml.safe_dump(data))
    site = Path(__file__).parent / "fixtures" / "core" / "site"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SGFKIT_")}
    env.update({"PYTHONPATH": str(site), "SGFKIT_LOAD_PLUGINS": "sgfkit-tiny", "OMP_NUM_THREADS": "1"})
    proc = subprocess.Popen([sys.executable, "-m", "sgfkit", "run", str(recipe)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    seen = ""
    while time.monotonic() < deadline and "Sampling dataset" not in seen:
        seen += proc.stderr.readline()  # piped: progress comes as timestamped lines
    assert "Sampling dataset" in seen, seen
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err[-2000:])
    assert "Traceback" not in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    cache = tmp_path / ".sgfkit-cache"
    assert not cache.exists() or not [p for p in cache.rglob("*") if p.is_file()]


def test_validate_reports_a_missing_direction_file(tmp_path):
    import yaml

    recipe = tmp_path / "direction.yaml"
    recipe.write_text(yaml.safe_dump({
        "name": "d", "generator": {"type": "synth-faces", "space": "w"}, "encoder": {"type": "synth-faces-truth"},
        "manipulators": [{"type": "direction", "file": "boundaries/smile.npy", "condition": "smile"}]}))
    result = CliRunner().invoke(cli, ["validate", str(recipe)])
    assert result.exit_code == 1 and "manipulators[0].file" in result.output and "smile.npy" in result.output
    (tmp_path / "boundaries").mkdir()
    import numpy as np

    np.save(tmp_path / "boundaries" / "smile.npy", np.ones((1, 128), np.float32))
    assert CliRunner().invoke(cli, ["validate", str(recipe)]).exit_code == 0
