"""sgfkit: edit images by moving through the latent space of a pretrained GAN.

The public API is loaded lazily so that ``import sgfkit`` (and ``sgfkit list``) stays free of torch.
"""
from __future__ import annotations

import importlib
from typing import Any

from sgfkit.hookspecs import hookimpl

__version__ = "0.1.0"

# public name -> "module:attribute"
_LAZY = {
    "Generator": "sgfkit.components:Generator",
    "ConditionEncoder": "sgfkit.components:ConditionEncoder",
    "Manipulator": "sgfkit.components:Manipulator",
    "Metric": "sgfkit.components:Metric",
    "Projector": "sgfkit.components:Projector",
    "Projection": "sgfkit.components:Projection",
    "EditRequest": "sgfkit.components:EditRequest",
    "EditResult": "sgfkit.components:EditResult",
    "EditEvaluation": "sgfkit.components:EditEvaluation",
    "MetricResult": "sgfkit.components:MetricResult",
    "EditOutcome": "sgfkit.components:EditOutcome",
    "KnownWeights": "sgfkit.weights:KnownWeights",
    "Latents": "sgfkit.latents:Latents",
    "LatentDataset": "sgfkit.dataset:LatentDataset",
    "Param": "sgfkit.params:Param",
    "SgfkitError": "sgfkit.errors:SgfkitError",
    "ComponentError": "sgfkit.errors:ComponentError",
    "WeightsError": "sgfkit.errors:WeightsError",
    "PluginLoadError": "sgfkit.errors:PluginLoadError",
    "UnknownComponentError": "sgfkit.errors:UnknownComponentError",
    "ParamError": "sgfkit.errors:ParamError",
    "progress_task": "sgfkit.progress:progress_task",
    # programmatic API (mirrors the CLI); torch loads only when components are built or run
    "load_recipe": "sgfkit.api:load_recipe",
    "run": "sgfkit.api:run",
    "list_components": "sgfkit.api:list_components",
    "get_plugins": "sgfkit.api:get_plugins",
    "list_weights": "sgfkit.api:list_weights",
    "get_generator": "sgfkit.api:get_generator",
    "get_condition_encoder": "sgfkit.api:get_condition_encoder",
    "get_manipulator": "sgfkit.api:get_manipulator",
    "get_metric": "sgfkit.api:get_metric",
    "get_projector": "sgfkit.api:get_projector",
    "project": "sgfkit.projection:project",
    "edit": "sgfkit.projection:edit",
    "load_images": "sgfkit.images:load_images",
    "Recipe": "sgfkit.recipe:Recipe",
    "RecipeError": "sgfkit.recipe:RecipeError",
    "RunResult": "sgfkit.pipeline:RunResult",
    "PluginInfo": "sgfkit.plugins:PluginInfo",
}

__all__ = ["hookimpl", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'sgfkit' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value
