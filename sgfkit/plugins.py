"""Plugin loading: one entry point at a time, with failures, clashes and hook typos recorded.

Plugins are modules exposed through the ``sgfkit`` entry-point group (the bundled ones too).
Each is imported on its own so that one broken plugin cannot take the others down; it is
recorded as ``failed`` (or ``clashing``) and shown by ``sgfkit list --plugins``.

Environment variables:
    ``SGFKIT_LOAD_PLUGINS=a,b``    load only these (entry-point or distribution names; ``""`` loads none).
    ``SGFKIT_DISABLE_PLUGINS=a,b`` skip these.
    ``SGFKIT_STRICT_PLUGINS=1``    any plugin failure raises :class:`PluginLoadError`.

Torch-free: importing this module or loading plugins never imports torch.
"""
from __future__ import annotations

import importlib.metadata as metadata
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from sgfkit import hookspecs
from sgfkit.errors import PluginLoadError, did_you_mean

GROUP = "sgfkit"


@dataclass
class PluginInfo:
    """What became of one plugin.

    Attributes:
        name: the plugin name (the entry-point name; the import name by convention).
        distribution: the installed distribution providing it (``None`` for in-process plugins).
        version: that distribution's version.
        hooks: the sgfkit hooks it implements.
        status: ``loaded`` | ``failed`` | ``clashing`` | ``disabled``.
        error: why it is not loaded (``None`` when loaded).
    """

    name: str
    distribution: str | None = None
    version: str | None = None
    hooks: list[str] = field(default_factory=list)
    status: str = "loaded"
    error: str | None = None
    module: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "distribution": self.distribution, "version": self.version,
                "hooks": list(self.hooks), "status": self.status, "error": self.error}


@dataclass
class PluginSet:
    """A plugin manager plus the record of every plugin it tried to load."""

    manager: pluggy.PluginManager
    plugins: list[PluginInfo]
    strict: bool = False

    def info(self, name: str) -> PluginInfo | None:
        return next((p for p in self.plugins if p.name == name), None)

    def loaded(self) -> list[PluginInfo]:
        return [p for p in self.plugins if p.status == "loaded"]

    def problems(self) -> list[PluginInfo]:
        return [p for p in self.plugins if p.status in ("failed", "clashing")]

    def mark_failed(self, name: str, error: str) -> None:
        """Record a failure found after loading (e.g. a hook that raised) and drop the plugin."""
        info = self.info(name)
        if info is None:
            info = PluginInfo(name=name)
            self.plugins.append(info)
        info.status, info.error = "failed", error
        plugin = self.manager.get_plugin(name)
        if plugin is not None:
            self.manager.unregister(plugin)
        if self.strict:
            raise PluginLoadError(f"plugin {name!r} failed: {error} (SGFKIT_STRICT_PLUGINS=1 makes this fatal)")

    def call_each(self, hook_name: str, arg_for: Callable[[str], Any],
                  on_failure: Callable[[str], None] | None = None) -> list[str]:
        """Call every implementation of ``hook_name`` on its own; return the plugins whose call succeeded.

        Each implementation gets ``arg_for(plugin_name)`` for every argument it names (all sgfkit hooks
        take one argument). One that raises is recorded as failed and dropped (:meth:`mark_failed`), and
        ``on_failure(plugin_name)`` lets the caller forget what that plugin gave before: a broken plugin
        never takes the others down (pluggy's own hook call would stop at the first exception).
        """
        succeeded = []
        for impl in getattr(self.manager.hook, hook_name).get_hookimpls():
            arg = arg_for(impl.plugin_name)
            try:
                impl.function(**{name: arg for name in impl.argnames})
            except Exception as exc:  # noqa: BLE001 - a hook that raises fails its plugin only
                if on_failure is not None:
                    on_failure(impl.plugin_name)
                self.mark_failed(impl.plugin_name, f"{hook_name} raised {type(exc).__name__}: {exc}")
                continue
            succeeded.append(impl.plugin_name)
        return succeeded


def _env_list(name: str) -> set[str] | None:
    raw = os.environ.get(name)
    if raw is None:
        return None
    return {_norm(part) for part in raw.split(",") if part.strip()}


def _norm(name: str) -> str:
    """Compare plugin names the way pip compares distribution names."""
    return name.strip().lower().replace("_", "-").replace(".", "-")


def _hook_names(obj: Any) -> list[str]:
    """Names of the attributes of ``obj`` that carry the sgfkit hookimpl marker."""
    marker = f"{hookspecs.PROJECT}_impl"
    names = []
    for attr in dir(obj):
        try:
            value = getattr(obj, attr)
        except Exception:  # noqa: BLE001 - a property may raise; it is not a hook
            continue
        if callable(value) and hasattr(value, marker):
            names.append(attr)
    return sorted(names)


def _spec_names() -> list[str]:
    return sorted(n for n in vars(hookspecs) if n.startswith("sgfkit_"))


