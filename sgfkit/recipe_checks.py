"""Checks ``sgfkit validate`` runs after the schema, still without loading anything heavy (no torch).

Every file a component parameter names must exist now, not seconds into ``sgfkit run``; all missing
files are reported at once, each with its download help when a plugin declared it
(``sgfkit_register_weights``). Which parameters name files: those declared ``Param(..., path=True)``.

Target and attribute names are checked against the names an encoder declares without loading
(``ConditionEncoder.declared_names``); encoders that know them only after loading are listed in
:func:`deep_check`'s notes instead.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sgfkit.recipe import Problem, Recipe, RecipeError

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

    registry = get_registry()
    problems = []
    for path, cls in recipe.classes.items():
        section = _section(recipe.data, path)
        if section is None:
            continue
        for key in [k for k, param in cls.all_params().items() if param.path]:
            value = section.get(key)
            if not isinstance(value, str) or not value:
                continue
            try:
                locate_weights(value, base_dir=recipe.base_dir)
            except WeightsError as err:
                head = str(err).split("\n", 1)[0].removesuffix(" Looked in:")
                known = registry.known_weights(Path(value).name)
                problems.append(Problem(_key_path(path, key), None, head + _download_help(known)))
    return problems


def _download_help(known: Any) -> str:
    if known is None:
        return "; give a path that exists (relative to the recipe's folder) or see 'sgfkit weights'"
    return (f"; download it from {known.source} ({known.description}, licence {known.license}) "
            f"and put it in a folder 'sgfkit weights' lists")


def _defined_in_core(cls: type, method: str) -> bool:
    owner = next((k for k in cls.__mro__ if method in k.__dict__), None)
    return owner is not None and owner.__module__ == "sgfkit.components"


def generic_names(cls: type, flag: str, methods: tuple[str, ...]) -> bool:
    """Whether recipe names can be checked against ``declared_names``: a torch-free declaration says so
    with ``flag`` (``named_targets`` / ``named_conditions``); a component class, also by not overriding
    the core's ``methods``."""
    if not getattr(cls, flag, True):
        return False
    is_component = any(k.__module__ == "sgfkit.components" for k in cls.__mro__)
    return not is_component or all(_defined_in_core(cls, m) for m in methods)


def _declared(recipe: Recipe, section: str) -> tuple[str, list[str] | None]:
    cls = recipe.classes[section]
    params = recipe.data[section]
    declared = getattr(cls, "declared_names", None)
    return params["type"], (declared(params, recipe.base_dir) if declared is not None else None)


def _unknown(encoder: str, name: str, names: list[str]) -> str:
    from sgfkit.errors import did_you_mean

    return f"{encoder} has no condition named {name!r}.{did_you_mean(name, names)} Its conditions: {', '.join(names)}"


def name_problems(recipe: Recipe) -> tuple[list[Problem], list[str]]:
    """(problems, notes): edit targets and evaluation attributes against the encoders' declared names."""
    problems: list[Problem] = []
    notes: list[str] = []
    if "encoder" not in recipe.classes:
        return problems, notes
    enc_cls = recipe.classes["encoder"]
    encoder, names = _declared(recipe, "encoder")
    edits = recipe.data.get("edits") or {}
    # only the default {name: value, offset: {name: delta}} target form can be checked generically
    generic = generic_names(enc_cls, "named_targets", ("target", "target_dims", "index_of"))
    if edits.get("targets") and generic:
        if names is None:
            notes.append(f"encoder {encoder}: condition names are known only after loading it; "
                         "'sgfkit run' checks the targets before sampling")
        else:
            for i, item in enumerate(edits["targets"]):
                target = item.get("target") or {}
                used = [n for key, value in target.items()
                        for n in (dict(value) if key == "offset" and isinstance(value, dict) else [key])]
                problems += [Problem(("edits", "targets", i, "target"), None, _unknown(encoder, n, names))
                             for n in used if n not in names]
    evaluation = recipe.data.get("evaluation") or {}
    sections = ["encoder"] + (["evaluator"] if recipe.data.get("evaluator") and "evaluator" in recipe.classes else [])
    for section in sections if evaluation.get("attributes") else []:
        if not generic_names(recipe.classes[section], "named_conditions", ("index_of",)):
            continue
        name, declared = _declared(recipe, section)
        if declared is None:
            notes.append(f"{section} {name}: condition names are known only after loading it; "
                         "'sgfkit run' checks evaluation.attributes before sampling")
            continue
        problems += [Problem(("evaluation", "attributes", i), None, f"{section}: " + _unknown(name, a, declared))
                     for i, a in enumerate(evaluation["attributes"]) if a not in declared]
    return problems, notes


def deep_check(recipe: Recipe, origin: str) -> list[str]:
    """Raise one RecipeError listing every problem the schema could not see; else return notes
    (what could not be checked without loading)."""
    names, notes = name_problems(recipe)
    problems = missing_files(recipe) + names
    if problems:
        raise RecipeError(problems, origin)
    return notes
