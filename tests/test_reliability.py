"""Bad recipes and faults: clear errors, and runs that recover from crashes and damaged caches."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import sgfkit
from sgfkit.cli import cli
from sgfkit.recipe import RecipeError, load_recipe

TINY = Path(__file__).parent / "fixtures" / "core" / "recipes" / "tiny.yaml"


@pytest.fixture
def work(tmp_path, monkeypatch, tiny_plugins):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _tiny(folder: Path, name: str = "tiny.yaml", **changes) -> Path:
    data = yaml.safe_load(TINY.read_text())
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split("__")
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value
    path = folder / name
    path.write_text(yaml.safe_dump(data))
    return path


def _metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())["metrics"]


# -- recipe files -------------------------------------------------------------------------------
def test_non_utf8_recipe_gets_a_clear_error(work):
    path = work / "utf16.yaml"
    path.write_bytes("name: tiny\n".encode("utf-16"))
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "not UTF-8 text (it looks like UTF-16)" in result.output and "Traceback" not in result.output


def test_alias_bomb_is_refused_in_bounded_time_and_memory(work):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):  # 9 ** 10 values once expanded, from a 400-byte file
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ", ".join([f"*{prev}"] * 9) + "]")
    path = work / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    tracemalloc.start()
    with pytest.raises(RecipeError, match="aliases expand to more than"):
        load_recipe(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20 << 20, f"{peak / 2**20:.1f} MiB"


def test_a_few_aliases_are_fine_and_repeated_keys_are_reported(work):
    path = _tiny(work)
    text = path.read_text().replace("seed: 0", "seed: &s 0\nextra_seed_alias_is_unknown: *s")
    path.write_text(text)
    with pytest.raises(RecipeError, match="extra_seed_alias_is_unknown"):
        load_recipe(path)
    path.write_text(_tiny(work).read_text() + "seed: 3\n")
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    assert "seed" in str(err.value) and "appears twice (lines" in str(err.value)


@pytest.mark.parametrize("key, value", [("generator__truncation", float("nan")),
                                        ("manipulators__0__ridge", float("inf")),
                                        ("manipulators__0__strengths", [0.5, float("nan")]),
                                        ("evaluation__delta", float("-inf"))])
def test_non_finite_settings_are_refused_with_their_key(work, key, value):
    path = _tiny(work, **{key: value})
    with pytest.raises(RecipeError) as err:
        load_recipe(path)
    dotted = key.replace("__0__", "[0].").replace("__", ".")
    problem = next(p for p in err.value.problems if dotted in str(p))
    assert "not a finite number" in problem.message


# -- caches -------------------------------------------------------------------------------------
@pytest.mark.parametrize("stage", ["datasets", "fits"])
@pytest.mark.parametrize("damage", ["flip", "truncate", "no-checksum"])
def test_damaged_cache_file_is_detected_reported_and_rebuilt(work, stage, damage):
    first = sgfkit.run(_tiny(work))
    files = sorted((work / ".sgfkit-cache" / stage).glob("*.safetensors"))
    assert files and all(Path(f"{f}.sha256").is_file() for f in files)
    target = files[0]
    if damage == "flip":
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0xFF
        target.write_bytes(bytes(data))
    elif damage == "truncate":
        target.write_bytes(target.read_bytes()[: len(target.read_bytes()) // 3])
    else:
        Path(f"{target}.sha256").unlink()
    again = sgfkit.run(_tiny(work))
    assert any(target.name in note and "discarded and rebuilt" in note for note in again.notes), again.notes
    assert not all(again.cache_hits.values())
    assert _metrics(again.run_dir) == _metrics(first.run_dir)
    third = sgfkit.run(_tiny(work))  # rebuilt with a fresh checksum: used again
    assert all(third.cache_hits.values()) and not third.notes


# -- crashes --------------------------------------------------------------------------------------
def _run_cli(recipe: Path, cwd: Path, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SGFKIT_")}
    tiny_site = Path(__file__).parent / "fixtures" / "core" / "site"
    env.update({"PYTHONPATH": os.pathsep.join([str(tiny_site), env.get("PYTHONPATH", "")]),
                "SGFKIT_LOAD_PLUGINS": "sgfkit-tiny", "OMP_NUM_THREADS": "1", **(env_extra or {})})
    return subprocess.run([sys.executable, "-m", "sgfkit", "run", str(recipe), "--no-progress"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("where", ["encoder__die_once", "manipulators__0__die_once"])
def test_a_run_killed_mid_stage_reruns_to_the_same_result(work, where):
    marker = work / "killed"
    crashing = _tiny(work, "crash.yaml", **{where: str(marker)})
    killed = _run_cli(crashing, work)
    assert killed.returncode == 3 and marker.exists()  # it died inside sampling / fitting, no cleanup
    leftovers = [p for p in (work / ".sgfkit-cache").rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert all(Path(f"{p}.sha256").is_file() or p.suffix == ".sha256" for p in leftovers)
    rerun = _run_cli(crashing, work)  # the marker exists now: this run completes
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    fresh = work / "fresh"
    fresh.mkdir()
    reference = sgfkit.run(_tiny(fresh, output={"dir": str(fresh / "runs"), "cache_dir": str(fresh / "cache")}))
    (run_dir,) = sorted((work / "runs").glob("*-tiny"))
    assert _metrics(run_dir) == _metrics(reference.run_dir)


@pytest.mark.slow
@pytest.mark.integration
def test_concurrent_runs_into_one_folder_get_distinct_run_folders(work):
    recipe = _tiny(work)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SGFKIT_")}
    tiny_site = Path(__file__).parent / "fixtures" / "core" / "site"
    env.update({"PYTHONPATH": str(tiny_site), "SGFKIT_LOAD_PLUGINS": "sgfkit-tiny", "OMP_NUM_THREADS": "1"})
    procs = [subprocess.Popen([sys.executable, "-m", "sgfkit", "run", str(recipe), "--no-progress"], cwd=work,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    runs = sorted(p.name for p in (work / "runs").iterdir())
    assert runs == ["00000-tiny", "00001-tiny"]
    assert all((work / "runs" / r / "metrics.json").is_file() for r in runs)


def test_unwritable_output_folder_gets_a_clear_error(work):
    blocker = work / "not-a-folder"
    blocker.write_text("a file where the output folder should be\n")
    result = CliRunner().invoke(cli, ["run", str(_tiny(work)), "--out", str(blocker / "runs"), "--no-progress"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert "cannot write the run outputs under" in result.output and "--out" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
@pytest.mark.integration
def test_a_run_killed_while_writing_outputs_leaves_no_partial_file_and_reruns(work):
    recipe = _tiny(work)
    tiny_site = Path(__file__).parent / "fixtures" / "core" / "site"
    code = (f"import os, sys\nsys.path.insert(0, {str(tiny_site)!r})\n"
            "import sgfkit.outputs as outputs\n"
            "real = outputs.os.replace\n"
            "def replace(src, dst):\n"
            "    if str(dst).endswith('metrics.json'):\n"
            "        os._exit(9)  # dies with metrics.json written to its temporary name only\n"
            "    real(src, dst)\n"
            "outputs.os = type('os', (), {**{k: getattr(os, k) for k in dir(os) if not k.startswith('__')},"
            " 'replace': staticmethod(replace)})\n"
            "import sgfkit\n"
            f"sgfkit.run({str(recipe)!r})\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SGFKIT_")}
    env.update({"SGFKIT_LOAD_PLUGINS": "sgfkit-tiny", "OMP_NUM_THREADS": "1"})
    killed = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True,
                            timeout=300)
    assert killed.returncode == 9, killed.stderr[-2000:]
    (half,) = (work / "runs").iterdir()
    visible = {p.name for p in half.iterdir() if not p.name.startswith(".")}
    assert "metrics.json" not in visible and {"recipe.resolved.yaml", "edits.png"} <= visible
    for name in visible:  # whatever is visible was written whole
        if name.endswith(".json"):
            json.loads((half / name).read_text())
    rerun = sgfkit.run(recipe)
    assert rerun.run_dir.name == "00001-tiny" and (rerun.run_dir / "metrics.json").is_file()
    fresh = work / "fresh"
    fresh.mkdir()
    reference = sgfkit.run(_tiny(fresh, output={"dir": str(fresh / "runs"), "cache_dir": str(fresh / "cache")}))
    assert _metrics(rerun.run_dir) == _metrics(reference.run_dir)