def unknown_hooks(obj: Any) -> list[str]:
    """One message per hookimpl whose name matches no hook spec, with a did-you-mean."""
    specs = _spec_names()
    return [f"unknown hook {name!r}.{did_you_mean(name, specs)} Hooks: {', '.join(specs)}"
            for name in _hook_names(obj) if name not in specs]


def _selected(ep_name: str, dist: str | None, load: set[str] | None, disable: set[str] | None) -> bool | None:
    """True to load, False if disabled, None if not selected by SGFKIT_LOAD_PLUGINS."""
    keys = {_norm(ep_name)} | ({_norm(dist)} if dist else set())
    if disable and keys & disable:
        return False
    if load is not None and not keys & load:
        return None
    return True


def _entry_points() -> list[metadata.EntryPoint]:
    seen: set[tuple[str | None, str, str]] = set()
    result = []
    for ep in metadata.entry_points(group=GROUP):
        dist = ep.dist.metadata["Name"] if ep.dist is not None else None
        key = (dist and _norm(dist), ep.name, ep.value)
        if key not in seen:  # the same distribution found twice on sys.path is not a clash
            seen.add(key)
            result.append(ep)
    return result


def build_plugin_set(load_entry_points: bool = True, extra: Iterable[tuple[str, Any]] = ()) -> PluginSet:
    """A fresh plugin manager with every selected entry point loaded, one at a time.

    ``extra`` adds in-process plugins as ``(name, module_or_object)`` pairs (tests use this).
    Raises :class:`PluginLoadError` on the first problem when ``SGFKIT_STRICT_PLUGINS=1``.
    """
    strict = os.environ.get("SGFKIT_STRICT_PLUGINS", "") not in ("", "0", "false", "no")
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pset = PluginSet(pm, [], strict)
    load, disable = _env_list("SGFKIT_LOAD_PLUGINS"), _env_list("SGFKIT_DISABLE_PLUGINS")

    candidates: list[tuple[PluginInfo, Any]] = []
    if load_entry_points:
        for ep in _entry_points():
            dist = ep.dist.metadata["Name"] if ep.dist is not None else None
            version = ep.dist.version if ep.dist is not None else None
            info = PluginInfo(name=ep.name, distribution=dist, version=version, module=ep.value)
            choice = _selected(ep.name, dist, load, disable)
            if choice is None:
                continue
            if choice is False:
                info.status, info.error = "disabled", "disabled by SGFKIT_DISABLE_PLUGINS"
            candidates.append((info, ep))
    for name, obj in extra:
        candidates.append((PluginInfo(name=name, module=getattr(obj, "__name__", None)), obj))

    # Two distributions claiming one plugin name: report both, load neither (no silent winner).
    by_name: dict[str, list[PluginInfo]] = {}
    for info, _ in candidates:
        if info.status != "disabled":
            by_name.setdefault(info.name, []).append(info)
    for name, infos in by_name.items():
        if len(infos) > 1:
            providers = ", ".join(i.distribution or "(in-process)" for i in infos)
            for info in infos:
                info.status = "clashing"
                info.error = (f"plugin name {name!r} is provided by {len(infos)} distributions ({providers}); "
                              f"uninstall one or disable it with SGFKIT_DISABLE_PLUGINS=<distribution>")

    problems: list[str] = []
    for info, source in candidates:
        pset.plugins.append(info)
        if info.status != "loaded":
            if info.status == "clashing":
                problems.append(f"plugin {info.name!r}: {info.error}")
            continue
        try:
            obj = source.load() if isinstance(source, metadata.EntryPoint) else source
        except Exception as exc:  # noqa: BLE001 - any import failure is the plugin's, record it
            info.status, info.error = "failed", f"{type(exc).__name__}: {exc}"
            problems.append(f"plugin {info.name!r} failed to import: {info.error}")
            continue
        info.hooks = _hook_names(obj)
        typos = unknown_hooks(obj)
        if typos:
            info.status, info.error = "failed", "; ".join(typos)
            problems.append(f"plugin {info.name!r}: {info.error}")
            continue
        try:
            pm.register(obj, name=info.name)
        except Exception as exc:  # noqa: BLE001 - pluggy validation (bad hook arguments, duplicates)
            info.status, info.error = "failed", f"{type(exc).__name__}: {exc}"
            problems.append(f"plugin {info.name!r} could not be registered: {info.error}")
    if strict and problems:
        raise PluginLoadError("plugin problems (SGFKIT_STRICT_PLUGINS=1 makes them fatal):\n  "
                              + "\n  ".join(problems))
    return pset


_cached: PluginSet | None = None


def get_plugin_set() -> PluginSet:
    """The process-wide plugin set, loaded on first use."""
    global _cached
    if _cached is None:
        _cached = build_plugin_set()
    return _cached


def set_plugin_set(pset: PluginSet | None) -> None:
    """Replace (or with ``None`` forget) the process-wide plugin set. The registry follows by itself: it
    rebuilds whenever the plugin set it was made from is no longer the current one."""
    global _cached
    _cached = pset


def reset_plugins() -> None:
    """Forget loaded plugins so that the next use reloads them (tests; env var changes)."""
    set_plugin_set(None)
