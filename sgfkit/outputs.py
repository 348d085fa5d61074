"""What a run leaves behind: the run folder, atomic file writes, labelled image grids, npz.

Every file is written to a temporary name in the same folder and renamed into place, so a
crash never leaves a half-written file. Run folders are ``00003-<name>`` and never reused.
"""
from __future__ import annotations

import io
import json
import os
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_RUN_DIR = re.compile(r"^(\d{5})-")


# -- atomic writes ----------------------------------------------------------------------------

def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_text_atomic(path: Path, text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, data: Any) -> Path:
    return write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if hasattr(value, "tolist"):  # torch tensors
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    return repr(value)


def write_npz_atomic(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return write_bytes_atomic(path, buffer.getvalue())


def figure_png(figure: Any) -> bytes:
    """A matplotlib figure as PNG bytes (the figure is closed afterwards)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


# -- run folders ------------------------------------------------------------------------------

def create_run_dir(parent: Path, name: str) -> Path:
    """Make ``parent/NNNNN-name`` with NNNNN one above the highest existing number; never reuse one."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    numbers = [int(m.group(1)) for p in parent.iterdir() if (m := _RUN_DIR.match(p.name))]
    number = max(numbers, default=-1) + 1
    while True:
        run_dir = parent / f"{number:05d}-{name}"
        try:
            run_dir.mkdir()
            return run_dir
        except FileExistsError:  # another run took it meanwhile
            number += 1


# -- image grids ------------------------------------------------------------------------------

def to_uint8(images: Any) -> np.ndarray:
    """Images [N, 3, H, W] in [-1, 1] (tensor or array) -> uint8 [N, H, W, 3]."""
    array = images.detach().cpu().float().numpy() if hasattr(images, "detach") else np.asarray(images)
    array = np.clip((array + 1.0) * 127.5 + 0.5, 0, 255).astype(np.uint8)
    return array.transpose(0, 2, 3, 1)


@dataclass
class GridBlock:
    """One titled block of rows; each row is a list of (image [H, W, 3] uint8, label) cells."""

    title: str
    rows: list[list[tuple[np.ndarray, str]]]


def _cell_size(resolution: int) -> int:
    if resolution >= 256:
        return 256
    return resolution * max(1, -(-96 // resolution))  # upscale small images to at least 96 px


def _font(size: int = 11) -> Any:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)  # a scalable font (Pillow >= 10.1 with FreeType)
    except TypeError:
        return ImageFont.load_default()


def _block_size(block: GridBlock, size: int, pad: int, row_h: int, title_h: int) -> tuple[int, int]:
    columns = max((len(row) for row in block.rows), default=1)
    return columns * (size + pad), title_h + len(block.rows) * row_h


def render_grid(blocks: Sequence[GridBlock], max_label_lines: int = 6, max_width: int = 2800) -> bytes:
    """Draw titled blocks of labelled images into one PNG.

    Blocks are placed side by side while they fit in ``max_width`` pixels, then on the next band,
    so that many (method x target) blocks stay readable at a glance. Labels wrap onto as many lines
    as the longest one needs (at most ``max_label_lines``).
    """
    from PIL import Image, ImageDraw

    font = _font()
    cells = [cell for block in blocks for row in block.rows for cell in row]
    resolution = max((c[0].shape[0] for c in cells), default=64)
    size, pad, line_h, title_h = _cell_size(resolution), 6, 13, 20
    chars = max(8, size // 6)
    label_lines = min(max_label_lines, max((len(textwrap.wrap(c[1], chars)) for c in cells), default=1))
    row_h = size + label_lines * line_h + pad
    # pack blocks into bands
    bands: list[list[GridBlock]] = [[]]
    band_width = 0
    for block in blocks:
        width, _ = _block_size(block, size, pad, row_h, title_h)
        if bands[-1] and band_width + width + 2 * pad > max_width:
            bands.append([])
            band_width = 0
        bands[-1].append(block)
        band_width += width + 2 * pad
    band_sizes = [(sum(_block_size(b, size, pad, row_h, title_h)[0] + 2 * pad for b in band),
                   max((_block_size(b, size, pad, row_h, title_h)[1] for b in band), default=0)) for band in bands]
    width = pad + max((w for w, _ in band_sizes), default=200)
    height = pad + sum(h + pad for _, h in band_sizes)
    canvas = Image.new("RGB", (max(width, 200), max(height, 40)), "white")
    draw = ImageDraw.Draw(canvas)
    y0 = pad
    for band, (_, band_h) in zip(bands, band_sizes):
        x0 = pad
        for block in band:
            block_w, _ = _block_size(block, size, pad, row_h, title_h)
            draw.text((x0, y0 + 3), block.title, fill="black", font=_font(13))
            y = y0 + title_h
            for row in block.rows:
                for col, (image, label) in enumerate(row):
                    x = x0 + col * (size + pad)
                    tile = Image.fromarray(image).resize(
                        (size, size), Image.NEAREST if image.shape[0] < size else Image.BILINEAR)
                    canvas.paste(tile, (x, y))
                    for i, text in enumerate(textwrap.wrap(label, chars)[:label_lines]):
                        draw.text((x, y + size + 1 + i * line_h), text, fill="black", font=font)
                y += row_h
            x0 += block_w + 2 * pad
            if block is not band[-1]:  # a thin rule between side-by-side blocks
                draw.line([(x0 - pad - 1, y0), (x0 - pad - 1, y0 + band_h)], fill=(200, 200, 200))
        y0 += band_h + pad
    buffer = io.BytesIO()
    canvas.save(buffer, format="PNG")
    return buffer.getvalue()


def sample_grid(generator: Any, encoder: Any | None, count: int, seed: int, per_row: int = 8,
                attributes: list[str] | None = None) -> bytes:
    """A PNG of ``count`` samples, each labelled with ``encoder.describe`` (or its index).

    ``attributes`` picks the conditions the labels show; the title says which ones are shown.
    """
    from sgfkit.progress import progress_task

    dims = [encoder.index_of(a) for a in attributes] if encoder is not None and attributes else None
    with progress_task("Rendering samples", total=2) as task:
        latents = generator.sample_latents(count, seed)
        images = to_uint8(generator.synthesize(latents))
        task.advance()
        labels = [f"#{i}" for i in range(count)]
        if encoder is not None:
            conditions = encoder.measure(generator, latents)
            labels = [f"#{i} {text}" for i, text in enumerate(encoder.describe(conditions, dims))]
        task.advance()
    cells = list(zip(images, labels))
    rows = [cells[i:i + per_row] for i in range(0, count, per_row)]
    title = f"{generator.registry_name or type(generator).__name__}, seed {seed}"
    if encoder is not None:
        title += "; labels: " + label_legend(encoder, dims)
    return render_grid([GridBlock(title, rows)])


def label_legend(encoder: Any, dims: list[int] | None) -> str:
    """Which conditions ``encoder.describe(c, dims)`` labels show, e.g. ``smile, age (2 of 15)``."""
    owner = next(k for k in type(encoder).__mro__ if "describe" in k.__dict__)
    name = encoder.registry_name or type(encoder).__name__
    if owner.__module__ != "sgfkit.components":  # an encoder with its own description (captions, ...)
        return f"{name}'s description"
    names = list(encoder.names)
    shown = [names[i] for i in dims] if dims else names[:4]  # ConditionEncoder.describe's default: first 4
    more = f" ({len(shown)} of {len(names)}; --attributes to choose)" if len(shown) < len(names) else ""
    return ", ".join(shown) + more
