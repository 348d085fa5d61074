"""Reading compressed containers with the work bounded by the bytes actually present.

A few kilobytes of deflate can claim gigabytes; a zip directory can claim any size. Every archive a
checkpoint arrives in is checked here before anything is decompressed or allocated.
"""
from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

from sgfkit.errors import WeightsError

#: at most this many members in an archive a checkpoint comes in
MAX_ARCHIVE_MEMBERS = 100_000
#: deflate rarely shrinks weights or text below 1/20; a larger claimed ratio is a bomb
MAX_DEFLATE_RATIO = 50
#: a decompressed size allowed whatever the ratio (small text files compress very well)
SMALL_DECOMPRESSED_BYTES = 16 << 20


def check_zip_archive(path: Path, *, stored_only: bool) -> list[zipfile.ZipInfo]:
    """The members of the zip at ``path``, refused if their claimed sizes cannot be real.

    Args:
        path: the archive.
        stored_only: refuse compressed members (torch checkpoints are always written uncompressed).

    Returns:
        the member list (``ZipInfo``), safe to read.
    """
    file_size = path.stat().st_size
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise WeightsError(f"{path}: a damaged zip archive ({exc}); the download may be truncated") from None
    if len(members) > MAX_ARCHIVE_MEMBERS:
        raise WeightsError(f"{path}: the archive lists {len(members)} members; no checkpoint has that many")
    for info in members:
        if info.compress_type == zipfile.ZIP_STORED:
            if info.file_size > file_size:
                raise WeightsError(f"{path}: member {info.filename!r} claims {info.file_size} bytes but the "
                                   f"archive has {file_size}; the file is corrupt or hostile")
            continue
        if stored_only:
            raise WeightsError(f"{path}: member {info.filename!r} is compressed; checkpoints of this kind are "
                               "written uncompressed, so the file was altered (refused: it could expand without bound)")
        limit = max(SMALL_DECOMPRESSED_BYTES, MAX_DEFLATE_RATIO * max(info.compress_size, 1))
        if info.file_size > limit:
            raise WeightsError(f"{path}: member {info.filename!r} would expand from {info.compress_size} to "
                               f"{info.file_size} bytes; refused as a decompression bomb")
    return members


def bounded_gunzip(data: bytes, *, source: str, limit: int = SMALL_DECOMPRESSED_BYTES) -> bytes:
    """Decompress gzip ``data``, refusing output beyond ``limit`` bytes (checked while inflating)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise WeightsError(f"{source}: not a readable gzip file ({exc})") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise WeightsError(f"{source}: decompresses to more than {limit >> 20} MiB; refused (a file of this kind "
                           "is far smaller, so this one is corrupt or a decompression bomb)")
    if not inflater.eof:
        raise WeightsError(f"{source}: the gzip stream is truncated; the download may be incomplete")
    return out


def check_npz_archive(path: Path) -> None:
    """Refuse an ``.npz`` whose arrays claim more bytes than their members hold (numpy allocates the
    declared shape before reading), or whose members are decompression bombs."""
    import numpy as np
    from numpy.lib import format as npy_format

    members = check_zip_archive(path, stored_only=False)
    try:
        with zipfile.ZipFile(path) as zf:
            for info in members:
                if not info.filename.endswith(".npy"):
                    continue
                with zf.open(info) as member:
                    version = npy_format.read_magic(member)
                    header = (npy_format.read_array_header_1_0 if version == (1, 0)
                              else npy_format.read_array_header_2_0)(member)
                shape, _fortran, dtype = header
                if dtype.hasobject:
                    raise WeightsError(f"{path}: array {info.filename!r} holds Python objects; refused")
                declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
                if declared > info.file_size:
                    raise WeightsError(f"{path}: array {info.filename!r} declares shape {shape} ({declared} bytes) "
                                       f"but its member holds {info.file_size} bytes; the file is corrupt or hostile")
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise WeightsError(f"{path}: not a readable .npz ({type(exc).__name__}: {exc})") from None
