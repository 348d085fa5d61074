"""Content-hash keys for the on-disk cache of expensive stages (dataset sampling, fitting).

A key is the sha256 of a canonical JSON of everything a stage depends on: the recipe sections,
the versions of the plugins providing the components, and the components' ``versions()``
(weights digests). Change any of it and the key, hence the cache file, changes.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: bump when the cached file formats or the sampling procedure change
CACHE_FORMAT = 1


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value) if abs(value) < 2 ** 53 else value  # 1.0 and 1 mean the same setting
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def content_hash(payload: Any, length: int = 20) -> str:
    """Stable hex digest of a JSON-able structure (dict key order does not matter)."""
    text = json.dumps(_canonical({"format": CACHE_FORMAT, "payload": payload}), sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:length]


class StageCache:
    """File locations of cached stages under ``root`` (``None``: caching off)."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self.notes: list[str] = []  # cache files found damaged (and rebuilt) during this run

    def path(self, stage: str, key: str, suffix: str) -> Path | None:
        if self.root is None:
            return None
        return self.root / stage / f"{key}{suffix}"

    def get_or_build(self, stage: str, key: str, build: Callable[[], T], read: Mapping[str, Callable[[Path], Any]],
                     write: Mapping[str, Callable[[T, Path], None]]) -> tuple[T, bool]:
        """(value, hit): a stage's files ``<root>/<stage>/<key><suffix>`` read back, or ``build()`` written.

        ``read`` maps each suffix to its reader, in reading order; the value of a hit is what the first
        reader returns, and a hit needs every file intact (:func:`read_verified`: a damaged file is
        reported in :attr:`notes` and removed). Otherwise ``build()`` runs and ``write`` (suffix ->
        ``writer(value, tmp_path)``, in writing order, the same suffixes) stores it atomically with
        checksums. With caching off (no root) it only builds.
        """
        if set(read) != set(write):
            raise ValueError(f"get_or_build: read {sorted(read)} and write {sorted(write)} name different files")
        value: Any = None
        for i, (suffix, reader) in enumerate(read.items()):
            got = read_verified(self.path(stage, key, suffix), reader, self.notes)
            if got is None:
                break
            value = got if i == 0 else value
        else:
            if read:
                return value, True
        value = build()
        if self.root is not None:
            for suffix, writer in write.items():
                write_verified(self.path(stage, key, suffix), lambda tmp, w=writer: w(value, tmp))
        return value, False


# -- verified files: every cache file has a sha256 beside it, checked on every read ---------------------

def _digest_file(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def discard(path: Path) -> None:
    """Remove a cache file and its checksum (a later run rebuilds it)."""
    for file in (path, _digest_file(path)):
        file.unlink(missing_ok=True)


def read_verified(path: Path | None, reader: Callable[[Path], Any], notes: list[str]) -> Any | None:
    """``reader(path)`` if the file exists and matches the sha256 written beside it; else ``None``.

    A file that fails its checksum (truncated, flipped by hand, written by a run that was killed
    before its checksum) or that its reader rejects is removed and reported in ``notes``, so the
    caller rebuilds it.
    """
    if path is None or not path.is_file():
        return None
    digest_file = _digest_file(path)
    expected = digest_file.read_text().strip() if digest_file.is_file() else None
    problem = None
    if expected is None:
        problem = "has no checksum (a run was interrupted while writing it)"
    elif expected != _sha256(path):
        problem = "failed its checksum (truncated or changed after it was written)"
    else:
        try:
            return reader(path)
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:  # what a bad file raises
            problem = f"could not be read ({type(exc).__name__}: {str(exc)[:120]})"
    notes.append(f"cache file {path} {problem}: it was discarded and rebuilt")
    discard(path)
    return None


def write_verified(path: Path, writer: Callable[[Path], None]) -> None:
    """Write ``path`` through ``writer(tmp)`` and a rename, then its sha256 beside it (also atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        writer(tmp)
        digest = _sha256(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    digest_tmp = _digest_file(path).with_name(f".{path.name}.sha256.{os.getpid()}.tmp")
    digest_tmp.write_text(digest + "\n")
    os.replace(digest_tmp, _digest_file(path))
