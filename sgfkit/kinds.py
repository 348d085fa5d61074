"""The component kinds: the one table that hooks, registry, base classes, CLI and API derive from.

Torch-free (``sgfkit list`` and ``--help`` read it). Adding a kind means one row here, its hookspec
in :mod:`sgfkit.hookspecs` and its base class in :mod:`sgfkit.components`.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """One component kind.

    Attributes:
        name: canonical name (``condition-encoder``); word: what users see and type (``encoders``);
        hook: the registration hook; base: the base class's name in :mod:`sgfkit.components`;
        aliases: other spellings accepted on the command line and in the API.
    """

    name: str
    word: str
    hook: str
    base: str
    aliases: tuple[str, ...] = ()


KIND_TABLE: tuple[Kind, ...] = (
    Kind("generator", "generators", "sgfkit_register_generators", "Generator"),
    Kind("condition-encoder", "encoders", "sgfkit_register_condition_encoders", "ConditionEncoder",
         ("encoder", "condition-encoders", "condition_encoder")),
    Kind("manipulator", "manipulators", "sgfkit_register_manipulators", "Manipulator"),
    Kind("metric", "metrics", "sgfkit_register_metrics", "Metric"),
    Kind("projector", "projectors", "sgfkit_register_projectors", "Projector"),
)

#: kind names in display order
KINDS: tuple[str, ...] = tuple(k.name for k in KIND_TABLE)
#: the one word users see for each kind (``sgfkit list KIND``, its help, its errors and table titles)
KIND_WORDS: dict[str, str] = {k.name: k.word for k in KIND_TABLE}
#: every accepted spelling -> kind name (words, plurals, aliases)
KIND_ALIASES: dict[str, str] = {alias: k.name for k in KIND_TABLE
                                for alias in (k.word, f"{k.name}s", *k.aliases) if alias != k.name}
#: hook name -> the kind it registers
KIND_OF_HOOK: dict[str, str] = {k.hook: k.name for k in KIND_TABLE}
