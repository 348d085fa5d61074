"""Reading and writing the face-attribute weights.

* VGGFace2 ``senet50_ft_weight.pkl`` / ``senet50_scratch_weight.pkl``: a pickled dict
  ``{state-dict name: numpy array}`` (Python-2 era, read with latin-1). Read through
  :mod:`sgfkit.safe_pickle` with a numpy-only allow-list: no code in the file can run.
* attribute head (ours): safetensors with ``layers.{i}.weight`` / ``layers.{i}.bias`` and the
  metadata ``attribute_names`` (:mod:`sgfkit.shipped_weights` layout; older files: the key
  ``attribute_names`` holds a JSON list); or a torch file (read ``weights_only``) holding
  ``{"state_dict": ..., "attribute_names": [...]}``.
* embedded network (ours, shipped): safetensors with ``backbone.*`` / ``head.*`` tensors and
  metadata ``config`` (JSON :class:`SENetConfig`), ``attribute_names``, ``input_size`` and the
  training record (:mod:`sgfkit.shipped_weights`, which also reads the older one-key-per-entry files);
  a JSON copy of that metadata sits next to it for people and tools.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from sgfkit.errors import WeightsError
from sgfkit.safe_pickle import load_restricted, numpy_allowlist
from sgfkit.shipped_weights import module_tensors, read_weights, save_weights
from sgfkit.state_dicts import build_checked, config_from_metadata, load_state_checked
from sgfkit.torch_files import load_torch_checkpoint
from sgfkit_face_attributes.senet import (SENET50, AttributeHead, FaceAttributeNet, SENet, SENetConfig,
                                          head_dims_from_state)


def read_vggface2_pkl(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a VGGFace2 ``senet50_*.pkl`` (numpy arrays only; anything else is refused)."""
    path = Path(path)
    obj = load_restricted(path, numpy_allowlist(), encoding="latin1")
    if not isinstance(obj, dict) or not obj:
        raise WeightsError(f"{path}: expected a pickled dict of numpy arrays (VGGFace2 senet50 weights), "
                           f"found {type(obj).__name__}")
    out = {}
    for key, value in obj.items():
        if not isinstance(key, str):
            raise WeightsError(f"{path}: a key is a {type(key).__name__}, not a layer name; "
                               "this is not a VGGFace2 weights file")
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "fiu":
            raise WeightsError(f"{path}: entry {key[:80]!r} is a {type(value).__name__}, not a numeric array; "
                               "this is not a VGGFace2 weights file")
        out[str(key)] = torch.from_numpy(np.ascontiguousarray(value))
    return out


def load_senet50(path: str | Path) -> SENet:
    """The full VGGFace2 SE-ResNet-50 with the weights of ``path`` (eval mode)."""
    path = Path(path)
    net = SENet(SENET50)
    # the released files predate num_batches_tracked; the identity fc is not needed for features
    load_state_checked(net, read_vggface2_pkl(path), path, "VGGFace2 senet50 layout",
                 optional=("num_batches_tracked", "fc.weight", "fc.bias"))
    return net.eval()


def load_head(path: str | Path) -> tuple[AttributeHead, list[str]]:
    """An attribute head and its attribute names."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"attribute head file not found: {path}")
    if path.suffix == ".safetensors":
        state, meta = read_weights(path, "attribute-head weights",
                                   "train one with 'sgfkit train-encoder face-attributes --set backbone=senet50'")
        names = meta.get("attribute_names")
    else:
        obj = load_torch_checkpoint(path, what="attribute-head checkpoint")
        if not isinstance(obj, dict):
            raise WeightsError(f"{path}: expected a dict with 'state_dict' and 'attribute_names'")
        state, names = obj.get("state_dict", {}), obj.get("attribute_names")
    if not names:
        raise WeightsError(f"{path}: the attribute head carries no attribute names; save them as the "
                           "'attribute_names' metadata (safetensors) or key (torch file)")
    if not isinstance(names, list) or not isinstance(state, dict):
        raise WeightsError(f"{path}: attribute_names must be a list and state_dict a dict of tensors")
    try:
        dims = head_dims_from_state(state)
    except KeyError:
        raise WeightsError(f"{path}: no head layers found (expected layers.0.weight, layers.0.bias, ...)") from None
    except (IndexError, AttributeError, TypeError) as exc:
        raise WeightsError(f"{path}: the head's weights have malformed shapes ({exc})") from None
    head = build_checked(lambda: AttributeHead(dims), state, path, "attribute head")
    load_state_checked(head, state, path, "attribute head")
    if dims[-1] != len(names):
        raise WeightsError(f"{path}: the head has {dims[-1]} outputs but {len(names)} attribute names")
    return head.eval(), [str(n) for n in names]


def save_head(path: str | Path, head: AttributeHead, names: list[str], record: dict[str, Any] | None = None) -> None:
    """Write an attribute head in the safetensors format :func:`load_head` reads (``record``: more metadata,
    e.g. how it was trained)."""
    save_weights(path, module_tensors(head), {"attribute_names": list(names), "head_dims": head.dims,
                                              **(record or {})})


def save_embedded(path: str | Path, net: FaceAttributeNet, meta: dict[str, Any]) -> None:
    """Write the embedded network (safetensors) and its metadata (in the file and as ``.json``)."""
    save_weights(path, module_tensors(net, drop=("num_batches_tracked",)), meta)


def load_embedded(path: str | Path) -> tuple[FaceAttributeNet, dict[str, Any]]:
    """The embedded network and its metadata (``config``, ``attribute_names``, ``input_size``, ...)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"face-attributes embedded weights not found: {path}. Reinstall sgfkit, or retrain "
                           "them with `sgfkit train-encoder face-attributes --out PATH`")
    state, meta = read_weights(path, "face-attributes weights",
                               "retrain with `sgfkit train-encoder face-attributes --out PATH`")
    for key in ("config", "attribute_names", "input_size"):
        if key not in meta:
            raise WeightsError(f"{path}: metadata lacks {key!r}; not a face-attributes weights file")
    config = config_from_metadata(SENetConfig, meta["config"], path, "SE-ResNet")
    names = meta["attribute_names"]
    try:
        head_dims = meta.get("head_dims") or [config.feature_dim, len(names) if isinstance(names, list) else 0]
    except (TypeError, IndexError, ValueError) as exc:
        raise WeightsError(f"{path}: the SE-ResNet config is malformed ({exc})") from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) \
            or not isinstance(head_dims, list) or not all(isinstance(d, int) and d > 0 for d in head_dims):
        raise WeightsError(f"{path}: malformed attribute_names / head_dims metadata")
    net = build_checked(lambda: FaceAttributeNet(SENet(config), AttributeHead(list(head_dims))), state, path,
                        "embedded face-attributes network")
    load_state_checked(net, state, path, "embedded face-attributes network", optional=("num_batches_tracked",))
    return net.eval(), meta
