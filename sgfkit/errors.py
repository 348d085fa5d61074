"""Exceptions meant for users: each names the problem and, where it can, the fix.

The CLI turns every :class:`SgfkitError` into a one-paragraph message and exit code 1
(no traceback unless ``SGFKIT_DEBUG=1``).
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class SgfkitError(Exception):
    """Base class of every error sgfkit reports to a user."""


class ComponentError(SgfkitError):
    """A component got input it cannot use (wrong shape, non-finite latents, bad target...)."""


class WeightsError(SgfkitError):
    """Weights are missing, corrupt, of the wrong format or of the wrong shape."""


class PluginLoadError(SgfkitError):
    """A plugin failed to load, or registered something invalid (fatal in strict mode)."""


class RequestError(SgfkitError):
    """A request to ``sgfkit serve`` that cannot be served (bad seed, unknown attribute, ...): HTTP 400."""


class UnknownComponentError(SgfkitError, KeyError):
    """A component name that no plugin registered."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class ParamError(SgfkitError):
    """One or more component parameters are invalid. ``problems`` holds (key, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]], component: str = ""):
        self.problems = problems
        self.component = component
        head = f"invalid parameters for {component}" if component else "invalid parameters"
        lines = [f"{head}:"] + [f"  {key}: {msg}" for key, msg in problems]
        super().__init__("\n".join(lines))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return ``" did you mean 'x'?"`` for the closest choice, or ``""`` if none is close."""
    matches = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" did you mean '{matches[0]}'?" if matches else ""


class ImageError(SgfkitError):
    """An input image is missing, empty, unreadable or not an image."""
