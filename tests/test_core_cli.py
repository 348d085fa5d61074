"""The CLI: every command through click's CliRunner, startup cost and `python -m` in subprocesses."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from sgfkit.cli import cli

TINY = Path(__file__).parent / "fixtures" / "core" / "recipes" / "tiny.yaml"
BAD = TINY.with_name("bad.yaml")


def invoke(*args: str, **kwargs):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kwargs)


def test_list_json_has_stable_keys(tiny_plugins):
    result = invoke("list", "--json")
    assert result.exit_code == 0
    rows = json.loads(result.output)
    assert {r["name"] for r in rows} == {"tiny-linear", "tiny-z", "tiny-colour", "tiny-embed", "tiny-shift",
                                         "tiny-gain", "tiny-project"}
    for row in rows:
        assert set(row) == {"kind", "name", "aliases", "plugin", "distribution", "version", "summary"}
    only = json.loads(invoke("list", "metrics", "--json").output)
    assert [r["name"] for r in only] == ["tiny-gain"]


def test_list_tables_and_plugins(tiny_plugins):
    result = invoke("list")
    assert result.exit_code == 0
    assert "tiny-linear" in result.output and "sgfkit-tiny" in result.output and "manipulators" in result.output
    plugins = json.loads(invoke("list", "--plugins", "--json").output)
    assert plugins == [{"name": "sgfkit_tiny", "distribution": "sgfkit-tiny", "version": "0.1.0",
                        "hooks": ["sgfkit_register_commands", "sgfkit_register_condition_encoders",
                                  "sgfkit_register_generators", "sgfkit_register_manipulators",
                                  "sgfkit_register_metrics", "sgfkit_register_projectors",
                                  "sgfkit_register_weights"],
                        "status": "loaded", "error": None}]
    table = invoke("list", "--plugins")
    assert "sgfkit_tiny" in table.output and "loaded" in table.output


def test_list_rejects_an_unknown_kind(tiny_plugins):
    result = CliRunner().invoke(cli, ["list", "generater"])
    assert result.exit_code == 1
    assert ("Error: unknown component kind 'generater'; use one of generators, encoders, manipulators, metrics, "
            "projectors (singular forms and condition-encoder work too).") in result.output
    assert "did you mean 'generator'?" in result.output


def test_info_shows_parameters(tiny_plugins):
    data = json.loads(invoke("info", "tiny-shift", "--json").output)
    assert data["kind"] == "manipulator" and data["class"] == "sgfkit_tiny.components:TinyShift"
    ridge = next(p for p in data["params"] if p["name"] == "ridge")
    assert ridge == {"name": "ridge", "type": "float", "default": 0.001, "required": False,
                     "help": "ridge penalty of the least-squares fit", "constraints": ">= 0.0"}
    text = invoke("info", "tiny-colour").output
    assert "training options" in text and "steps" in text
    result = CliRunner().invoke(cli, ["info", "tiny-shfit"])
    assert result.exit_code == 1
    assert "Error: no component named 'tiny-shfit'. did you mean 'tiny-shift'?" in result.output


def test_weights_lists_known_checkpoints_and_search_dirs(tiny_plugins, monkeypatch, tmp_path):
    monkeypatch.setenv("SGFKIT_HOME", str(tmp_path))
    data = json.loads(invoke("weights", "--json").output)
    assert data["weights"][0]["name"] == "tiny-weights" and data["weights"][0]["component"] == "tiny-linear"
    assert data["search_dirs"][0] == str(tmp_path / "weights")
    assert "tiny.safetensors" in invoke("weights").output


def test_validate_ok_and_errors_exit_1_without_traceback(tiny_plugins):
    ok = invoke("validate", str(TINY))
    assert ok.exit_code == 0 and ok.output.rstrip().endswith("tiny.yaml: OK")
    assert "generator: tiny-linear (sgfkit-tiny 0.1.0)" in ok.output
    bad = CliRunner().invoke(cli, ["validate", str(BAD)])
    assert bad.exit_code == 1
    assert "has 6 problems" in bad.output and "did you mean 'tiny-linear'?" in bad.output
    assert "Traceback" not in bad.output and "SGFKIT_DEBUG=1" in bad.output


def test_debug_env_shows_the_exception(tiny_plugins, monkeypatch):
    from sgfkit.recipe import RecipeError

    monkeypatch.setenv("SGFKIT_DEBUG", "1")
    with pytest.raises(RecipeError):
        CliRunner().invoke(cli, ["validate", str(BAD)], catch_exceptions=False)


def test_run_dry_run_loads_nothing(tiny_plugins, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("run", str(TINY), "--dry-run", "--seed", "9", "--set", "dataset.samples=64")
    assert result.exit_code == 0
    assert "seed: 9" in result.output and "samples: 64" in result.output and "# providers:" in result.output
    assert not (tmp_path / "runs").exists()


def test_run_writes_a_run_folder(tiny_plugins, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("run", str(TINY), "--out", "out", "--device", "cpu", "--no-progress",
                    "--set", "evaluation=null")
    assert result.exit_code == 0, result.output
    assert "run folder: out/00000-tiny" in result.output
    assert (tmp_path / "out" / "00000-tiny" / "report.md").is_file()
    missing = CliRunner().invoke(cli, ["run", "nope.yaml"])
    assert missing.exit_code == 1 and "recipe file 'nope.yaml' not found" in missing.output


def test_samples_writes_a_labelled_grid(tiny_plugins, tmp_path):
    out = tmp_path / "grid.png"
    result = invoke("samples", "tiny-linear", "--encoder", "tiny-colour", "--n", "5", "--set",
                    "generator.resolution=16", "--out", str(out))
    assert result.exit_code == 0
    image = Image.open(out)
    assert image.width > 5 * 96 and image.height > 96
    bad = CliRunner().invoke(cli, ["samples", "tiny-linear", "--set", "resolution=16", "--out", str(out)])
    assert bad.exit_code == 1 and "use generator.KEY=VALUE or encoder.KEY=VALUE" in bad.output
    wrong = CliRunner().invoke(cli, ["samples", "tiny-linear", "--set", "generator.resolutoin=16", "--out", str(out)])
    assert wrong.exit_code == 1 and "did you mean 'resolution'?" in wrong.output


def test_train_encoder_validates_options(tiny_plugins, tmp_path):
    out = tmp_path / "enc.safetensors"
    result = invoke("train-encoder", "tiny-colour", "--out", str(out), "--set", "steps=3")
    assert result.exit_code == 0 and json.loads(result.output)["steps"] == 3
    assert out.read_text() == "trained for 3 steps\n"
    bad = CliRunner().invoke(cli, ["train-encoder", "tiny-colour", "--out", str(out), "--set", "stpes=3"])
    assert bad.exit_code == 1 and "stpes: unknown parameter. did you mean 'steps'?" in bad.output
    untrainable = CliRunner().invoke(cli, ["train-encoder", "tiny-embed", "--out", str(out)])
    assert untrainable.exit_code == 1 and "tiny-embed has no training command" in untrainable.output


def test_plugin_commands_and_command_typos(tiny_plugins):
    assert invoke("tiny-hello").output == "hello from sgfkit_tiny\n"
    assert "tiny-hello" in invoke("--help").output
    typo = CliRunner().invoke(cli, ["lsit"])
    assert typo.exit_code == 2 and "did you mean 'list'?" in typo.output


@pytest.mark.integration
def test_list_and_help_do_not_import_torch(subprocess_env, python):
    probe = ("import sys, runpy; sys.argv = ['sgfkit'] + sys.argv[1:]\n"
             "try:\n    runpy.run_module('sgfkit', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH', file=sys.stderr)")
    for args in (["list"], ["list", "--json"], ["list", "--plugins"], ["--help"], ["run", "--help"]):
        proc = subprocess.run([python, "-c", probe, *args], env=subprocess_env(), capture_output=True, text=True,
                              timeout=120)
        assert proc.stderr.strip().endswith("NO-TORCH"), (args, proc.stderr)


@pytest.mark.integration
@pytest.mark.slow
def test_python_dash_m_sgfkit(subprocess_env, python):
    proc = subprocess.run([python, "-m", "sgfkit", "list", "--json"], env=subprocess_env(), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and "tiny-linear" in proc.stdout
    bad = subprocess.run([python, "-m", "sgfkit", "validate", str(BAD)], env=subprocess_env(), capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 1 and bad.stderr.startswith("Error:") and "Traceback" not in bad.stderr


def test_info_text_keeps_brackets(tiny_plugins):
    text = invoke("info", "tiny-embed").output
    assert '{"colour": [r, g, b]}' in text  # rich markup must not eat it
    assert "list[float]" in invoke("info", "tiny-shift").output


def test_rich_reporter_shows_progress_tasks():
    import io

    from rich.console import Console

    from sgfkit.progress import progress_task, use_reporter
    from sgfkit.rich_progress import RichReporter

    buffer = io.StringIO()
    reporter = RichReporter(Console(file=buffer, force_terminal=True, width=100))
    previous = use_reporter(reporter)
    try:
        with reporter.progress:
            with progress_task("Fitting thing", total=3) as task:
                task.advance()
                task.update(loss=0.25)
                task.advance(2)
    finally:
        use_reporter(previous)
    out = buffer.getvalue()
    assert "Fitting thing" in out and "3/3" in out and "loss=0.25" in out
    with progress_task("silent", total=1) as task:  # the default reporter is silent again
        task.advance()


def test_component_warnings_print_as_one_plain_line(capsys, monkeypatch):
    from sgfkit.cli import _show_warning

    monkeypatch.delenv("SGFKIT_DEBUG", raising=False)
    _show_warning(UserWarning("F ignores c"), UserWarning, "/some/path/sgf.py", 12)
    assert capsys.readouterr().err == "warning: F ignores c\n"
    monkeypatch.setenv("SGFKIT_DEBUG", "1")
    _show_warning(UserWarning("F ignores c"), UserWarning, "/some/path/sgf.py", 12)
    assert "sgf.py:12" in capsys.readouterr().err
