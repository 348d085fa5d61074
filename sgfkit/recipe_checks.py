"""Checks ``sgfkit validate`` runs after the schema, still without loading anything heavy (no torch).

Every file a component parameter names must exist now, not seconds into ``sgfkit run``; all missing
files are reported at once, each with its download help when a plugin declared it
(``sgfkit_register_weights``). Which parameters name files: a component class may list them in
``file_params``; otherwise the usual names (:data:`FILE_PARAMS`) are checked.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sgfkit.recipe import Problem, Recipe, RecipeError

#: parameter names that hold a file path when a component does not declare ``file_params``
FILE_PARAMS = ("checkpoint", "weights", "head", "tag_list")


def _section(data: dict[str, Any], path: str) -> dict[str, Any] | None:
    match = re.fullmatch(r"(\w+)(?:\[(\d+)\])?", path)
    if match is None:
        return None
    value = data.get(match.group(1))
    if match.group(2) is not None:
        value = value[int(match.group(2))] if isinstance(value, list) and int(match.group(2)) < len(value) else None
    return value if isinstance(value, dict) else None


def _key_path(path: str, key: str) -> tuple[Any, ...]:
    match = re.fullmatch(r"(\w+)(?:\[(\d+)\])?", path)
    assert match is not None
    head = (match.group(1),) if match.group(2) is None else (match.group(1), int(match.group(2)))
    return (*head, key)


def missing_files(recipe: Recipe) -> list[Problem]:
    """One problem per component parameter whose file cannot be found (with download help if known)."""
    from sgfkit.errors import WeightsError
    from sgfkit.registry import get_registry
    from sgfkit.weights import locate_weights

    known = {}
    for entry in get_registry().weights:
        w = entry.weights
        name = w.file_name if hasattr(w, "file_name") else dict(w).get("file_name")
        known[name] = w
    problems = []
    for path, cls in recipe.classes.items():
        section = _section(recipe.data, path)
        if section is None:
            continue
        for key in getattr(cls, "file_params", FILE_PARAMS):
            value = section.get(key)
            if not isinstance(value, str) or not value:
                continue
            try:
                locate_weights(value, base_dir=recipe.base_dir, known=known.get(Path(value).name))
            except WeightsError as err:
                head = str(err).split("\n", 1)[0].removesuffix(" Looked in:")
                problems.append(Problem(_key_path(path, key), None, head + _download_help(known.get(Path(value).name))))
    return problems


def _download_help(known: Any) -> str:
    if known is None:
        return "; give a path that exists (relative to the recipe's folder) or see 'sgfkit weights'"
    return (f"; download it from {known.source} ({known.description}, licence {known.license}) "
            f"and put it in a folder 'sgfkit weights' lists")


def deep_check(recipe: Recipe, origin: str) -> None:
    """Raise one RecipeError listing every problem the schema could not see."""
    problems = missing_files(recipe)
    if problems:
        raise RecipeError(problems, origin)
