"""The programmatic API; the CLI is a thin layer over these functions.

Torch is imported only by the functions that build components or run recipes.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sgfkit.plugins import get_plugin_set
from sgfkit.registry import KINDS, get_registry, normalize_kind

if TYPE_CHECKING:
    from sgfkit.pipeline import RunResult
    from sgfkit.recipe import Recipe


def list_components(kind: str | None = None) -> list[dict[str, Any]]:
    """Registered components as dicts with keys kind, name, aliases, plugin, distribution, version, summary."""
    return [spec.as_dict() for spec in get_registry().components(kind)]


def get_plugins() -> list[dict[str, Any]]:
    """Every plugin sgfkit tried to load: name, distribution, version, hooks, status, error."""
    get_registry()  # running the register hooks may mark more plugins as failed
    return [info.as_dict() for info in get_plugin_set().plugins]


def list_weights() -> list[dict[str, Any]]:
    """Public checkpoints declared through ``sgfkit_register_weights``, with the plugin that declared each."""
    out = []
    for entry in get_registry().weights:
        data = entry.weights.as_dict() if hasattr(entry.weights, "as_dict") else dict(entry.weights)
        out.append({"name": entry.name, "plugin": entry.plugin, **data})
    return out


def component_class(kind: str, name: str) -> type:
    """The class registered as ``name`` (imports it; raises UnknownComponentError with a did-you-mean)."""
    return get_registry().resolve(normalize_kind(kind), name)


def find_component(name: str) -> tuple[str, type]:
    """Look ``name`` up in every kind: (kind, declaration). Used by ``sgfkit info``: the class's torch-free
    declaration (params, training options) when its plugin registered one, else the class itself."""
    from sgfkit.errors import UnknownComponentError, did_you_mean

    registry = get_registry()
    hits = [kind for kind in KINDS if name in registry.specs[kind]]
    if not hits:
        every = sorted({n for table in registry.specs.values() for n in table})
        raise UnknownComponentError(f"no component named {name!r}.{did_you_mean(name, every)} "
                                    f"Run 'sgfkit list' to see them all")
    return hits[0], registry.resolve_declaration(hits[0], name)


def _build(kind: str, name: str, params: dict[str, Any]) -> Any:
    return component_class(kind, name)(**params)


def get_generator(name: str, **params: Any) -> Any:
    """Build the generator registered as ``name`` with validated ``params``."""
    return _build("generator", name, params)


def get_condition_encoder(name: str, **params: Any) -> Any:
    """Build the condition encoder registered as ``name``."""
    return _build("condition-encoder", name, params)


def get_manipulator(name: str, **params: Any) -> Any:
    """Build the manipulator registered as ``name``."""
    return _build("manipulator", name, params)


def get_metric(name: str, **params: Any) -> Any:
    """Build the metric registered as ``name``."""
    return _build("metric", name, params)


def get_projector(name: str, **params: Any) -> Any:
    """Build the projector registered as ``name``."""
    return _build("projector", name, params)


def load_recipe(source: str | Path | dict[str, Any], overrides: Sequence[str] = ()) -> Recipe:
    """Read, override (``"a.b=value"``) and validate a recipe; raises RecipeError listing every problem."""
    from sgfkit.recipe import load_recipe as _load

    return _load(source, overrides)


def run(recipe: Recipe | str | Path | dict[str, Any], *, out_dir: str | Path | None = None,
        overrides: Sequence[str] = (), seed: int | None = None, device: str | None = None) -> RunResult:
    """Run a recipe end to end; returns where the outputs went and what was measured."""
    from sgfkit.pipeline import run_recipe
    from sgfkit.recipe import Recipe as _Recipe

    extra = list(overrides)
    if seed is not None:
        extra.append(f"seed={int(seed)}")
    if device is not None:
        extra.append(f"device={device}")
    if isinstance(recipe, _Recipe):
        if extra:
            recipe = load_recipe(recipe.source, [*recipe.overrides, *extra])
    else:
        recipe = load_recipe(recipe, extra)
    return run_recipe(recipe, out_dir=out_dir)
