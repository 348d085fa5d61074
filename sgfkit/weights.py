"""Where user-supplied checkpoints are looked for, and what each plugin knows about.

Search order for a file name: the path as given (relative to the recipe's folder first),
``$SGFKIT_HOME/weights``, then the user cache dir (``~/.cache/sgfkit/weights`` or
``$XDG_CACHE_HOME/sgfkit/weights``). Torch-free.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, asdict
from pathlib import Path

from sgfkit.errors import WeightsError


@dataclass(frozen=True)
class KnownWeights:
    """A public checkpoint a plugin can load.

    Attributes:
        component: registry name of the component that loads it (e.g. ``stylegan2``).
        file_name: the file name sgfkit looks for.
        description: what it is (model, data set, resolution).
        source: the page to download it from.
        license: its licence.
        sha256: expected digest when known, else ``None``.
    """

    component: str
    file_name: str
    description: str
    source: str
    license: str
    sha256: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def search_dirs() -> list[Path]:
    """Folders searched for weights by bare file name, in order."""
    dirs = []
    if os.environ.get("SGFKIT_HOME"):
        dirs.append(Path(os.environ["SGFKIT_HOME"]) / "weights")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    dirs.append(cache / "sgfkit" / "weights")
    return dirs


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def locate_weights(spec: str | os.PathLike, *, base_dir: Path | None = None,
                   known: KnownWeights | None = None, verify_sha256: bool = False) -> Path:
    """Find a checkpoint file, or raise :class:`WeightsError` that says what to get and where to put it.

    ``known`` (download facts and sha256) defaults to what a plugin declared for this file name
    (``sgfkit_register_weights``)."""
    spec_path = Path(spec).expanduser()
    if known is None:
        from sgfkit.registry import get_registry

        known = get_registry().known_weights(spec_path.name)
    candidates = []
    if spec_path.is_absolute():
        candidates.append(spec_path)
    else:
        if base_dir is not None:
            candidates.append(base_dir / spec_path)
        candidates.append(Path.cwd() / spec_path)
        candidates.extend(d / spec_path.name for d in search_dirs())
    for candidate in candidates:
        if candidate.is_file():
            if verify_sha256 and known is not None and known.sha256:
                actual = sha256_of(candidate)
                if actual != known.sha256:
                    raise WeightsError(f"{candidate}: sha256 {actual} does not match the published "
                                       f"{known.sha256}; the download is corrupt or a different file")
            return candidate
    looked = "\n".join(f"  - {c}" for c in dict.fromkeys(candidates))
    msg = f"weights file {str(spec)!r} not found. Looked in:\n{looked}"
    if known is not None:
        msg += (f"\nDownload {known.file_name} ({known.description}) from {known.source} "
                f"(licence: {known.license}) and put it in {search_dirs()[0]} or give its path in the recipe.")
    raise WeightsError(msg)


def weights_status(known: KnownWeights, *, verify_sha256: bool = False) -> dict[str, str | None]:
    """Where ``known`` is on disk and whether it checks out.

    Returns {"status": "missing" | "present" | "sha256 ok" | "sha256 MISMATCH" | "no sha256 published",
    "path": the file found or None}. Hashing reads the whole file, so it runs only when asked.
    """
    try:
        path = locate_weights(known.file_name, known=known)
    except WeightsError:
        return {"status": "missing", "path": None}
    if not verify_sha256:
        return {"status": "present", "path": str(path)}
    if not known.sha256:
        return {"status": "no sha256 published", "path": str(path)}
    ok = sha256_of(path) == known.sha256
    return {"status": "sha256 ok" if ok else "sha256 MISMATCH", "path": str(path)}
