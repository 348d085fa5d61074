"""Plugin loading and the registry: failures, clashes, typos, selection env vars, lazy resolution."""
from __future__ import annotations

import pytest

import sgfkit
from sgfkit.errors import PluginLoadError, UnknownComponentError
from sgfkit.recipe import RecipeError
from sgfkit.plugins import build_plugin_set, get_plugin_set, reset_plugins, set_plugin_set
from sgfkit.registry import ComponentClashError, Registry, get_registry, normalize_kind

GOOD = """
from sgfkit import hookimpl

@hookimpl
def sgfkit_register_generators(register):
    register("{name}", "sgfkit_tiny.components:TinyGenerator", summary="{summary}")
"""


@pytest.fixture
def site(tmp_path, monkeypatch, tiny_plugins):
    """A second site folder on sys.path; plugins written there are selected with the tiny one."""
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    return path


def _select(monkeypatch, *names: str) -> None:
    monkeypatch.setenv("SGFKIT_LOAD_PLUGINS", ",".join(("sgfkit-tiny", *names)))
    reset_plugins()


@pytest.fixture
def install(site, make_dist, monkeypatch):
    """``install(module, code)``: write a plugin (distribution ``module`` with dashes) beside the tiny one and
    load only the two."""

    def install(module: str, code: str) -> None:
        make_dist(site, module.replace("_", "-"), module, code)
        _select(monkeypatch, module.replace("_", "-"))

    return install


def _plugins() -> dict[str, dict]:
    return {p["name"]: p for p in sgfkit.get_plugins()}


def test_tiny_plugin_is_loaded_with_its_distribution_and_hooks(tiny_plugins):
    plugin = _plugins()["sgfkit_tiny"]
    assert plugin["status"] == "loaded" and plugin["error"] is None
    assert plugin["distribution"] == "sgfkit-tiny" and plugin["version"] == "0.1.0"
    assert "sgfkit_register_generators" in plugin["hooks"]
    gen = next(c for c in sgfkit.list_components("generators") if c["name"] == "tiny-linear")
    assert gen == {"kind": "generator", "name": "tiny-linear", "aliases": [], "plugin": "sgfkit_tiny",
                   "distribution": "sgfkit-tiny", "version": "0.1.0", "summary": "8x8 linear test generator"}


def test_listing_does_not_import_the_component_module(tiny_plugins):
    import sys

    sys.modules.pop("sgfkit_tiny.components", None)
    assert sgfkit.list_components()
    assert "sgfkit_tiny.components" not in sys.modules
    assert get_registry().resolve("generator", "tiny-linear").__name__ == "TinyGenerator"
    assert "sgfkit_tiny.components" in sys.modules


def test_broken_plugin_is_recorded_and_the_rest_keep_working(install):
    install("sgfkit_broken", "raise ImportError('needs libfoo 2.0')\n")
    broken = _plugins()["sgfkit_broken"]
    assert broken["status"] == "failed"
    assert broken["error"] == "ImportError: needs libfoo 2.0"
    assert sgfkit.get_generator("tiny-linear").resolution == 8


def test_unknown_hook_name_is_reported_with_a_suggestion(install):
    install("sgfkit_typo", """
        from sgfkit import hookimpl

        @hookimpl
        def sgfkit_register_generator(register):
            register("typo-gen", "sgfkit_tiny.components:TinyGenerator")
    """)
    typo = _plugins()["sgfkit_typo"]
    assert typo["status"] == "failed"
    assert "unknown hook 'sgfkit_register_generator'. did you mean 'sgfkit_register_generators'?" in typo["error"]
    assert "typo-gen" not in get_registry().names("generator")


