"""Restricted unpickling: checkpoints are data, never code.

Pickle-based checkpoint formats (NVlabs network pickles, VGGFace2 ``.pkl`` weight dicts, legacy
torch files of whole modules) name Python callables that plain ``pickle`` would import and call.
:class:`RestrictedUnpickler` resolves only an explicit allow-list of (module, name) pairs, each
mapped to a callable *we* choose, and reports anything else as a :class:`WeightsError`.
"""
from __future__ import annotations

import io
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from sgfkit.errors import WeightsError


class ForbiddenGlobal(WeightsError):
    """The pickle asked for a callable that is not on the allow-list."""


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler whose ``find_class`` only returns allow-listed objects.

    Args:
        file: binary stream.
        allowed: maps ``(module, qualname)`` to the object to use in its place.
        source: a label for error messages (usually the file path).
        persistent_load: optional handler for persistent ids (torch storages).
    """

    def __init__(self, file: BinaryIO, allowed: Mapping[tuple[str, str], Any], *, source: str = "<stream>",
                 persistent_load: Callable[[Any], Any] | None = None, encoding: str = "ASCII") -> None:
        super().__init__(file, encoding=encoding)
        self._allowed = dict(allowed)
        self._source = source
        if persistent_load is not None:
            self.persistent_load = persistent_load  # type: ignore[method-assign]

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise ForbiddenGlobal(
                f"{self._source}: refused to load '{module}.{name}': sgfkit never runs code from a "
                "checkpoint, and this object is not part of any weights format it knows. "
                "If this is a genuine checkpoint, convert it to a plain state dict (or safetensors).") from None


def _numpy_globals() -> dict[tuple[str, str], Any]:
    import numpy as np

    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray  # type: ignore[no-redef]
    allowed: dict[tuple[str, str], Any] = {}
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(mod, "_reconstruct")] = multiarray._reconstruct
        allowed[(mod, "scalar")] = multiarray.scalar
    allowed[("numpy", "ndarray")] = np.ndarray
    allowed[("numpy", "dtype")] = np.dtype
    allowed[("collections", "OrderedDict")] = __import__("collections").OrderedDict
    # protocol-2 pickles rebuild bytes with _codecs.encode(str, "latin1"): pure data, no side effects
    allowed[("_codecs", "encode")] = __import__("codecs").encode
    return allowed


def numpy_allowlist() -> dict[tuple[str, str], Any]:
    """Allow-list for pickles of plain containers holding numpy arrays and scalars."""
    return _numpy_globals()


def load_restricted(path: str | Path, allowed: Mapping[tuple[str, str], Any], *, encoding: str = "ASCII",
                    persistent_load: Callable[[Any], Any] | None = None) -> Any:
    """Unpickle ``path`` with only ``allowed`` globals. Errors name the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    data = path.read_bytes()
    try:
        return RestrictedUnpickler(io.BytesIO(data), allowed, source=str(path), encoding=encoding,
                                   persistent_load=persistent_load).load()
    except WeightsError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise WeightsError(f"{path}: not a readable pickle ({type(exc).__name__}: {exc}); "
                           "the file may be truncated or of another format") from None
