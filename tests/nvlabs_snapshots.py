"""Write network snapshots with the NVlabs ``torch_utils.persistence`` structure (for tests).

The stream has the same globals and nesting as a real ``network-snapshot-*.pkl``:
``_reconstruct_persistent_obj(dict(type='class', version=6, module_src=..., class_name=..., state=...))``
per module, ``dnnlib.util.EasyDict`` constructor kwargs, tensors through ``torch._utils`` and
``torch.storage._load_from_bytes``. ``module_src`` is whatever text the caller passes (tests pass code
that must never run). Pickling names the NVlabs globals, so stand-in modules are registered in
``sys.modules`` for the duration of the dump only.
"""
from __future__ import annotations

import contextlib
import pickle
import sys
import types
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

#: our module classes -> the official class names stored in a snapshot
OFFICIAL_CLASS_NAMES = {"StyleGAN2Network": "Generator", "MappingNetwork": "MappingNetwork",
                        "FullyConnectedLayer": "FullyConnectedLayer", "SynthesisNetwork": "SynthesisNetwork",
                        "SynthesisBlock": "SynthesisBlock", "SynthesisLayer": "SynthesisLayer",
                        "ToRGBLayer": "ToRGBLayer"}


def _reconstruct_persistent_obj(meta: dict) -> Any:  # pragma: no cover - only its name is pickled
    raise RuntimeError("stand-in: never called")


class EasyDict(dict):
    """Pickles as ``dnnlib.util.EasyDict``."""


class _Persistent:
    """Reduces to the persistence call with its meta dict."""

    def __init__(self, meta: dict[str, Any]) -> None:
        self.meta = meta

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return _reconstruct_persistent_obj, (self.meta,)


@contextlib.contextmanager
def _standin_modules() -> Iterator[None]:
    names = ["torch_utils", "torch_utils.persistence", "dnnlib", "dnnlib.util"]
    saved = {n: sys.modules.get(n) for n in names}
    persistence = types.ModuleType("torch_utils.persistence")
    persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj
    util = types.ModuleType("dnnlib.util")
    util.EasyDict = EasyDict
    _reconstruct_persistent_obj.__module__, _reconstruct_persistent_obj.__qualname__ = (
        "torch_utils.persistence", "_reconstruct_persistent_obj")
    EasyDict.__module__, EasyDict.__qualname__ = "dnnlib.util", "EasyDict"
    sys.modules.update({"torch_utils": types.ModuleType("torch_utils"), "torch_utils.persistence": persistence,
                        "dnnlib": types.ModuleType("dnnlib"), "dnnlib.util": util})
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def _easy(value: Any) -> Any:
    if isinstance(value, dict):
        return EasyDict({k: _easy(v) for k, v in value.items()})
    return value


def persistent_tree(module: nn.Module, module_src: str, init_kwargs: dict[str, Any] | None = None,
                    class_name: str | None = None, extra_state: dict[str, Any] | None = None) -> _Persistent:
    """The persistent-object tree of ``module`` (children recursively), like a real snapshot's."""
    state: dict[str, Any] = {
        "training": False,
        "_parameters": OrderedDict((k, v) for k, v in module._parameters.items()),
        "_buffers": OrderedDict((k, v) for k, v in module._buffers.items()),
        "_non_persistent_buffers_set": set(),
        "_backward_hooks": OrderedDict(), "_forward_hooks": OrderedDict(), "_forward_pre_hooks": OrderedDict(),
        "_state_dict_hooks": OrderedDict(), "_load_state_dict_pre_hooks": OrderedDict(),
        "_modules": OrderedDict((k, persistent_tree(c, module_src)) for k, c in module._modules.items()),
        "_init_args": (),
        "_init_kwargs": _easy(dict(init_kwargs or {})),
    }
    for attr in ("weight_gain", "bias_gain"):
        if hasattr(module, attr):
            state[attr] = np.float64(getattr(module, attr))   # NVlabs stores these as numpy floats
    for attr in ("activation", "conv_clamp", "resolution", "in_channels"):
        if attr in vars(module):
            state[attr] = vars(module)[attr]
    state.update(extra_state or {})
    meta = {"type": "class", "version": 6, "module_src": module_src,
            "class_name": class_name or OFFICIAL_CLASS_NAMES.get(type(module).__name__, type(module).__name__),
            "state": state}
    return _Persistent(meta)


def write_snapshot(path: str | Path, generator: nn.Module, init_kwargs: dict[str, Any], module_src: str,
                   extra: dict[str, Any] | None = None, protocol: int = 3) -> Path:
    """Write ``dict(G=..., D=None, G_ema=..., training_set_kwargs=..., augment_pipe=None)`` to ``path``."""
    tree = persistent_tree(generator, module_src, init_kwargs)
    snapshot = {"training_set_kwargs": EasyDict(resolution=init_kwargs.get("img_resolution")),
                "G": tree, "D": None, "G_ema": tree, "augment_pipe": None, **(extra or {})}
    path = Path(path)
    with _standin_modules():
        path.write_bytes(pickle.dumps(snapshot, protocol=protocol))
    return path