def test_two_distributions_with_one_plugin_name_are_both_reported(site, make_dist, monkeypatch, tmp_path):
    other = tmp_path / "other"
    monkeypatch.syspath_prepend(str(other))
    make_dist(site, "sgfkit-dup-a", "sgfkit_dup_a", GOOD.format(name="dup-a", summary="a"), ep_name="sgfkit_dup")
    make_dist(other, "sgfkit-dup-b", "sgfkit_dup_b", GOOD.format(name="dup-b", summary="b"), ep_name="sgfkit_dup")
    _select(monkeypatch, "sgfkit-dup-a", "sgfkit-dup-b")
    clashing = [p for p in sgfkit.get_plugins() if p["name"] == "sgfkit_dup"]
    assert [p["status"] for p in clashing] == ["clashing", "clashing"]
    assert {p["distribution"] for p in clashing} == {"sgfkit-dup-a", "sgfkit-dup-b"}
    for p in clashing:
        assert "sgfkit-dup-a" in p["error"] and "sgfkit-dup-b" in p["error"]
        assert "SGFKIT_DISABLE_PLUGINS" in p["error"]
    names = get_registry().names("generator")
    assert "dup-a" not in names and "dup-b" not in names and "tiny-linear" in names


def test_component_name_clash_names_both_providers(install):
    install("sgfkit_clone", GOOD.format(name="tiny-linear", summary="clone"))
    listed = [c for c in sgfkit.list_components("generator") if c["name"] == "tiny-linear"]
    assert {c["plugin"] for c in listed} == {"sgfkit_tiny", "sgfkit_clone"}
    with pytest.raises(ComponentClashError, match="generator 'tiny-linear' is registered by more than one plugin") as info:
        sgfkit.get_generator("tiny-linear")
    assert "plugin 'sgfkit_tiny' (sgfkit-tiny)" in str(info.value)
    assert "plugin 'sgfkit_clone' (sgfkit-clone)" in str(info.value)
    assert "SGFKIT_DISABLE_PLUGINS=sgfkit-" in str(info.value)
    assert ("generator", "tiny-linear") in get_registry().clashes()


def test_disable_and_load_env_vars_select_plugins(tiny_plugins, monkeypatch):
    monkeypatch.setenv("SGFKIT_DISABLE_PLUGINS", "sgfkit-tiny")
    reset_plugins()
    assert sgfkit.list_components() == []
    assert _plugins()["sgfkit_tiny"]["status"] == "disabled"
    monkeypatch.delenv("SGFKIT_DISABLE_PLUGINS")
    monkeypatch.setenv("SGFKIT_LOAD_PLUGINS", "")
    reset_plugins()
    assert sgfkit.get_plugins() == []
    monkeypatch.setenv("SGFKIT_LOAD_PLUGINS", "sgfkit_tiny")  # entry-point names work too
    reset_plugins()
    assert "tiny-linear" in get_registry().names("generator")


def test_strict_mode_makes_a_failure_fatal(install, monkeypatch):
    install("sgfkit_broken", "raise RuntimeError('boom')\n")
    monkeypatch.setenv("SGFKIT_STRICT_PLUGINS", "1")
    with pytest.raises(PluginLoadError, match=r"sgfkit_broken' failed to import: RuntimeError: boom"):
        get_plugin_set()


def test_a_hook_that_raises_fails_only_its_plugin(install):
    install("sgfkit_raiser", """
        from sgfkit import hookimpl

        @hookimpl
        def sgfkit_register_metrics(register):
            register("ok-metric", "sgfkit_tiny.components:TinyGain")
            raise ValueError("half-way")
    """)
    assert "tiny-gain" in get_registry().names("metric")
    assert "ok-metric" not in get_registry().names("metric")
    raiser = _plugins()["sgfkit_raiser"]
    assert raiser["status"] == "failed"
    assert raiser["error"] == "sgfkit_register_metrics raised ValueError: half-way"


def test_a_bad_registration_fails_its_plugin(install):
    install("sgfkit_dotted", """
        from sgfkit import hookimpl

        @hookimpl
        def sgfkit_register_generators(register):
            register("dotted", "sgfkit_tiny.components.TinyGenerator")
    """)
    error = _plugins()["sgfkit_dotted"]["error"]
    assert "use a 'module:Class' string or the class itself" in error


