"""Reading users' photos into generator-ready tensors.

The documented crop: apply the EXIF orientation, flatten transparency onto white, convert any mode
(greyscale, palette, CMYK, 16-bit) to RGB, cut the largest centred square (the longer side loses
equal margins), then resize that square to the generator's resolution with Lanczos filtering
(area-like when shrinking). Result: float32 [N, 3, R, R] in [-1, 1].
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from sgfkit.errors import ImageError


def _open(path: Path):  # -> PIL.Image.Image
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not path.is_file():
        raise ImageError(f"{path}: no such image file; check the path")
    if path.stat().st_size == 0:
        raise ImageError(f"{path}: the file is empty; pass a PNG or JPEG photo")
    try:
        with Image.open(path) as img:
            img.load()
            img = ImageOps.exif_transpose(img)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"{path}: not a readable image ({type(exc).__name__}: {exc}); "
                         "pass a PNG, JPEG or another format Pillow reads") from None
    if img.width < 1 or img.height < 1:
        raise ImageError(f"{path}: the image has no pixels")
    return img


def to_rgb(img):  # PIL.Image.Image -> PIL.Image.Image
    """Any PIL mode -> RGB; transparent pixels become white."""
    from PIL import Image

    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        img = Image.fromarray((arr / top * 255.0).round().clip(0, 255).astype(np.uint8), "L")
    if img.mode == "P" or img.mode == "PA":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "La", "RGBa"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def center_square(img):  # PIL.Image.Image -> PIL.Image.Image
    """The largest centred square of ``img``."""
    w, h = img.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return img.crop((left, top, left + side, top + side))


def load_image(path: str | Path, resolution: int) -> torch.Tensor:
    """One image file -> [3, resolution, resolution] float32 in [-1, 1] (see the module doc for the crop)."""
    from PIL import Image

    img = center_square(to_rgb(_open(Path(path))))
    if img.size != (resolution, resolution):
        img = img.resize((resolution, resolution), Image.LANCZOS)
    arr = np.asarray(img, dtype=np.float32)  # [R, R, 3] in 0..255
    return torch.from_numpy(arr).permute(2, 0, 1).contiguous() / 127.5 - 1.0


def load_images(paths: Sequence[str | Path], resolution: int) -> torch.Tensor:
    """Image files -> [N, 3, resolution, resolution] float32 in [-1, 1]."""
    if not paths:
        raise ImageError("no images given; pass one or more image files")
    return torch.stack([load_image(p, resolution) for p in paths])


def save_image(image: torch.Tensor, path: str | Path) -> None:
    """[3, H, W] in [-1, 1] -> an 8-bit RGB PNG (rounded, as every grid is saved)."""
    from PIL import Image

    arr = (image.detach().float().cpu().clamp(-1, 1) * 127.5 + 127.5).round().to(torch.uint8)
    Image.fromarray(arr.permute(1, 2, 0).contiguous().numpy()).save(str(path))
