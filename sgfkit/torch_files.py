"""PyTorch checkpoint files (``torch.save``) read as data, with every size checked before allocation.

Two container formats exist:

* **zip** (torch >= 1.6): ``<archive>/data.pkl`` (the object tree; tensors name their storage by a
  persistent id ``('storage', StorageType, key, location, numel)``) and ``<archive>/data/<key>`` (the
  raw storage bytes, stored uncompressed).
* **legacy** (torch < 1.6): five pickles in a row: magic number, protocol version, system info, the
  object tree, the list of storage keys; then, per key, an int64 element count and the raw bytes.
  Whole pickled modules add persistent ids ``('module', class, source file, source)``.

:func:`load_torch_checkpoint` reads plain state dicts: zip files go to ``torch.load(weights_only=True)``
after the archive is checked (uncompressed members, sizes within the file); legacy files go through
:func:`read_torch_bytes`, our own reader, because torch's legacy loader allocates every storage at
the size the pickle claims before reading a byte, and compares pickled module sources (writing
``.patch`` files when asked to). :func:`read_torch_bytes` reads both formats with a
:class:`~sgfkit.safe_pickle.RestrictedUnpickler` and checks each storage against the bytes present.
"""
from __future__ import annotations

import collections
import io
import math
import pickle
import re
import struct
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from sgfkit.bounded_io import check_zip_archive
from sgfkit.errors import WeightsError
from sgfkit.safe_pickle import UNPICKLING_ERRORS, unpickle_restricted
from sgfkit.state_dicts import check_tensors_fit_storage

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
_PICKLE_START = b"\x80"

_STORAGE_DTYPES = {
    "DoubleStorage": torch.float64, "FloatStorage": torch.float32, "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
    "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool, "UntypedStorage": torch.uint8,
}


@dataclass(frozen=True)
class StorageType:
    """What a pickled ``torch.FloatStorage`` (etc.) global stands for: only its element type."""

    name: str
    dtype: torch.dtype


@dataclass
class TorchStorage:
    """One storage: a flat tensor of ``numel`` elements, filled from the file's bytes."""

    dtype: torch.dtype
    flat: torch.Tensor


def _checked_ints(values: Any, what: str, source: str) -> tuple[int, ...]:
    if not isinstance(values, (tuple, list, torch.Size)) or len(values) > 32 \
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
        raise WeightsError(f"{source}: a tensor in this file has an invalid {what} {values!r}")
    return tuple(int(v) for v in values)


def _view(storage: Any, offset: Any, size: Any, stride: Any, source: str) -> torch.Tensor:
    """The tensor ``storage[offset:]`` viewed with ``size`` / ``stride``, refused unless it lies inside
    the storage and has no more elements than the storage (no stride-0 blow-ups)."""
    if not isinstance(storage, TorchStorage):
        raise WeightsError(f"{source}: a tensor in this file is not backed by a storage of the file")
    size = _checked_ints(size, "shape", source)
    stride = _checked_ints(stride, "stride", source)
    if not isinstance(offset, int) or offset < 0 or len(size) != len(stride):
        raise WeightsError(f"{source}: a tensor in this file has an invalid offset or stride")
    numel = math.prod(size)
    available = storage.flat.numel()
    if numel:
        last = offset + sum((n - 1) * s for n, s in zip(size, stride))
        if last >= available or numel > available:
            raise WeightsError(f"{source}: a tensor of shape {list(size)} does not fit its storage of {available} "
                               "elements; the file is corrupt or hostile")
    return storage.flat.as_strided(size, stride, offset)


