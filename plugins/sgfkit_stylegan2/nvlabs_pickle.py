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
import pickle
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from sgfkit.errors import WeightsError
from sgfkit.safe_pickle import RestrictedUnpickler, numpy_allowlist
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
        """Replacement for ``torch.storage._load_from_bytes``: a weights-only read of one storage."""
        if not isinstance(blob, (bytes, bytearray)):
            raise WeightsError(f"{source}: a tensor storage in this pickle is not a byte string")
        try:
            return torch.load(io.BytesIO(bytes(blob)), weights_only=True, map_location="cpu")
        except Exception as exc:  # noqa: BLE001 - any failure here means a corrupt or hostile blob
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise WeightsError(f"{source}: a tensor storage could not be read as plain data ({first}); "
                               "the file is corrupt or not an NVlabs network pickle") from None
    return load_storage_bytes


def _safe_scalar(scalar_fn):
    def scalar(dtype: Any, *args: Any) -> Any:
        if getattr(dtype, "hasobject", False):
            raise WeightsError("refused a numpy object scalar in a network pickle")
        return scalar_fn(dtype, *args)
    return scalar


def _rebuild_tensor_v2(storage: Any, offset: int, size: Any, stride: Any, requires_grad: bool = False,
                       backward_hooks: Any = None, metadata: Any = None) -> torch.Tensor:
    """torch's tensor rebuild, minus backward hooks (a file must not attach callables to tensors)."""
    return torch._utils._rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())


def _rebuild_parameter(data: Any, requires_grad: bool = False, backward_hooks: Any = None) -> torch.Tensor:
    """Parameters come back as plain tensors without gradients or hooks."""
    if not isinstance(data, torch.Tensor):
        raise WeightsError("a parameter in this pickle does not hold a tensor")
    return data


def _safe_frombuffer(buf: Any, dtype: Any, shape: Any, order: str) -> Any:
    """numpy's protocol-5 array rebuild, refusing object dtypes."""
    import numpy as np

    dtype = np.dtype(dtype)
    if dtype.hasobject:
        raise WeightsError("refused a numpy object array in a network pickle")
    return np.frombuffer(buf, dtype=dtype).reshape(shape, order=order).copy()


def nvlabs_allowlist(source: str) -> dict[tuple[str, str], Any]:
    """(module, name) -> the object used in its place, for NVlabs network pickles."""
    allowed = dict(numpy_allowlist())
    for key, value in list(allowed.items()):
        if key[1] == "scalar":
            allowed[key] = _safe_scalar(value)
    for mod in ("numpy.core.numeric", "numpy._core.numeric"):   # protocol-5 numpy arrays
        allowed[(mod, "_frombuffer")] = _safe_frombuffer
    allowed.update({
        ("torch_utils.persistence", "_reconstruct_persistent_obj"): _make_reconstructor(source),
        ("dnnlib.util", "EasyDict"): EasyDict,
        ("dnnlib", "EasyDict"): EasyDict,
        ("dnnlib.tflib.network", "Network"): TFNetwork,
        ("collections", "OrderedDict"): OrderedDict,
        ("builtins", "set"): set,
        ("builtins", "frozenset"): frozenset,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch._utils", "_rebuild_tensor"): torch._utils._rebuild_tensor,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
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
        return RestrictedUnpickler(io.BytesIO(data), nvlabs_allowlist(str(path)), source=str(path)).load()
    except WeightsError:
        raise
    except (pickle.UnpicklingError, EOFError) as exc:
        raise WeightsError(f"{path}: the pickle stream is incomplete or corrupt ({type(exc).__name__}: {exc}); "
                           "the download may be truncated: fetch it again") from None
    except Exception as exc:  # noqa: BLE001 - malformed opcodes surface as many exception types
        raise WeightsError(f"{path}: not a readable network pickle ({type(exc).__name__}: {exc}); "
                           "the file may be truncated or of another format") from None
