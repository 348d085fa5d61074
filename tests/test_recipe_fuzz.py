"""Fuzzing every bundled recipe: any mutation ends in exit 0 or a clear exit 1, never a traceback,
and validating or dry-running writes no file."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from sgfkit.cli import cli  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RECIPES = sorted((REPO / "recipes").glob("**/*.yaml"))

#: values of every awkward kind: wrong types, huge, negative, non-finite, path tricks, YAML objects
NASTY_VALUES = st.sampled_from([
    None, True, -1, 0, 10 ** 12, -(10 ** 12), 1e308, float("nan"), float("inf"), float("-inf"), "", "x" * 10_000,
    "../../../etc/passwd", "/tmp/../..", "seed", "-1", "1e400", [], [None], [[[[]]]], {}, {"type": "os.system"},
    {"type": "synth-faces"}, "sgfkit.cli:main", "\x00", "é", 3.5, [1, 2, 3], {"a": {"b": {"c": 1}}},
])


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


def _mutate(data: dict, path: tuple, action: str, value: Any) -> dict:
    data = copy.deepcopy(data)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    key = path[-1]
    if action == "delete":
        del parent[key]
    elif action == "replace":
        parent[key] = value
    elif action == "insert" and isinstance(parent, dict):
        parent[f"{key}_extra"] = value
    return data


TEXT_TRICKS = [
    lambda text: text + "\nname: !!python/object/apply:os.system ['touch pwned']\n",
    lambda text: text.replace("seed:", "seed: 1\nseed:", 1) if "seed:" in text else text + "\nseed: 1\nseed: 2\n",
    lambda text: "a: &a [x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 8)}]\n" for p, c in zip("abcdefgh", "bcdefghi")) + text,
    lambda text: text.replace(":", "", 1),
    lambda text: "\t" + text,
    lambda text: text[: len(text) // 2],
]


def _check(folder: Path, recipe: Path, monkeypatch) -> None:
    monkeypatch.chdir(folder)
    before = {p for p in folder.rglob("*")}
    runner = CliRunner()
    for args in (["validate", str(recipe)], ["run", str(recipe), "--dry-run", "--no-progress"]):
        result = runner.invoke(cli, args)
        assert result.exit_code in (0, 1), (args, result.output[-2000:])
        assert result.exception is None or isinstance(result.exception, SystemExit), \
            f"{args}: unhandled {result.exception!r}\n{result.output[-2000:]}"
        assert "Traceback" not in result.output
    after = {p for p in folder.rglob("*")}
    assert after - before == set(), f"files written: {sorted(map(str, after - before))}"
    assert not (folder / "pwned").exists()


@pytest.mark.slow
@pytest.mark.parametrize("recipe", RECIPES, ids=[str(p.relative_to(REPO / "recipes")) for p in RECIPES])
def test_structural_mutations_of_bundled_recipes(recipe, tmp_path_factory, monkeypatch):
    data = yaml.safe_load(recipe.read_text())
    paths = _paths(data)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(path=st.sampled_from(paths), action=st.sampled_from(["delete", "replace", "insert"]), value=NASTY_VALUES)
    def check(path, action, value):
        folder = tmp_path_factory.mktemp("fuzz")
        mutated = folder / recipe.name
        mutated.write_text(yaml.safe_dump(_mutate(data, path, action, value), allow_unicode=True))
        _check(folder, mutated, monkeypatch)

    check()


@pytest.mark.parametrize("trick", range(len(TEXT_TRICKS)))
def test_textual_mutations_of_the_main_recipe(trick, tmp_path, monkeypatch):
    text = (REPO / "recipes" / "flowers_caption.yaml").read_text()
    mutated = tmp_path / "recipe.yaml"
    mutated.write_text(TEXT_TRICKS[trick](text))
    _check(tmp_path, mutated, monkeypatch)


def test_non_utf8_bytes_in_a_recipe(tmp_path, monkeypatch):
    mutated = tmp_path / "recipe.yaml"
    mutated.write_bytes((REPO / "recipes" / "flowers_caption.yaml").read_bytes() + b"\nname: \xff\xfe\n")
    _check(tmp_path, mutated, monkeypatch)
