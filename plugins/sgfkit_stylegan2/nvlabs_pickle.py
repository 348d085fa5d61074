"""Read NVlabs network pickles (stylegan2-ada-pytorch, stylegan3, TF stylegan2) as data, never as code.

A snapshot ``.pkl`` is a plain pickle of ``dict(G=..., D=..., G_ema=..., ...)`` whose networks are
``torch_utils.persistence`` objects: ``_reconstruct_persistent_obj(meta)`` with ``meta`` holding the
module's full source text (``module_src``), its class name and its ``__dict__`` (``state``). The
official loader ``exec``s that source. Here the reconstructor is replaced by one that keeps the class
name and state and only hashes the source; every other global must be on a short allow-list of
tensor / numpy / container builders, so a hostile file cannot run anything.
"""
from __future__ import annotations

import hashlib
import io
import math
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from sgfkit.errors import WeightsError
from sgfkit.safe_pickle import UNPICKLING_ERRORS, RestrictedUnpickler, check_plain_dtype, numpy_allowlist
from sgfkit.torch_files import TorchStorage, read_torch_bytes, tensor_globals
from sgfkit_stylegan2.tf_pickle import TFNetwork


class EasyDict(dict):
    """Stand-in for ``dnnlib.util.EasyDict`` (a dict with attribute access): kept as plain data."""


@dataclass
class PersistentObject:
    """What a persistent network object holds, without its class being imported or built.

    Attributes:
        class_name: e.g. ``Generator``, ``MappingNetwork``.
        state: the module's ``__dict__`` (``_parameters``, ``_buffers``, ``_modules``, attributes,
            ``_init_args`` / ``_init_kwargs``).
        source_sha256: digest of the embedded source text (identifies the codebase; never executed).
        source_markers: class names defined in the embedded source (``SynthesisInput`` => StyleGAN3).
    """

    class_name: str
    state: dict[str, Any]
    source_sha256: str = ""
    source_markers: frozenset[str] = field(default_factory=frozenset)

    @property
    def children(self) -> dict[str, Any]:
        return dict(self.state.get("_modules") or {})

    def init_kwargs(self) -> dict[str, Any]:
        """Constructor keyword arguments recorded by the persistence wrapper (plain dicts)."""
        kwargs = self.state.get("_init_kwargs")
        return _plain(kwargs) if isinstance(kwargs, dict) else {}

    def init_args(self) -> tuple[Any, ...]:
        args = self.state.get("_init_args")
        return tuple(_plain(a) for a in args) if isinstance(args, (tuple, list)) else ()

    def state_dict(self, prefix: str = "") -> dict[str, torch.Tensor]:
        """Parameters and persistent buffers of this module and its children, like ``Module.state_dict``."""
        out: dict[str, torch.Tensor] = {}
        skip = set(self.state.get("_non_persistent_buffers_set") or ())
        for group in ("_parameters", "_buffers"):
            for name, value in (self.state.get(group) or {}).items():
                if value is None or (group == "_buffers" and name in skip):
                    continue
                if isinstance(value, torch.Tensor):
                    out[prefix + name] = value.detach()
        for name, child in self.children.items():
            if isinstance(child, PersistentObject):
                out.update(child.state_dict(f"{prefix}{name}."))
        return out


