"""The hooks a plugin implements. One per component kind (five), plus one for CLI commands.

Each registration hook receives a ``register`` callback::

    @sgfkit.hookimpl
    def sgfkit_register_generators(register):
        register("my-gan", "my_package.generator:MyGenerator", summary="My GAN")

The component is a lazy ``"module:Class"`` string (preferred: ``sgfkit list`` never imports it)
or the class itself. It is checked against the kind's base class when first resolved.
``declaration="my_package.params:MyGeneratorDeclaration"`` names the component's torch-free
declaration class (its params and recipe checks, see :mod:`sgfkit.declarations`), which the
component subclasses: ``sgfkit validate`` then checks recipes without importing the component.
This module must stay free of torch imports.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import pluggy

from sgfkit.kinds import KIND_OF_HOOK as _KIND_OF_HOOK

PROJECT = "sgfkit"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

if TYPE_CHECKING:
    import click


class Register(Protocol):
    """The callback a component registration hook receives."""

    def __call__(self, name: str, component: str | type, *, summary: str = "",
                 aliases: tuple[str, ...] = (), declaration: str | type | None = None) -> None: ...


class RegisterWeights(Protocol):
    """The callback ``sgfkit_register_weights`` receives: a name and a :class:`sgfkit.weights.KnownWeights`."""

    def __call__(self, name: str, weights: Any) -> None: ...


@hookspec
def sgfkit_register_generators(register: Register) -> None:
    """Register generators (subclasses of :class:`sgfkit.Generator`)."""


@hookspec
def sgfkit_register_condition_encoders(register: Register) -> None:
    """Register condition encoders (subclasses of :class:`sgfkit.ConditionEncoder`)."""


@hookspec
def sgfkit_register_manipulators(register: Register) -> None:
    """Register manipulators (subclasses of :class:`sgfkit.Manipulator`)."""


@hookspec
def sgfkit_register_metrics(register: Register) -> None:
    """Register metrics (subclasses of :class:`sgfkit.Metric`)."""


@hookspec
def sgfkit_register_projectors(register: Register) -> None:
    """Register projectors (subclasses of :class:`sgfkit.Projector`): images -> latents."""


@hookspec
def sgfkit_register_commands(cli: click.Group) -> None:
    """Add subcommands to the ``sgfkit`` CLI (import heavy modules inside the command)."""


#: hook name -> component kind it registers (from the one kinds table)
KIND_OF_HOOK: dict[str, str] = _KIND_OF_HOOK


@hookspec
def sgfkit_register_weights(register: RegisterWeights) -> None:
    """Declare public checkpoints a plugin can load (listed by ``sgfkit weights``).

    Call ``register(name, KnownWeights(...))`` with a :class:`sgfkit.weights.KnownWeights`
    (import it inside the hook; it is torch-free).
    """
