"""Your own labelled images for ``sgfkit train-encoder face-attributes --images DIR --labels labels.csv``.

``labels.csv``: a header row ``file,<attribute>,<attribute>,...``, then one row per image: its path
relative to DIR and one score per attribute in [0, 1] (0/1 labels or soft scores). The attribute
names become the encoder's condition names (what recipe targets and ``evaluation.attributes`` name).
Images are read with Pillow as RGB and resized (bilinear) to the network's square input size.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from sgfkit.errors import SgfkitError

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def read_labels(path: Path, key: str = "file") -> tuple[list[str], list[str], np.ndarray]:
    """(attribute names, first-column values, scores float32 [N, A] in [0, 1]) from a labels CSV.

    ``key`` is the first column's header: ``file`` (image paths) or ``index`` (rows of a latents file).
    """
    if not path.is_file():
        raise SgfkitError(f"labels file {str(path)!r} not found; pass a CSV with a '{key}' column and one column "
                          "per attribute")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    if len(rows) < 2 or len(rows[0]) < 2 or rows[0][0].strip().lower() != key:
        raise SgfkitError(f"{path}: expected a header '{key},<attribute>,...' and at least one labelled row")
    names = [n.strip() for n in rows[0][1:]]
    bad = [n for n in names if not NAME.match(n)]
    if bad or len(set(names)) != len(names):
        raise SgfkitError(f"{path}: attribute names must be distinct identifiers (letters, digits, '_'); "
                          f"got {bad or names}")
    files, scores = [], []
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(names) + 1:
            raise SgfkitError(f"{path}:{line}: {len(row)} columns, the header has {len(names) + 1}")
        try:
            values = [float(cell) for cell in row[1:]]
        except ValueError:
            raise SgfkitError(f"{path}:{line}: scores must be numbers in [0, 1], got {row[1:]}") from None
        if not all(0.0 <= v <= 1.0 for v in values):
            raise SgfkitError(f"{path}:{line}: scores must lie in [0, 1] (use 0/1 labels or probabilities), "
                              f"got {values}")
        files.append(row[0].strip())
        scores.append(values)
    return names, files, np.asarray(scores, dtype=np.float32)


def read_labelled_images(images_dir: Path, labels: Path, size: int) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """(images uint8 [N, 3, size, size], scores float32 [N, A], attribute names)."""
    names, files, scores = read_labels(labels)
    if not images_dir.is_dir():
        raise SgfkitError(f"images folder {str(images_dir)!r} not found; pass the folder the labels' file "
                          "column is relative to")
    images = np.empty((len(files), size, size, 3), np.uint8)
    for i, name in enumerate(files):
        path = images_dir / name
        try:
            with Image.open(path) as img:
                images[i] = np.asarray(img.convert("RGB").resize((size, size), Image.BILINEAR))
        except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
            raise SgfkitError(f"{labels}: image {name!r} cannot be read from {images_dir} "
                              f"({type(exc).__name__}); fix the path or remove its row") from None
    return torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(scores), names


def split_heldout(n: int, share: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(train indices, held-out indices): a seeded random ``share`` of ``n`` held out (at least one each)."""
    if n < 4:
        raise SgfkitError(f"only {n} labelled images; label at least 4 (some are held out to report the error)")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    held = min(max(1, int(round(n * share))), n - 2)
    return order[held:], order[:held]