class _TensorRebuilder:
    """The tensor-building globals of torch files, bound to one file's storages."""

    def __init__(self, source: str) -> None:
        self.source = source

    def rebuild_tensor_v2(self, storage: Any, offset: Any, size: Any, stride: Any, requires_grad: Any = False,
                          backward_hooks: Any = None, metadata: Any = None) -> torch.Tensor:
        # backward hooks and metadata are dropped: a file never attaches callables or state to tensors
        return _view(storage, offset, size, stride, self.source)

    def rebuild_tensor(self, storage: Any, offset: Any, size: Any, stride: Any) -> torch.Tensor:
        return _view(storage, offset, size, stride, self.source)

    def rebuild_parameter(self, data: Any, requires_grad: Any = False, backward_hooks: Any = None) -> torch.Tensor:
        if not isinstance(data, torch.Tensor):
            raise WeightsError(f"{self.source}: a parameter in this file does not hold a tensor")
        return data

    def allowlist(self) -> dict[tuple[str, str], Any]:
        allowed: dict[tuple[str, str], Any] = {
            ("torch._utils", "_rebuild_tensor_v2"): self.rebuild_tensor_v2,
            ("torch._utils", "_rebuild_tensor"): self.rebuild_tensor,
            ("torch._utils", "_rebuild_parameter"): self.rebuild_parameter,
            ("collections", "OrderedDict"): collections.OrderedDict,
            ("torch", "Size"): tuple,
        }
        for name, dtype in _STORAGE_DTYPES.items():
            allowed[("torch", name)] = StorageType(name, dtype)
            allowed[("torch.storage", name)] = StorageType(name, dtype)
        return allowed


def tensor_globals(source: str) -> dict[tuple[str, str], Any]:
    """Checked stand-ins for torch's tensor-rebuild globals and storage types, for pickles that hold
    tensors whose storages come from :func:`read_torch_bytes` (e.g. NVlabs ``_load_from_bytes`` blobs)."""
    return _TensorRebuilder(source).allowlist()


class _StorageTable:
    """Storages named by persistent ids, sized against the bytes the file really has."""

    def __init__(self, source: str, budget_bytes: int, modules: bool, fetch=None) -> None:
        self.source = source
        self.budget = budget_bytes   # bytes of raw storage data the file can possibly hold
        self.modules = modules       # whether ('module', ...) ids are expected (whole pickled modules)
        self.fetch = fetch           # zip: key -> raw bytes; legacy: None (filled after the pickle)
        self.storages: dict[str, TorchStorage] = {}
        self.declared: dict[str, int] = {}

    def persistent_load(self, pid: Any) -> Any:
        if not isinstance(pid, tuple) or not pid:
            raise WeightsError(f"{self.source}: malformed persistent id in this file")
        kind = pid[0].decode("ascii", "replace") if isinstance(pid[0], bytes) else pid[0]
        if kind == "module" and self.modules and len(pid) == 4 and isinstance(pid[1], type):
            return pid[1]  # the stand-in class; the pickled source is never compared, run or written out
        if kind != "storage" or len(pid) not in (5, 6):
            raise WeightsError(f"{self.source}: unexpected persistent id {str(kind)[:40]!r} in this file")
        storage_type, key, _location, numel = pid[1:5]
        view = pid[5] if len(pid) == 6 else None
        if not isinstance(storage_type, StorageType) or not isinstance(key, str) \
                or not isinstance(numel, int) or numel < 0:
            raise WeightsError(f"{self.source}: malformed storage id in this file")
        storage = self._storage(key, storage_type.dtype, numel)
        if view is None:
            return storage
        if not (isinstance(view, tuple) and len(view) == 3):
            raise WeightsError(f"{self.source}: malformed storage view in this file")
        _view_key, view_offset, view_size = view
        return TorchStorage(storage.dtype, _view(storage, view_offset, (view_size,), (1,), self.source))

    def _storage(self, key: str, dtype: torch.dtype, numel: int) -> TorchStorage:
        if key in self.storages:
            if self.storages[key].dtype != dtype:
                raise WeightsError(f"{self.source}: storage {key!r} is declared with two element types")
            return self.storages[key]
        nbytes = numel * torch.empty((), dtype=dtype).element_size()
        self.budget -= nbytes
        if self.budget < 0:  # checked before anything is allocated
            raise WeightsError(f"{self.source}: the file declares more tensor data than it holds "
                               f"(storage {key!r}: {nbytes} bytes); it is truncated, corrupt or hostile")
        if self.fetch is not None:
            raw = self.fetch(key)
            if len(raw) != nbytes:
                raise WeightsError(f"{self.source}: storage {key!r} holds {len(raw)} bytes, not the declared {nbytes}")
            flat = torch.frombuffer(bytearray(raw), dtype=dtype) if nbytes else torch.empty(0, dtype=dtype)
        else:
            flat = torch.empty(numel, dtype=dtype)
        self.declared[key] = numel
        self.storages[key] = TorchStorage(dtype, flat)
        return self.storages[key]