def test_wrong_base_class_is_reported_when_resolved(install):
    install("sgfkit_wrongbase", """
        from sgfkit import hookimpl

        @hookimpl
        def sgfkit_register_generators(register):
            register("not-a-gen", "sgfkit_tiny.components:TinyColourEncoder")
            register("missing-mod", "sgfkit_nowhere.gen:Gen")
    """)
    with pytest.raises(PluginLoadError, match=r"registered 'not-a-gen' as a generator, but .*TinyColourEncoder "
                                              r"is not a subclass of sgfkit.Generator"):
        sgfkit.get_generator("not-a-gen")
    with pytest.raises(PluginLoadError, match=r"could not be imported from 'sgfkit_nowhere.gen:Gen': "
                                              r"ModuleNotFoundError"):
        sgfkit.get_generator("missing-mod")


def test_unknown_component_suggests_and_mentions_failed_plugins(install):
    install("sgfkit_broken", "raise ImportError('no gpu lib')\n")
    with pytest.raises(UnknownComponentError) as info:
        sgfkit.get_generator("tiny-linaer")
    message = str(info.value)
    assert "unknown generator 'tiny-linaer'. did you mean 'tiny-linear'? Available: tiny-linear, tiny-z" in message
    assert "note: plugin 'sgfkit_broken' is failed: ImportError: no gpu lib" in message
    assert isinstance(info.value, KeyError)


def test_aliases_resolve_to_the_same_class(tiny_plugins):
    reg = get_registry()
    assert reg.resolve("manipulator", "tiny-linear-shift") is reg.resolve("manipulator", "tiny-shift")
    assert [c["name"] for c in sgfkit.list_components("manipulator")] == ["tiny-shift"]


def test_in_process_plugins_and_a_fresh_set(tiny_plugins):
    from sgfkit_tiny.components import TinyGenerator

    class InProcess:
        __name__ = "in-process"

        @sgfkit.hookimpl
        def sgfkit_register_generators(self, register):
            register("class-gen", TinyGenerator, summary="registered as a class")

    set_plugin_set(build_plugin_set(load_entry_points=False, extra=[("in-process", InProcess())]))
    assert get_registry().names("generator") == ["class-gen"]
    assert sgfkit.get_generator("class-gen", resolution=4).resolution == 4
    assert isinstance(get_registry(), Registry)


def test_unknown_kind_is_a_clear_error():
    assert normalize_kind("encoders") == "condition-encoder"
    with pytest.raises(UnknownComponentError, match="unknown component kind 'generater'.*did you mean 'generator'"):
        normalize_kind("generater")


def test_weights_hook_is_collected(tiny_plugins):
    weights = sgfkit.list_weights()
    assert weights[0]["name"] == "tiny-weights" and weights[0]["plugin"] == "sgfkit_tiny"
    assert weights[0]["file_name"] == "tiny.safetensors"


def test_undeclared_condition_kind_is_refused_when_resolved(install):
    install("sgfkit_kinds", """
        from sgfkit import hookimpl
        from sgfkit_tiny.components import TinyColourEncoder, TinyShift

        class ColourWords(TinyColourEncoder):
            condition_kind = "colours"

        class WordShift(TinyShift):
            condition_kinds = ("attributes", "words")

        @hookimpl
        def sgfkit_register_condition_encoders(register):
            register("colour-words", ColourWords)

        @hookimpl
        def sgfkit_register_manipulators(register):
            register("word-shift", WordShift)
    """)
    with pytest.raises(PluginLoadError, match=r"condition_kind 'colours' is not one of attributes, keypoints"):
        get_registry().resolve("condition-encoder", "colour-words")
    with pytest.raises(PluginLoadError, match=r"condition_kinds lists unknown kinds 'words'"):
        get_registry().resolve("manipulator", "word-shift")


