"""Component registry: registry name -> component class, fed by the plugins' register hooks.

Registrations are lazy ``"module:Class"`` strings (or classes). Nothing is imported until a
component is resolved; then the class is checked against its kind's base class. Two plugins
registering the same name are both kept and reported; looking the name up names both.
Torch-free until :meth:`ComponentSpec.resolve` is called.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from sgfkit import hookspecs
from sgfkit.errors import PluginLoadError, SgfkitError, UnknownComponentError, did_you_mean
from sgfkit.kinds import KIND_ALIASES, KIND_WORDS, KINDS
from sgfkit.plugins import PluginSet, get_plugin_set

#: how help and errors list the kinds a user may type
KIND_CHOICES_TEXT = ", ".join(KIND_WORDS.values()) + " (singular forms and condition-encoder work too)"


class ComponentClashError(PluginLoadError):
    """Two plugins registered the same component name."""


def normalize_kind(kind: str) -> str:
    """Accept ``generators``, ``encoder`` ... and return the canonical kind name."""
    kind = KIND_ALIASES.get(kind, kind)
    if kind not in KINDS:
        raise UnknownComponentError(f"unknown component kind {kind!r}; use one of {KIND_CHOICES_TEXT}."
                                    + did_you_mean(kind, list(KINDS) + list(KIND_ALIASES)))
    return kind


@dataclass
class ComponentSpec:
    """One registration: what a plugin said about a component."""

    kind: str
    name: str
    ref: str | type
    plugin: str
    distribution: str | None = None
    version: str | None = None
    summary: str = ""
    aliases: tuple[str, ...] = ()
    #: a torch-free declaration class (``"module:Class"`` or the class) the component subclasses
    declaration: str | type | None = None
    _cls: type | None = field(default=None, repr=False)
    _declaration_cls: type | None = field(default=None, repr=False)

    @property
    def ref_text(self) -> str:
        if isinstance(self.ref, str):
            return self.ref
        return f"{self.ref.__module__}:{self.ref.__qualname__}"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "aliases": list(self.aliases), "plugin": self.plugin,
                "distribution": self.distribution, "version": self.version, "summary": self.summary}

    def _import(self, ref: str | type) -> type:
        if not isinstance(ref, str):
            return ref
        module_name, _, attr = ref.partition(":")
        try:
            obj: Any = importlib.import_module(module_name)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except SgfkitError:
            raise
        except Exception as exc:  # noqa: BLE001 - report any import failure with its plugin
            raise PluginLoadError(
                f"{self.kind} {self.name!r} from plugin {self.plugin!r} could not be imported from "
                f"{ref!r}: {type(exc).__name__}: {exc}") from exc
        return obj

    def _load_checked(self, ref: str | type, base: type, base_name: str) -> type:
        """Import ``ref``, check it subclasses ``base`` and that its declarations are valid; name it."""
        ref_text = ref if isinstance(ref, str) else f"{ref.__module__}:{ref.__qualname__}"
        cls = self._import(ref)
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise PluginLoadError(
                f"plugin {self.plugin!r} registered {self.name!r} as a {self.kind}, but {ref_text} is not "
                f"a subclass of {base_name}")
        problems = cls.declaration_problems()
        if problems:
            raise PluginLoadError(f"plugin {self.plugin!r} registered {self.name!r} ({ref_text}) with invalid "
                                  f"declarations: {'; '.join(problems)}")
        cls.registry_name = self.name
        return cls

    def resolve(self) -> type:
        """Import the class (first call only) and check it subclasses the kind's base class
        (and the registered declaration, if any)."""
        if self._cls is not None:
            return self._cls
        from sgfkit.components import KINDS as BASES  # imports torch: only when resolving

        base = BASES[self.kind]
        cls = self._load_checked(self.ref, base, f"sgfkit.{base.__name__}")
        declared = self.resolve_declaration() if self.declaration is not None else cls
        if not issubclass(cls, declared):
            raise PluginLoadError(
                f"plugin {self.plugin!r} registered {self.name!r} with the declaration {declared.__qualname__}, "
                f"but {self.ref_text} does not subclass it; make the component inherit its declaration")
        self._cls = cls
        return cls

    def resolve_declaration(self) -> type:
        """What recipe checks need (params, cross-checks, declared names) without importing the component:
        the registered torch-free declaration class, else the component class itself."""
        if self._cls is not None:
            return self._cls
        if self.declaration is None:
            return self.resolve()
        if self._declaration_cls is None:
            from sgfkit.declarations import DECLARATION_BASES

            base = DECLARATION_BASES[self.kind]
            self._declaration_cls = self._load_checked(self.declaration, base, f"sgfkit.declarations.{base.__name__}")
        return self._declaration_cls


@dataclass
class KnownWeightsEntry:
    name: str
    weights: Any  # sgfkit.weights.KnownWeights
    plugin: str


class Registry:
    """All registrations of a :class:`PluginSet`, per kind."""

    def __init__(self, pset: PluginSet) -> None:
        self.plugins = pset
        self.specs: dict[str, dict[str, list[ComponentSpec]]] = {k: {} for k in KINDS}
        self.weights: list[KnownWeightsEntry] = []
        for hook_name, kind in hookspecs.KIND_OF_HOOK.items():
            self._collect(hook_name, kind)
        self._collect_weights()

    def known_weights(self, file_name: str) -> Any | None:
        """The public checkpoint (``KnownWeights``) a plugin declared under ``file_name``, or None."""
        for entry in self.weights:
            if getattr(entry.weights, "file_name", None) == file_name:
                return entry.weights
        return None

    # -- collection -------------------------------------------------------------------------
    def _collect(self, hook_name: str, kind: str) -> None:
        made: dict[str, list[ComponentSpec]] = {}

        def register_for(plugin: str) -> Any:
            info = self.plugins.info(plugin)
            made[plugin] = []

            def register(name: str, component: str | type, *, summary: str = "",
                         aliases: tuple[str, ...] = (), declaration: str | type | None = None) -> None:
                if not isinstance(name, str) or not name:
                    raise PluginLoadError(f"registered a {kind} with an invalid name {name!r}")
                if isinstance(component, str) and ":" not in component:
                    raise PluginLoadError(f"registered {kind} {name!r} as {component!r}: "
                                          "use a 'module:Class' string or the class itself")
                if not isinstance(component, (str, type)):
                    raise PluginLoadError(f"registered {kind} {name!r} as {component!r}: "
                                          "use a 'module:Class' string or the class itself")
                if declaration is not None and not (isinstance(declaration, type) or
                                                    (isinstance(declaration, str) and ":" in declaration)):
                    raise PluginLoadError(f"registered {kind} {name!r} with the declaration {declaration!r}: "
                                          "use a 'module:Class' string or the class itself")
                made[plugin].append(ComponentSpec(kind, name, component, plugin,
                                                  info.distribution if info else None,
                                                  info.version if info else None, summary or "", tuple(aliases),
                                                  declaration))
            return register

        for plugin in self.plugins.call_each(hook_name, register_for, self._drop_plugin):
            for spec in made[plugin]:
                for key in (spec.name, *spec.aliases):
                    self.specs[kind].setdefault(key, []).append(spec)

    def _drop_plugin(self, plugin: str) -> None:
        for table in self.specs.values():
            for key in list(table):
                table[key] = [s for s in table[key] if s.plugin != plugin]
                if not table[key]:
                    del table[key]
        self.weights = [w for w in self.weights if w.plugin != plugin]

    def _collect_weights(self) -> None:
        made: dict[str, list[KnownWeightsEntry]] = {}

        def register_for(plugin: str) -> Any:
            made[plugin] = []
            return lambda name, weights, **_: made[plugin].append(KnownWeightsEntry(name, weights, plugin))

        for plugin in self.plugins.call_each("sgfkit_register_weights", register_for, self._drop_plugin):
            self.weights.extend(made[plugin])

    # -- queries ----------------------------------------------------------------------------
    def names(self, kind: str) -> list[str]:
        return sorted(self.specs[normalize_kind(kind)])

    def components(self, kind: str | None = None) -> list[ComponentSpec]:
        """Every registration (a clash shows both), canonical names only, sorted by kind and name."""
        kinds = [normalize_kind(kind)] if kind else list(KINDS)
        out = []
        for k in kinds:
            seen: set[int] = set()
            for key in sorted(self.specs[k]):
                for spec in self.specs[k][key]:
                    if id(spec) not in seen and key == spec.name:
                        seen.add(id(spec))
                        out.append(spec)
        return out

    def clashes(self) -> dict[tuple[str, str], list[ComponentSpec]]:
        return {(k, n): specs for k in KINDS for n, specs in self.specs[k].items() if len(specs) > 1}

    def get(self, kind: str, name: str) -> ComponentSpec:
        """The registration of ``name``; clear errors for unknown and clashing names."""
        kind = normalize_kind(kind)
        specs = self.specs[kind].get(name)
        if not specs:
            available = ", ".join(self.names(kind)) or "(none registered)"
            msg = f"unknown {kind} {name!r}.{did_you_mean(name, self.names(kind))} Available: {available}"
            for info in self.plugins.problems():
                msg += f"\n  note: plugin {info.name!r} is {info.status}: {info.error}"
            raise UnknownComponentError(msg)
        if len(specs) > 1:
            providers = ", ".join(f"plugin {s.plugin!r} ({s.distribution or 'in-process'})" for s in specs)
            raise ComponentClashError(
                f"{kind} {name!r} is registered by more than one plugin: {providers}. "
                f"Uninstall one, or disable one, e.g. SGFKIT_DISABLE_PLUGINS={specs[-1].distribution or specs[-1].plugin}")
        return specs[0]

    def resolve(self, kind: str, name: str) -> type:
        return self.get(kind, name).resolve()

    def resolve_declaration(self, kind: str, name: str) -> type:
        """The torch-free declaration of ``name`` when its plugin registered one, else its class."""
        return self.get(kind, name).resolve_declaration()


_registry: Registry | None = None


def get_registry() -> Registry:
    """The registry of the process-wide plugin set (built on first use)."""
    global _registry
    if _registry is None or _registry.plugins is not get_plugin_set():
        _registry = Registry(get_plugin_set())
    return _registry

