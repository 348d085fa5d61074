"""Every hook is documented on docs/hooks.md and exercised by the tiny test plugin (datasette's rule)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from sgfkit import hookspecs

REPO = Path(__file__).resolve().parents[1]
HOOKS = sorted(name for name, value in vars(hookspecs).items()
               if name.startswith("sgfkit_") and callable(value) and hasattr(value, "sgfkit_spec"))


def test_hookspecs_are_found():
    assert "sgfkit_register_generators" in HOOKS and len(HOOKS) >= 6


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_section_on_the_hooks_page(hook):
    page = (REPO / "docs" / "hooks.md").read_text()
    assert re.search(rf"^## {hook}$", page, re.MULTILINE), f"docs/hooks.md has no '## {hook}' section"


@pytest.mark.parametrize("hook", HOOKS)
def test_tiny_plugin_exercises_the_hook(hook, tiny_plugins):
    import sgfkit_tiny.plugin

    assert callable(getattr(sgfkit_tiny.plugin, hook, None)), f"the tiny test plugin does not implement {hook}"


def test_tiny_projector_reproduces_a_tiny_render(tiny_plugins):
    import sgfkit

    generator = sgfkit.get_generator("tiny-linear", space="w+")
    target = generator.to_latents(generator.sample_z(2, 5))
    images = generator.synthesize(target)
    projection = sgfkit.get_projector("tiny-project", steps=300).project(images, generator)
    assert min(projection.scores["psnr"]) > 30 and projection.losses[-1] < projection.losses[0]


def test_the_kinds_table_matches_the_hooks_and_base_classes():
    from sgfkit import components
    from sgfkit.kinds import KIND_TABLE

    registration_hooks = {h for h in HOOKS if h not in ("sgfkit_register_commands", "sgfkit_register_weights")}
    assert {k.hook for k in KIND_TABLE} == registration_hooks
    for kind in KIND_TABLE:
        assert getattr(components, kind.base).kind == kind.name
