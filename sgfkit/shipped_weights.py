"""Weights files that sgfkit trains itself and ships (the learned encoders): one layout for all of them.

A file is safetensors tensors plus one metadata entry, ``"sgfkit"``: a JSON object with whatever
the plugin records (its network config, names, the reproducing command, the held-out scores). A
readable copy of that object sits beside it as ``<name>.json``. Files written before this layout
(face-attributes: every metadata key its own JSON value) are still read, into the same object.

Also here: one optimiser step, and the ``sgfkit train-encoder`` command line that reproduces a training
run (training blocks run under :func:`sgfkit.threads.torch_threads`). Torch is imported only by the functions that need it.
"""
from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sgfkit.errors import WeightsError

if TYPE_CHECKING:
    import torch

#: the safetensors metadata entry that holds the JSON object
METADATA_KEY = "sgfkit"


def module_tensors(module: torch.nn.Module, drop: tuple[str, ...] = ()) -> dict[str, torch.Tensor]:
    """A module's state dict as contiguous CPU tensors (what safetensors writes), less keys ending in ``drop``."""
    return {k: v.detach().contiguous().cpu() for k, v in module.state_dict().items() if not (drop and k.endswith(drop))}


def save_weights(path: str | Path, tensors: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> None:
    """Write ``tensors`` to ``path`` (.safetensors, ``meta`` as JSON under :data:`METADATA_KEY`) and ``meta``
    to ``path`` with suffix ``.json``; the folder is made when missing."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(dict(tensors), str(path), metadata={METADATA_KEY: json.dumps(meta, default=str)})
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2, default=str) + "\n")


def _metadata(raw: Mapping[str, str], path: Path) -> dict[str, Any]:
    """The JSON object of a file's safetensors metadata, in this layout or the older one (a key per entry,
    each a JSON value; text that is not JSON, as other tools write, e.g. ``format: pt``, stays text)."""
    from sgfkit.state_dicts import json_metadata

    if METADATA_KEY in raw:
        meta = json_metadata(raw[METADATA_KEY], path, METADATA_KEY)
        if not isinstance(meta, dict):
            raise WeightsError(f"{path}: metadata {METADATA_KEY!r} is a {type(meta).__name__}, not an object")
        return meta
    meta = {}
    for key, value in raw.items():
        try:
            meta[key] = json.loads(value)
        except RecursionError:
            raise WeightsError(f"{path}: metadata {key!r} nests too deeply; the file is corrupt or hostile") from None
        except ValueError:
            meta[key] = value
    return meta


def read_weights(path: str | Path, what: str, fix: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, metadata object) of a weights file; the metadata is ``{}`` when the file has none.

    ``what`` names the file in errors ("captioner weights"); ``fix`` says what to do about a bad one.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path}: not a readable {what} file ({exc}); {fix}") from None
    return tensors, _metadata(raw, path)


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The metadata object from the file's header only (no tensors read), for ``sgfkit validate``.

    Raises :class:`WeightsError` (or safetensors' / the OS's errors) when the file is unreadable.
    """
    from safetensors import safe_open

    path = Path(path)
    with safe_open(str(path), framework="numpy") as f:
        return _metadata(f.metadata() or {}, path)


def optimizer_step(loss: torch.Tensor, optimizer: torch.optim.Optimizer, schedule: Any) -> float:
    """One training step: gradients of ``loss``, the optimiser's update, the learning-rate schedule's step;
    returns the loss as a number (for the loss curve)."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    schedule.step()
    return float(loss.detach())


def training_command(encoder: str, output: str | Path, options: Mapping[str, Any],
                     defaults: Mapping[str, Any]) -> str:
    """The ``sgfkit train-encoder`` command line that reproduces a run: the options that differ from
    ``defaults`` as ``--set key=value`` (values as JSON, which ``--set`` reads back as YAML; text as it is
    unless YAML would read it as something else), quoted for a POSIX shell."""
    import yaml

    parts = ["sgfkit", "train-encoder", encoder, "--out", str(output)]
    for key, value in options.items():
        if key in defaults and defaults[key] == value:
            continue
        text = json.dumps(value, separators=(",", ":"), default=str)
        if isinstance(value, str):
            try:
                text = value if yaml.safe_load(value) == value else text
            except yaml.YAMLError:
                pass
        parts += ["--set", f"{key}={text}"]
    return shlex.join(parts)