def test_each_hook_implementation_is_called_on_its_own():
    """One raising implementation fails its plugin only; the caller hears which, to forget what it gave."""
    import types

    from sgfkit import hookimpl

    calls: list[str] = []

    def plugin(name: str, fail: bool) -> types.SimpleNamespace:
        @hookimpl
        def sgfkit_register_commands(cli):
            calls.append(f"{name}:{cli}")
            if fail:
                raise RuntimeError("broken")
        return types.SimpleNamespace(sgfkit_register_commands=sgfkit_register_commands, __name__=name)

    pset = build_plugin_set(load_entry_points=False, extra=[("first", plugin("first", False)),
                                                             ("second", plugin("second", True)),
                                                             ("third", plugin("third", False))])
    failed: list[str] = []
    ok = pset.call_each("sgfkit_register_commands", lambda p: f"arg-for-{p}", failed.append)
    assert sorted(ok) == ["first", "third"] and failed == ["second"]
    assert sorted(calls) == ["first:arg-for-first", "second:arg-for-second", "third:arg-for-third"]
    info = pset.info("second")
    assert info.status == "failed" and info.error == "sgfkit_register_commands raised RuntimeError: broken"
    assert pset.manager.get_plugin("second") is None  # dropped: later hook calls skip it


def test_a_raising_weights_hook_drops_the_plugins_components(install):
    install("sgfkit_halfway", """
        from sgfkit import hookimpl

        @hookimpl
        def sgfkit_register_generators(register):
            register("halfway-gan", "sgfkit_tiny.components:TinyGenerator")

        @hookimpl
        def sgfkit_register_weights(register):
            raise ValueError("no weights today")
    """)
    assert "halfway-gan" not in get_registry().names("generator")
    assert "tiny-weights" in [w["name"] for w in sgfkit.list_weights()]
    assert _plugins()["sgfkit_halfway"]["error"] == "sgfkit_register_weights raised ValueError: no weights today"


def test_only_declared_params_follow_a_recipe_setting(install):
    """A metric parameter takes ``evaluation.delta`` because it declares ``follows``, not because of its name."""
    install("sgfkit_follow", """
        from sgfkit import hookimpl
        from sgfkit.params import Param
        from sgfkit_tiny.components import TinyGain

        class Follows(TinyGain):
            params = {"delta": Param(float, 0.2, "follows", follows="evaluation.delta"),
                      "samples": Param(int, 7, "follows a setting of another type", follows="evaluation.seed")}

        class SameName(TinyGain):
            params = {"delta": Param(float, 0.2, "its own threshold")}

        class FollowsNothing(TinyGain):
            params = {"delta": Param(float, 0.2, "a typo", follows="evaluation.detla")}

        class FollowsText(TinyGain):
            params = {"delta": Param(float, 0.2, "follows a text setting", follows="output.dir")}

        @hookimpl
        def sgfkit_register_metrics(register):
            register("follows", Follows)
            register("same-name", SameName)
            register("follows-nothing", FollowsNothing)
            register("follows-text", FollowsText)
    """)
    from pathlib import Path

    tiny = Path(__file__).parent / "fixtures" / "core" / "recipes" / "tiny.yaml"
    recipe = sgfkit.load_recipe(tiny, ["metrics=[{type: follows}, {type: same-name}, {type: follows, delta: 0.3}]",
                                       "evaluation.delta=0.1", "evaluation.seed=5"])
    followed, own, explicit = recipe.data["metrics"]
    assert (followed["delta"], followed["samples"]) == (0.1, 5)
    assert own["delta"] == 0.2 and explicit["delta"] == 0.3
    without = sgfkit.load_recipe(tiny, ["metrics=[{type: follows}]", "evaluation=null"])
    assert without.data["metrics"][0]["delta"] == 0.2  # no evaluation section: the default
    with pytest.raises(RecipeError) as err:
        sgfkit.load_recipe(tiny, ["metrics=[{type: follows-nothing}, {type: follows-text}]"])
    message = str(err.value)
    assert "metrics[0].delta (line 19): FollowsNothing declares that 'delta' follows 'evaluation.detla', which is no " \
           "recipe setting (a plugin bug); set 'delta' here" in message
    assert "output.dir (line 20): expected float, got str 'runs' (followed by metrics[1].delta)" in message