def _plain(value: Any) -> Any:
    """EasyDicts and nested containers as plain dicts / lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _class_names_in(source: str) -> frozenset[str]:
    names = set()
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("class "):
            names.add(stripped[6:].split("(")[0].split(":")[0].strip())
    return frozenset(names)


def _make_reconstructor(source: str):
    def reconstruct_persistent_obj(meta: Any) -> PersistentObject:
        """Replacement for ``torch_utils.persistence._reconstruct_persistent_obj``: data only, no exec."""
        if not isinstance(meta, dict) or meta.get("type") != "class" or not isinstance(meta.get("state"), dict):
            raise WeightsError(f"{source}: a persistent object in this pickle is malformed "
                               "(expected dict(type='class', class_name=..., state=...))")
        module_src = meta.get("module_src")
        text = module_src if isinstance(module_src, str) else ""
        return PersistentObject(class_name=str(meta.get("class_name", "")), state=meta["state"],
                                source_sha256=hashlib.sha256(text.encode("utf-8", "replace")).hexdigest(),
                                source_markers=_class_names_in(text))
    return reconstruct_persistent_obj


def _make_storage_reader(source: str):
    def load_storage_bytes(blob: Any) -> Any:
        """Replacement for ``torch.storage._load_from_bytes``: one storage read as data, its size checked
        against the blob's bytes before anything is allocated."""
        if not isinstance(blob, (bytes, bytearray)):
            raise WeightsError(f"{source}: a tensor storage in this pickle is not a byte string")
        storage = read_torch_bytes(bytes(blob), source=source, what="tensor storage of an NVlabs network pickle")
        if not isinstance(storage, TorchStorage):
            raise WeightsError(f"{source}: a tensor storage in this pickle holds a {type(storage).__name__}, "
                               "not a storage; the file is corrupt or not an NVlabs network pickle")
        return storage
    return load_storage_bytes


def _safe_frombuffer(buf: Any, dtype: Any, shape: Any, order: str) -> Any:
    """numpy's protocol-5 array rebuild for plain numeric arrays whose bytes match their shape."""
    import numpy as np

    dtype = check_plain_dtype(dtype, "network pickle")
    raw = memoryview(buf).cast("B") if not isinstance(buf, (bytes, bytearray)) else buf
    if not isinstance(shape, tuple) or not all(isinstance(n, int) and n >= 0 for n in shape) \
            or math.prod(shape) * dtype.itemsize != len(raw) or order not in ("C", "F"):
        raise WeightsError("a numpy array in this network pickle declares a shape its bytes do not fill")
    return np.frombuffer(raw, dtype=dtype).reshape(shape, order=order).copy()


def nvlabs_allowlist(source: str) -> dict[tuple[str, str], Any]:
    """(module, name) -> the object used in its place, for NVlabs network pickles."""
    allowed = dict(numpy_allowlist())
    allowed.update(tensor_globals(source))
    for mod in ("numpy.core.numeric", "numpy._core.numeric"):   # protocol-5 numpy arrays
        allowed[(mod, "_frombuffer")] = _safe_frombuffer
    allowed.update({
        ("torch_utils.persistence", "_reconstruct_persistent_obj"): _make_reconstructor(source),
        ("dnnlib.util", "EasyDict"): EasyDict,
        ("dnnlib", "EasyDict"): EasyDict,
        ("dnnlib.tflib.network", "Network"): TFNetwork,
        ("builtins", "set"): set,
        ("builtins", "frozenset"): frozenset,
        ("torch.storage", "_load_from_bytes"): _make_storage_reader(source),
    })
    return allowed


def read_network_pickle(path: str | Path) -> Any:
    """Unpickle an NVlabs ``.pkl`` with the allow-list; networks come back as :class:`PersistentObject`.

    Raises :class:`WeightsError` naming the file for a refused global, a truncated or corrupt stream.
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        return RestrictedUnpickler(io.BytesIO(data), nvlabs_allowlist(str(path)), source=str(path),
                                   buildable=(TFNetwork,)).load()
    except WeightsError:
        raise
    except (pickle.UnpicklingError, EOFError) as exc:
        raise WeightsError(f"{path}: the pickle stream is incomplete or corrupt ({type(exc).__name__}: {exc}); "
                           "the download may be truncated: fetch it again") from None
    except RecursionError:
        raise WeightsError(f"{path}: the pickle nests objects too deeply; the file is malformed") from None
    except UNPICKLING_ERRORS as exc:  # what malformed opcodes raise inside pickle and the allow-listed callables
        raise WeightsError(f"{path}: not a readable network pickle ({type(exc).__name__}: {exc}); "
                           "the file may be truncated or of another format") from None