def _unpickle(data: bytes, allowed: Mapping, source: str, table: _StorageTable | None = None,
              buildable: tuple[type, ...] = (), encoding: str = "ASCII") -> Any:
    return unpickle_restricted(data, allowed, source=source, encoding=encoding, buildable=buildable,
                               persistent_load=table.persistent_load if table is not None else None)


def _read_legacy(data: bytes, allowed: Mapping, source: str, buildable: tuple[type, ...], modules: bool,
                 what: str) -> Any:
    stream = io.BytesIO(data)

    def next_pickle(table: _StorageTable | None = None, extra: Mapping | None = None) -> Any:
        from sgfkit.safe_pickle import RestrictedUnpickler

        unpickler = RestrictedUnpickler(stream, extra if extra is not None else {}, source=source,
                                        persistent_load=table.persistent_load if table else None,
                                        buildable=buildable)
        try:
            return unpickler.load()
        except WeightsError:
            raise
        except RecursionError:
            raise WeightsError(f"{source}: the pickle nests objects too deeply; the file is malformed") from None
        except UNPICKLING_ERRORS as exc:
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            raise WeightsError(f"{source}: not a readable {what} ({detail}); "
                               "it may be truncated or of another format") from None

    if next_pickle() != LEGACY_MAGIC or next_pickle() != LEGACY_PROTOCOL:
        raise WeightsError(f"{source}: not a readable {what} (wrong magic number or protocol)")
    info = next_pickle()
    if not isinstance(info, dict) or info.get("little_endian") is False:
        raise WeightsError(f"{source}: a big-endian or malformed legacy torch file; re-save it on a little-endian machine")
    table = _StorageTable(source, len(data) - stream.tell(), modules)
    result = next_pickle(table, allowed)
    keys = next_pickle()
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys) or set(keys) != set(table.storages):
        raise WeightsError(f"{source}: the storage list does not match the tensors of this file; it is corrupt")
    for key in keys:
        storage = table.storages[key]
        head = stream.read(8)
        if len(head) != 8:
            raise WeightsError(f"{source}: the file ends before storage {key!r}; the download may be truncated")
        (count,) = struct.unpack("<q", head)
        if count != table.declared[key]:
            raise WeightsError(f"{source}: storage {key!r} holds {count} elements, not the declared {table.declared[key]}")
        nbytes = storage.flat.numel() * storage.flat.element_size()
        raw = stream.read(nbytes)
        if len(raw) != nbytes:
            raise WeightsError(f"{source}: the file ends inside storage {key!r}; the download may be truncated")
        if nbytes:
            storage.flat.copy_(torch.frombuffer(bytearray(raw), dtype=storage.dtype))
    return result


def _read_zip(path_or_data: Path | bytes, allowed: Mapping, source: str, buildable: tuple[type, ...],
              modules: bool) -> Any:
    if isinstance(path_or_data, Path):
        check_zip_archive(path_or_data, stored_only=True)
        opened = zipfile.ZipFile(path_or_data)
        budget = path_or_data.stat().st_size
    else:
        opened = zipfile.ZipFile(io.BytesIO(path_or_data))
        budget = len(path_or_data)
        if any(i.compress_type != zipfile.ZIP_STORED for i in opened.infolist()):
            raise WeightsError(f"{source}: a compressed member in a torch archive (torch never writes one); refused")
    with opened as zf:
        names = zf.namelist()
        pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pkl) != 1:
            raise WeightsError(f"{source}: a zip archive without exactly one data.pkl: not a torch checkpoint")
        prefix = pkl[0][: -len("data.pkl")]
        byteorder = prefix + "byteorder"
        if byteorder in names and zf.read(byteorder).strip() not in (b"little", b""):
            raise WeightsError(f"{source}: a big-endian torch file; re-save it on a little-endian machine")

        def fetch(key: str) -> bytes:
            name = f"{prefix}data/{key}"
            if name not in names:
                raise WeightsError(f"{source}: tensor data {key!r} is missing from the archive; it is truncated")
            return zf.read(name)

        table = _StorageTable(source, budget, modules, fetch)
        return _unpickle(zf.read(pkl[0]), allowed, source, table, buildable)


