"""Third-party plugins, the real path: pip-install the example package offline and use it from a subprocess.

Also in subprocesses: a broken plugin is listed as failed while recipes still run, a misspelled hook
is reported with a suggestion, and two distributions claiming one plugin name are both reported.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "sgfkit-plugin-example"
LOAD = "sgfkit-tiny,sgfkit-plugin-example"

pytestmark = pytest.mark.integration

RECIPE = """\
name: region-demo
seed: 0
device: cpu
generator: {type: tiny-linear}
encoder: {type: region-colour, region: [0.0, 0.0, 0.5, 0.5]}
dataset: {samples: 64, batch_size: 64}
manipulators:
  - {type: tiny-shift}
edits:
  seeds: [0]
  path_steps: 1
  targets:
    - {target: {region_red: 1.0}, label: red corner}
"""


@pytest.fixture(scope="session")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example plugin pip-installed offline into its own --target folder (built from a copy)."""
    root = tmp_path_factory.mktemp("example")
    source = root / "src"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    site = root / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-build-isolation",
                    "--no-deps", "--target", str(site), str(source)], check=True, capture_output=True, timeout=300)
    assert (site / "sgfkit_plugin_example-0.1.0.dist-info").is_dir()
    return site


def sgfkit_cli(env: dict[str, str], *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sgfkit", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    path = tmp_path / "region.yaml"
    path.write_text(RECIPE)
    return path


@pytest.mark.slow
def test_installed_plugin_is_listed_and_runs(example_site, subprocess_env, recipe, tmp_path):
    env = subprocess_env(example_site, load=LOAD)
    listed = json.loads(sgfkit_cli(env, "list", "encoders", "--json").stdout)
    region = next(c for c in listed if c["name"] == "region-colour")
    assert region["distribution"] == "sgfkit-plugin-example" and region["version"] == "0.1.0"
    assert region["plugin"] == "sgfkit_plugin_example"
    plugins = {p["name"]: p for p in json.loads(sgfkit_cli(env, "list", "--plugins", "--json").stdout)}
    assert plugins["sgfkit_plugin_example"]["hooks"] == ["sgfkit_register_condition_encoders"]

    run = sgfkit_cli(env, "run", str(recipe), "--out", str(tmp_path / "runs"), "--no-progress", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    run_dir = tmp_path / "runs" / "00000-region-demo"
    env_json = json.loads((run_dir / "environment.json").read_text())
    assert "sgfkit-plugin-example==0.1.0" in env_json["distributions"]
    assert env_json["components"]["encoder"]["distribution"] == "sgfkit-plugin-example"
    assert (run_dir / "edits.png").is_file()


@pytest.mark.slow
def test_disabled_plugin_vanishes(example_site, subprocess_env, recipe, tmp_path):
    env = subprocess_env(example_site, load=LOAD, SGFKIT_DISABLE_PLUGINS="sgfkit-plugin-example")
    names = {c["name"] for c in json.loads(sgfkit_cli(env, "list", "--json").stdout)}
    assert "region-colour" not in names and "tiny-linear" in names
    run = sgfkit_cli(env, "run", str(recipe), "--out", str(tmp_path / "runs"), cwd=tmp_path)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "encoder.type (line 5): unknown condition-encoder 'region-colour'" in run.stderr
    assert "Available: tiny-colour, tiny-embed" in run.stderr


@pytest.mark.slow
def test_broken_plugin_is_listed_as_failed_while_recipes_run(example_site, subprocess_env, recipe, tmp_path,
                                                            make_dist):
    broken = make_dist(tmp_path / "broken", "sgfkit-broken", "sgfkit_broken",
                       "import a_module_that_does_not_exist\n")
    env = subprocess_env(example_site, broken, load=LOAD + ",sgfkit-broken")
    plugins = {p["name"]: p for p in json.loads(sgfkit_cli(env, "list", "--plugins", "--json").stdout)}
    assert plugins["sgfkit_broken"]["status"] == "failed"
    assert plugins["sgfkit_broken"]["error"] == "ModuleNotFoundError: No module named 'a_module_that_does_not_exist'"
    assert plugins["sgfkit_plugin_example"]["status"] == "loaded"
    run = sgfkit_cli(env, "run", str(recipe), "--out", str(tmp_path / "runs"), "--no-progress", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "warning: plugin 'sgfkit_broken' is failed: ModuleNotFoundError" in run.stderr
    strict = sgfkit_cli({**env, "SGFKIT_STRICT_PLUGINS": "1"}, "list")
    assert strict.returncode == 1 and "SGFKIT_STRICT_PLUGINS=1" in strict.stderr
    assert "sgfkit_broken' failed to import" in strict.stderr


def test_misspelled_hook_and_name_clash_are_reported(subprocess_env, tmp_path, make_dist):
    code = """
        from sgfkit import hookimpl

        @hookimpl
        def sgfkit_register_manipulator(register):
            register("never", "x:Y")
    """
    typo = make_dist(tmp_path / "typo", "sgfkit-typo", "sgfkit_typo", code)
    clash_a = make_dist(tmp_path / "a", "sgfkit-one", "sgfkit_one", "", ep_name="sgfkit_same")
    clash_b = make_dist(tmp_path / "b", "sgfkit-two", "sgfkit_two", "", ep_name="sgfkit_same")
    env = subprocess_env(typo, clash_a, clash_b, load="sgfkit-typo,sgfkit-one,sgfkit-two")
    plugins = json.loads(sgfkit_cli(env, "list", "--plugins", "--json").stdout)
    typo_info = next(p for p in plugins if p["name"] == "sgfkit_typo")
    assert typo_info["status"] == "failed"
    assert "unknown hook 'sgfkit_register_manipulator'. did you mean 'sgfkit_register_manipulators'?" \
        in typo_info["error"]
    same = [p for p in plugins if p["name"] == "sgfkit_same"]
    assert sorted(p["distribution"] for p in same) == ["sgfkit-one", "sgfkit-two"]
    assert all(p["status"] == "clashing" for p in same)
    table = sgfkit_cli(env, "list", "--plugins").stdout
    assert "clashing" in table and "sgfkit_register_manipulator" in table


@pytest.mark.slow
def test_the_example_packages_own_tests_pass(example_site, subprocess_env, tmp_path):
    env = subprocess_env(example_site, load=LOAD)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(EXAMPLE / "tests")], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "3 passed" in proc.stdout
