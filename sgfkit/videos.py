"""``edits.video``: each edit path, and a loop through the sources, as an mp4 or gif in the run folder.

A path of T latents (``path[0]`` = sources, ``path[-1]`` = results; linear methods have T = 2) is resampled
to ``frames`` latents by piecewise-linear interpolation along its index, so every method gets the same
frame count; each frame tiles the N sources side by side. Frames render in batches of ``batch_size``
latents. mp4 goes through the ffmpeg binary of the imageio-ffmpeg wheel (libx264, yuv420p), gif through
Pillow; both come with the ``video`` extra.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sgfkit.errors import SgfkitError
from sgfkit.latents import Latents
from sgfkit.outputs import to_uint8


def resample_path(path: np.ndarray, frames: int) -> np.ndarray:
    """Path [T, N, ...] -> [frames, N, ...], piecewise linear in the path index (ends kept exactly)."""
    if len(path) == 1:
        return np.repeat(path, frames, axis=0)
    position = np.linspace(0.0, len(path) - 1, frames)
    low = np.minimum(np.floor(position).astype(int), len(path) - 2)
    frac = (position - low).reshape(-1, *([1] * (path.ndim - 1))).astype(path.dtype)
    return path[low] * (1 - frac) + path[low + 1] * frac


def source_loop(sources: np.ndarray, frames_per_step: int) -> np.ndarray:
    """Sources [N, ...] -> [N * frames_per_step, 1, ...]: 0 -> 1 -> ... -> N-1 -> 0, linear between them."""
    ring = np.concatenate([sources, sources[:1]])
    steps = [resample_path(ring[i:i + 2, None], frames_per_step + 1)[:-1] for i in range(len(sources))]
    return np.concatenate(steps)


def render_frames(generator: Any, latents: np.ndarray, space: str, batch_size: int) -> np.ndarray:
    """Latents [F, N, ...] -> uint8 frames [F, H, N * W, 3] (the N images side by side), even sizes."""
    count, n = latents.shape[:2]
    flat = Latents(torch.from_numpy(np.ascontiguousarray(latents.reshape(count * n, *latents.shape[2:]))), space)
    images = to_uint8(generator.synthesize(flat.to(generator.device), batch_size=batch_size))   # [F*N, H, W, 3]
    h, w = images.shape[1:3]
    frames = images.reshape(count, n, h, w, 3).transpose(0, 2, 1, 3, 4).reshape(count, h, n * w, 3)
    pad_h, pad_w = h % 2, (n * w) % 2   # yuv420p needs even sizes
    return np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0))) if pad_h or pad_w else frames


def write_video(path: Path, frames: np.ndarray, fps: int) -> None:
    """uint8 frames [F, H, W, 3] -> ``path`` (.mp4 or .gif), written to a temporary name then moved."""
    try:
        import imageio.v3 as iio
    except ImportError:
        raise SgfkitError("edits.video needs imageio and imageio-ffmpeg: pip install 'sgfkit[video]' "
                          "(or remove edits.video)") from None
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    if path.suffix == ".gif":
        iio.imwrite(tmp, frames, extension=".gif", duration=1000 / fps, loop=0)
    else:
        iio.imwrite(tmp, frames, extension=".mp4", plugin="FFMPEG", fps=fps, codec="libx264",
                    pixelformat="yuv420p", macro_block_size=1)
    tmp.replace(path)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "edit"


def write_edit_videos(run_dir: Path, generator: Any, records: list[Any], config: dict[str, Any]) -> list[str]:
    """One video per edit record (``video_<NN>_<method>_<label>``) and one through the sources; file names."""
    fmt, fps, frames, batch = config["format"], config["fps"], config["frames"], config["batch_size"]
    written: list[str] = []
    for i, record in enumerate(records):
        path = record.path if len(record.path) else np.stack([record.sources, record.results])
        space = "w+" if path.ndim == 4 else generator.space
        name = f"video_{i:02d}_{_slug(record.outcome.method)}_{_slug(record.outcome.label)}.{fmt}"
        write_video(run_dir / name, render_frames(generator, resample_path(path, frames), space, batch), fps)
        written.append(name)
    if records and config["sources"] and len(records[0].sources) > 1:
        sources = records[0].sources
        space = "w+" if sources.ndim == 3 else generator.space
        loop = source_loop(sources, max(2, frames // len(sources)))
        write_video(run_dir / f"video_sources.{fmt}", render_frames(generator, loop, space, batch), fps)
        written.append(f"video_sources.{fmt}")
    return written
