"""Declared, validated component parameters.

Every component class declares ``params: dict[str, Param]``. Recipes, ``sgfkit info`` and the
Python API (``get_generator(name, **params)``) all go through :func:`validate_params`, so a
misspelled key or a quoted number gets the same clear message everywhere.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sgfkit.errors import ParamError, did_you_mean


class _Required:
    def __repr__(self) -> str:
        return "<required>"


REQUIRED: Any = _Required()

_TYPE_NAMES = {int: "int", float: "float", str: "str", bool: "bool", list: "list", dict: "dict"}


@dataclass(frozen=True)
class Param:
    """One parameter: its type(s), default, help and optional constraints.

    ``type`` is a Python type or a tuple of them (``(int, str)``); ``float`` accepts ints.
    ``nullable`` allows ``None``; ``choices`` restricts the value; ``min``/``max`` bound numbers.
    ``follows`` (``"section.key"``): a recipe that leaves this parameter unset gives it the value of that
    recipe setting instead of the default (e.g. a metric's ``delta`` follows ``evaluation.delta``).
    """

    type: type | tuple[type, ...]
    default: Any = REQUIRED
    help: str = ""
    choices: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    nullable: bool = False
    item_type: type | None = None  # for lists: the type of each item
    path: bool = False  # names a file: a relative value is resolved against the recipe's folder when it exists there
    follows: str | None = None  # "section.key" of the recipe setting an unset value takes

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def type_name(self) -> str:
        types = self.type if isinstance(self.type, tuple) else (self.type,)
        name = " | ".join(_TYPE_NAMES.get(t, getattr(t, "__name__", str(t))) for t in types)
        if self.item_type is not None:
            name += f"[{_TYPE_NAMES.get(self.item_type, self.item_type.__name__)}]"
        return name + (" | null" if self.nullable else "")


def _looks_numeric(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def check_value(param: Param, value: Any) -> str | None:
    """Return a problem description, or ``None`` when ``value`` is acceptable for ``param``."""
    if value is None:
        return None if param.nullable else f"must not be null (expected {param.type_name()})"
    types = param.type if isinstance(param.type, tuple) else (param.type,)
    ok = False
    for t in types:
        if t is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            ok = True
        elif t is int and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        elif t is bool and isinstance(value, bool):
            ok = True
        elif t not in (int, float, bool) and isinstance(value, t):
            ok = True
    if not ok:
        msg = f"expected {param.type_name()}, got {type(value).__name__} {value!r}"
        if isinstance(value, str) and _looks_numeric(value) and ({int, float} & set(types)):
            msg += " (a quoted number: remove the quotes)"
        return msg
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value!r} is not a finite number (NaN and infinities cannot be settings)"
    if param.choices is not None and value not in param.choices:
        return (f"{value!r} is not one of {', '.join(map(repr, param.choices))}."
                + did_you_mean(str(value), map(str, param.choices)))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if param.min is not None and value < param.min:
            return f"{value!r} is below the minimum {param.min}"
        if param.max is not None and value > param.max:
            return f"{value!r} is above the maximum {param.max}"
    if param.item_type is not None and isinstance(value, list):
        item = Param(param.item_type)
        for i, v in enumerate(value):
            problem = check_value(item, v)
            if problem:
                return f"item {i}: {problem}"
    return None


def validate_params(
    spec: dict[str, Param], given: dict[str, Any], component: str = ""
) -> dict[str, Any]:
    """Check ``given`` against ``spec``; return the full parameter dict with defaults filled in.

    Raises :class:`ParamError` listing every problem at once (unknown keys with a
    did-you-mean and the accepted names, missing required keys, wrong types, out-of-range values).
    """
    problems: list[tuple[str, str]] = []
    for key in given:
        if key not in spec:
            accepted = ", ".join(sorted(spec)) or "(none)"
            problems.append((key, f"unknown parameter.{did_you_mean(key, spec)} accepted: {accepted}"))
    resolved: dict[str, Any] = {}
    for key, param in spec.items():
        if key in given:
            problem = check_value(param, given[key])
            if problem:
                problems.append((key, problem))
            resolved[key] = given[key]
        elif param.required:
            problems.append((key, f"required parameter is missing ({param.type_name()}: {param.help})"))
        else:
            resolved[key] = param.default
    if problems:
        raise ParamError(problems, component)
    return resolved
