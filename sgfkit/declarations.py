"""What a component declares about itself, importable without torch.

A component's class-level surface (its parameters, recipe cross-checks, the condition names an
encoder will have, which condition kinds a manipulator can target) is what ``sgfkit validate``,
``sgfkit info`` and recipe loading need. It lives in these torch-free declaration classes; the
component base classes in :mod:`sgfkit.components` inherit from them and add the model code.

A plugin may register a component together with its declaration class (a ``"module:Class"`` string
whose module imports no torch); then checking a recipe never imports the component's module, and
validation answers in a fraction of a second. The component class must subclass its declaration
(the registry checks this when it loads the component).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from sgfkit.params import Param

#: what an encoder's conditions may be
CONDITION_KINDS = ("attributes", "keypoints", "embedding", "mixed")


class ComponentDeclaration:
    """Declared params (merged along the class hierarchy) and recipe cross-checks."""

    kind: ClassVar[str] = "component"
    params: ClassVar[dict[str, Param]] = {}
    #: the name the registry knows this class by (set when the registry resolves it)
    registry_name: ClassVar[str] = ""

    @classmethod
    def all_params(cls) -> dict[str, Param]:
        """Parameters of this class and its bases (subclass entries win)."""
        merged: dict[str, Param] = {}
        for klass in reversed(cls.__mro__):
            merged.update(vars(klass).get("params", {}))
        return merged

    @classmethod
    def check_recipe(cls, params: dict[str, Any], recipe: dict[str, Any]) -> list[tuple[str, str]]:
        """Cross-checks against the rest of the recipe, before anything heavy loads.

        Returns (key, message) problems with keys relative to this component's section.
        """
        return []

    @classmethod
    def declaration_problems(cls) -> list[str]:
        """What is wrong with the class-level declarations (checked once, when the registry resolves it)."""
        return []


class GeneratorDeclaration(ComponentDeclaration):
    """A generator's latent spaces and its sampling parameters."""

    kind: ClassVar[str] = "generator"
    spaces: ClassVar[tuple[str, ...]] = ("z", "w", "w+")
    params: ClassVar[dict[str, Param]] = {
        "space": Param(str, "w", "latent space the manipulators work in", choices=("z", "w", "w+")),
        "truncation": Param(float, 1.0, "truncation psi: w_avg + psi * (w - w_avg)", min=0.0, max=2.0),
        "truncation_cutoff": Param(int, None, "apply truncation to the first N layers only", nullable=True, min=1),
    }

    @classmethod
    def check_recipe(cls, params: dict[str, Any], recipe: dict[str, Any]) -> list[tuple[str, str]]:
        space = params.get("space", "w")
        if space in ("z", "w", "w+") and space not in cls.spaces:
            return [("space", f"this generator supports only {', '.join(cls.spaces)}, not {space!r}")]
        return []


class ConditionEncoderDeclaration(ComponentDeclaration):
    """An encoder's condition kind, its training options and the names it will output."""

    kind: ClassVar[str] = "condition-encoder"
    condition_kind: ClassVar[str] = "attributes"
    #: options of ``train``, for encoders whose shipped weights sgfkit trains itself
    training_params: ClassVar[dict[str, Param]] = {}
    #: targets are ``{condition name: value}`` / ``{offset: {name: delta}}`` mappings, so ``sgfkit
    #: validate`` can check their names against :meth:`declared_names` (False: the encoder reads
    #: targets its own way, e.g. sentences or keypoint moves)
    named_targets: ClassVar[bool] = True
    #: ``evaluation.attributes`` name conditions of this encoder (False: it looks them up its own way)
    named_conditions: ClassVar[bool] = True

    @classmethod
    def declaration_problems(cls) -> list[str]:
        if cls.condition_kind not in CONDITION_KINDS:
            return [f"condition_kind {cls.condition_kind!r} is not one of {', '.join(CONDITION_KINDS)}"]
        return []

    @classmethod
    def declared_names(cls, params: dict[str, Any], base_dir: Path | None = None) -> list[str] | None:
        """The condition names an encoder built with ``params`` will have, found without loading it
        (``sgfkit validate`` checks targets against them); ``None``: known only after loading."""
        return None


class ManipulatorDeclaration(ComponentDeclaration):
    """A manipulator's label, strength grid and the condition kinds it can target."""

    kind: ClassVar[str] = "manipulator"
    #: condition kinds this method can target
    condition_kinds: ClassVar[tuple[str, ...]] = CONDITION_KINDS
    params: ClassVar[dict[str, Param]] = {
        "label": Param(str, None, "name shown in tables and grids (default: the type)", nullable=True),
        "strengths": Param(list, None, "strength grid for MDC sweeps (method-specific units)",
                           nullable=True, item_type=float),
    }

    @classmethod
    def declaration_problems(cls) -> list[str]:
        unknown = [k for k in cls.condition_kinds if k not in CONDITION_KINDS]
        return [f"condition_kinds lists unknown kinds {', '.join(map(repr, unknown))} "
                f"(known: {', '.join(CONDITION_KINDS)})"] if unknown else []


class MetricDeclaration(ComponentDeclaration):
    """A metric's parameters."""

    kind: ClassVar[str] = "metric"


class ProjectorDeclaration(ComponentDeclaration):
    """A projector's output space."""

    kind: ClassVar[str] = "projector"
    params: ClassVar[dict[str, Param]] = {
        "space": Param(str, "w+", "latent space of the projections (w+ reconstructs better, w edits better)",
                       choices=("w", "w+")),
    }


#: kind -> the declaration base class a registered declaration must subclass
DECLARATION_BASES: dict[str, type[ComponentDeclaration]] = {
    cls.kind: cls for cls in (GeneratorDeclaration, ConditionEncoderDeclaration, ManipulatorDeclaration,
                              MetricDeclaration, ProjectorDeclaration)
}
