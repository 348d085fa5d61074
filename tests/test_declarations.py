"""Torch-free declarations: recipe checks (``sgfkit validate``, ``sgfkit info``) never import model code.

Each bundled component registers a declaration class (params, recipe cross-checks, declared names)
that its class subclasses; these tests hold the two together and hold validation torch-free.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sgfkit
from sgfkit.errors import PluginLoadError
from sgfkit.plugins import reset_plugins
from sgfkit.recipe_checks import generic_names
from sgfkit.registry import get_registry

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted((ROOT / "recipes").glob("*.yaml")) + sorted((ROOT / "recipes" / "paper").glob("*.yaml"))
#: the distribution this repository installs; third-party plugins may go without declarations
BUNDLED = "sgfkit"


def _bundled_specs():
    return [s for s in get_registry().components() if s.distribution == BUNDLED]


def test_every_bundled_component_registers_a_declaration():
    missing = [f"{s.kind} {s.name}" for s in _bundled_specs() if s.declaration is None]
    assert not missing, f"register these with declaration=...: {missing}"


@pytest.mark.parametrize("spec", _bundled_specs(), ids=lambda s: s.name)
def test_component_class_agrees_with_its_declaration(spec):
    declared = spec.resolve_declaration()
    cls = spec.resolve()
    assert issubclass(cls, declared)
    assert cls.all_params() == declared.all_params()
    for attr in ("training_params", "condition_kind", "condition_kinds", "spaces"):
        assert getattr(cls, attr, None) == getattr(declared, attr, None), attr
    if spec.kind == "condition-encoder":
        # validate may check target / attribute names generically only when the class would accept them
        assert generic_names(declared, "named_targets", ("target", "target_dims", "index_of")) == \
            generic_names(cls, "named_targets", ("target", "target_dims", "index_of"))
        assert generic_names(declared, "named_conditions", ("index_of",)) == \
            generic_names(cls, "named_conditions", ("index_of",))


def _run_torch_free(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints JSON; also report whether torch was imported."""
    probe = code + "\nimport json as _j, sys as _s\nprint(_j.dumps({'torch': 'torch' in _s.modules}))\n"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_validating_every_bundled_recipe_imports_no_torch():
    recipes = [str(p) for p in RECIPES]
    code = f"""
from sgfkit import api
from sgfkit.recipe_checks import deep_check
from sgfkit.errors import SgfkitError
for path in {recipes!r}:
    recipe = api.load_recipe(path)
    try:
        deep_check(recipe, path)  # the paper recipes name weights this machine lacks: that is a finding
    except SgfkitError:
        pass
"""
    assert _run_torch_free(code) == {"torch": False}


def test_validate_command_and_info_import_no_torch():
    code = """
from click.testing import CliRunner
from sgfkit.cli import cli
runner = CliRunner()
for args in (["validate", "recipes/faces_attributes.yaml", "recipes/anime_keypoints.yaml"], ["info", "sgf"],
             ["info", "face-attributes"], ["info", "stylegan2"]):
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, (args, result.output)
"""
    assert _run_torch_free(code) == {"torch": False}


def test_declared_names_are_checked_without_loading(tmp_path):
    recipe = (ROOT / "recipes" / "faces_attributes.yaml").read_text().replace("{target: {bald: 1.0}, label: bald}",
                                                                            "{target: {bal: 1.0}, label: bald}")
    path = tmp_path / "typo.yaml"
    path.write_text(recipe)
    from sgfkit.recipe import RecipeError
    from sgfkit.recipe_checks import deep_check

    with pytest.raises(RecipeError, match=r"no condition named 'bal'\. did you mean 'bald'\?"):
        deep_check(sgfkit.load_recipe(path), str(path))


def test_the_run_builds_the_component_class_not_the_declaration(tiny_plugins, tmp_path):
    recipe = sgfkit.load_recipe({"generator": {"type": "tiny-linear"}, "encoder": {"type": "tiny-colour"},
                                 "manipulators": [{"type": "tiny-shift"}]})
    assert recipe.classes["manipulators[0]"].__name__ == "TinyShiftDeclaration"
    from sgfkit.pipeline import build_components

    comps = build_components(recipe, "cpu")
    assert type(comps.manipulators[0]).__name__ == "TinyShift"


def _plugin(site: Path, make_dist, module: str, hook: str, name: str, component: str, declaration: str) -> None:
    """Install a plugin whose ``hook`` registers one component with ``declaration`` (each test its own
    module name: Python caches imported modules), and load it beside the tiny plugin."""
    make_dist(site, module.replace("_", "-"), module, f"""
        from sgfkit import hookimpl

        @hookimpl
        def {hook}(register):
            register({name!r}, {component!r}, declaration={declaration!r})
    """)
    os.environ["SGFKIT_LOAD_PLUGINS"] = f"sgfkit-tiny,{module.replace('_', '-')}"
    reset_plugins()


@pytest.fixture
def site(tmp_path, monkeypatch, tiny_plugins):
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    monkeypatch.setenv("SGFKIT_LOAD_PLUGINS", "sgfkit-tiny")  # restored after the test
    return path


def test_a_component_that_does_not_subclass_its_declaration_is_refused(site, make_dist):
    _plugin(site, make_dist, "sgfkit_decl_odd", "sgfkit_register_manipulators", "odd-shift",
            "sgfkit_tiny.components:TinyShift", "sgfkit_decl_params:OtherDeclaration")
    (site / "sgfkit_decl_params.py").write_text(
        "from sgfkit.declarations import ManipulatorDeclaration\n\n"
        "class OtherDeclaration(ManipulatorDeclaration):\n    pass\n")
    assert get_registry().resolve_declaration("manipulator", "odd-shift").__name__ == "OtherDeclaration"
    with pytest.raises(PluginLoadError, match="does not subclass it; make the component inherit its declaration"):
        get_registry().resolve("manipulator", "odd-shift")


def test_a_declaration_of_the_wrong_kind_is_refused(site, make_dist):
    _plugin(site, make_dist, "sgfkit_decl_kind", "sgfkit_register_generators", "odd-gen",
            "sgfkit_tiny.components:TinyGenerator", "sgfkit_tiny.declarations:TinyShiftDeclaration")
    with pytest.raises(PluginLoadError, match="not a subclass of sgfkit.declarations.GeneratorDeclaration"):
        get_registry().resolve_declaration("generator", "odd-gen")


def test_a_declaration_that_is_not_a_class_reference_fails_its_plugin(site, make_dist):
    _plugin(site, make_dist, "sgfkit_decl_ref", "sgfkit_register_generators", "bad-ref",
            "sgfkit_tiny.components:TinyGenerator", "no-colon-here")
    plugin = next(p for p in sgfkit.get_plugins() if p["name"] == "sgfkit_decl_ref")
    assert "declaration 'no-colon-here': use a 'module:Class' string" in plugin["error"]
