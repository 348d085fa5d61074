"""Loading a checkpoint's tensors into our own modules with errors that name every mismatch.

torch is imported inside the functions that need it, so that reading a weights file's JSON
metadata (:func:`json_metadata`) stays torch-free for ``sgfkit validate``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

from sgfkit.errors import WeightsError


def load_state_checked(model: torch.nn.Module, state: dict[str, torch.Tensor], path: str | Path, what: str,
                       optional: tuple[str, ...] = ()) -> None:
    """Load ``state`` into ``model`` or raise :class:`WeightsError` naming the file and the problem.

    Every missing key (except those ending in one of the ``optional`` suffixes), unexpected key and
    shape mismatch is reported (the first six of each); tensors are cast to the model's dtypes.
    """
    expected = model.state_dict()
    missing = [k for k in expected if k not in state and not (optional and k.endswith(optional))]
    unexpected = [k for k in state if k not in expected]
    shapes = [f"{k}: file {list(state[k].shape)} vs model {list(v.shape)}"
              for k, v in expected.items() if k in state and tuple(state[k].shape) != tuple(v.shape)]
    problems = []
    if missing:
        problems.append(f"missing keys {missing[:6]}{' ...' if len(missing) > 6 else ''}")
    if unexpected:
        problems.append(f"unexpected keys {unexpected[:6]}{' ...' if len(unexpected) > 6 else ''}")
    if shapes:
        problems.append("shape mismatches " + "; ".join(shapes[:6]))
    if problems:
        raise WeightsError(f"{path}: does not fit the {what}: " + "; ".join(problems))
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()}, strict=not optional)


#: a network may hold this many more elements than the file's tensors (filters, estimated buffers)
_ARCHITECTURE_SLACK = 1_000_000


def check_architecture_fits(factory: Callable[[], torch.nn.Module], state: Mapping[str, Any], path: str | Path,
                            what: str) -> None:
    """Refuse an architecture that needs far more memory than the file's weights, before allocating it.

    ``factory`` builds the network a file describes (sizes read from the file); it is run on the meta
    device, which allocates nothing, and its element count is compared with the tensors in ``state``.
    A file whose settings claim a huge network but whose weights are small is corrupt or hostile.
    """
    import torch

    try:
        with torch.device("meta"):
            model = factory()
    except (TypeError, ValueError, RuntimeError, OverflowError, ZeroDivisionError, IndexError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise WeightsError(f"{path}: the {what} this file describes cannot be built ({type(exc).__name__}: "
                           f"{first}); its settings are malformed") from None
    needed = sum(t.numel() for t in list(model.parameters()) + list(model.buffers()))
    given = sum(t.numel() for t in state.values() if isinstance(t, torch.Tensor))
    if needed > 2 * given + _ARCHITECTURE_SLACK:
        raise WeightsError(f"{path}: the {what} this file describes has {needed:,} weights but the file holds "
                           f"{given:,}; its settings do not match its tensors (corrupt or hostile file)")


def build_checked(factory: Callable[[], torch.nn.Module], state: Mapping[str, Any], path: str | Path,
                  what: str) -> torch.nn.Module:
    """``factory()`` after :func:`check_architecture_fits` allowed it."""
    check_architecture_fits(factory, state, path, what)
    return factory()


def check_tensors_fit_storage(obj: Any, path: str | Path, depth: int = 0) -> None:
    """Refuse tensors that view more elements than their storage holds (stride-0 expansions, negative or
    overflowing strides): materialising one would allocate far more than the file's bytes."""
    import torch

    if depth > 16:
        raise WeightsError(f"{path}: the checkpoint nests containers too deeply; it is malformed")
    if isinstance(obj, torch.Tensor):
        if obj.layout != torch.strided or obj.is_sparse:
            raise WeightsError(f"{path}: holds a {obj.layout} tensor; only dense weights are read")
        available = obj.untyped_storage().nbytes()
        if any(s < 0 for s in obj.stride()) or obj.numel() * obj.element_size() > available:
            raise WeightsError(f"{path}: a tensor of shape {list(obj.shape)} views {obj.numel():,} elements of a "
                               f"{available:,}-byte storage; the file is corrupt or hostile")
    elif isinstance(obj, dict):
        for value in obj.values():
            check_tensors_fit_storage(value, path, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            check_tensors_fit_storage(value, path, depth + 1)


def json_metadata(text: Any, path: str | Path, key: str) -> Any:
    """Parse one JSON metadata entry of a weights file; malformed or absurdly nested JSON is a WeightsError."""
    import json

    if not isinstance(text, str):
        raise WeightsError(f"{path}: metadata {key!r} is not text")
    try:
        return json.loads(text)
    except RecursionError:
        raise WeightsError(f"{path}: metadata {key!r} nests too deeply; the file is corrupt or hostile") from None
    except ValueError as exc:
        raise WeightsError(f"{path}: metadata {key!r} is not valid JSON ({exc})") from None


def config_from_metadata(cls: type, data: Any, path: str | Path, what: str) -> Any:
    """A config dataclass from a file's metadata mapping: known fields only, values of sane types."""
    import dataclasses

    if not isinstance(data, dict):
        raise WeightsError(f"{path}: the {what} config is a {type(data).__name__}, not a mapping")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(str(k) for k in set(data) - known)
    if unknown:
        raise WeightsError(f"{path}: the {what} config has unknown keys {', '.join(unknown[:5])}; "
                           "the file is from another version or corrupt")
    try:
        return cls.from_dict(data) if hasattr(cls, "from_dict") else cls(**data)
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"{path}: the {what} config is malformed ({exc})") from None