def read_torch_bytes(data: bytes | Path, allowed: Mapping[tuple[str, str], Any] | None = None, *, source: str,
                     buildable: tuple[type, ...] = (), modules: bool = False, what: str = "torch file") -> Any:
    """Read a ``torch.save`` file (zip or legacy) as data.

    Args:
        data: the file's bytes, or its path (zip archives are then read member by member).
        allowed: globals beyond tensors, storages and ``OrderedDict`` (stand-ins of our choosing).
        source: label for messages.
        buildable: record types (from ``allowed``) whose instances may receive pickled state.
        modules: accept ``('module', ...)`` persistent ids (legacy whole-module saves).
        what: what the file should be, for messages ("Show-Attend-Tell checkpoint").

    Returns:
        the saved object with tensors as CPU tensors (views of the file's storages).
    """
    rebuilder = _TensorRebuilder(source)
    full = {**rebuilder.allowlist(), **(allowed or {})}
    if isinstance(data, Path):
        with data.open("rb") as f:
            head = f.read(4)
    else:
        head = data[:4]
    if head.startswith(b"PK\x03\x04"):
        return _read_zip(data, full, source, buildable, modules)
    blob = data.read_bytes() if isinstance(data, Path) else data
    if head.startswith(_PICKLE_START):
        return _read_legacy(blob, full, source, buildable, modules, what)
    if len(blob) > 262 and blob[257:262] == b"ustar":
        raise WeightsError(f"{source}: a pre-2018 torch tar checkpoint; sgfkit does not read that format. "
                           "Re-save it with a current PyTorch (torch.save(state_dict, path)) first")
    raise WeightsError(f"{source}: not a readable {what} (neither a torch zip archive nor a legacy torch file)")


def load_torch_checkpoint(path: str | Path, *, records: Mapping[tuple[str, str], type] | None = None,
                          what: str = "PyTorch checkpoint") -> Any:
    """A plain-data ``torch.save`` file: tensors, containers and the given inert ``records``.

    Zip archives are checked (uncompressed members that fit in the file) and then read by
    ``torch.load(weights_only=True)``; legacy files by :func:`read_torch_bytes`. A file that holds
    anything else is refused as unsafe.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{what} not found: {path}")
    records = dict(records or {})
    with open(path, "rb") as f:
        head = f.read(4)
    if not head.startswith(b"PK\x03\x04"):
        return read_torch_bytes(path, records, source=str(path), buildable=tuple(records.values()), what=what)
    check_zip_archive(path, stored_only=True)
    try:
        with torch.serialization.safe_globals([(cls, f"{mod}.{name}") for (mod, name), cls in records.items()]):
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # torch's text advises loading with weights_only=False; we only quote what was refused
        found = re.search(r"(unsupported GLOBAL \S+|Unsupported global: GLOBAL \S+|Unsupported operand \S+)", str(exc))
        detail = f" ({found.group(1)})" if found else ""
        raise WeightsError(f"{path}: refused as unsafe: the file asks for Python objects that are not plain "
                           f"weights{detail}. sgfkit never runs code from a checkpoint; save a plain state dict "
                           "(torch.save(model.state_dict(), path)) or safetensors instead") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError, AttributeError, KeyError,
            TypeError, IndexError, struct.error, MemoryError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise WeightsError(f"{path}: not a readable {what} ({type(exc).__name__}: {first[:200]}); "
                           "the file may be truncated or of another format") from None
    check_tensors_fit_storage(obj, path)
    return obj
