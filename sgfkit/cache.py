"""Content-hash keys for the on-disk cache of expensive stages (dataset sampling, fitting).

A key is the sha256 of a canonical JSON of everything a stage depends on: the recipe sections,
the versions of the plugins providing the components, and the components' ``versions()``
(weights digests). Change any of it and the key, hence the cache file, changes.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

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

    def path(self, stage: str, key: str, suffix: str) -> Path | None:
        if self.root is None:
            return None
        return self.root / stage / f"{key}{suffix}"
