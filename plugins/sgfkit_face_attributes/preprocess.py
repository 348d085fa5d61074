"""Image preprocessing for the face-attribute networks.

VGGFace2 ``senet50`` (the original recipe of its data loader): 8-bit RGB -> resize the shorter
side to 256 (PIL bilinear) -> centre crop 224 -> BGR -> subtract the BGR mean
[91.4953, 103.8827, 131.0912] on the 0-255 scale (no division by 255, no std).
The embedded network takes the generator's [-1, 1] RGB images at its own input size.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

#: VGGFace2 mean in BGR order, 0-255 scale
VGGFACE2_MEAN_BGR = (91.4953, 103.8827, 131.0912)
RESIZE, CROP = 256, 224


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[N, 3, H, W] in [-1, 1] -> uint8 [N, H, W, 3] (rounded, like saving the image)."""
    x = (images.detach().float().cpu() * 127.5 + 127.5).round().clamp(0, 255).to(torch.uint8)
    return x.permute(0, 2, 3, 1).numpy()


def _resize_shorter(img: Image.Image, size: int) -> Image.Image:
    w, h = img.size
    if w <= h:
        return img.resize((size, int(size * h / w)), Image.BILINEAR)
    return img.resize((int(size * w / h), size), Image.BILINEAR)


def _center_crop(img: Image.Image, size: int) -> Image.Image:
    w, h = img.size
    left, top = int(round((w - size) / 2.0)), int(round((h - size) / 2.0))
    return img.crop((left, top, left + size, top + size))


def vggface2_from_uint8(pixels: np.ndarray) -> torch.Tensor:
    """uint8 RGB [N, H, W, 3] -> [N, 3, 224, 224] float32 BGR minus mean (the original recipe)."""
    out = np.empty((len(pixels), 3, CROP, CROP), np.float32)
    mean = np.asarray(VGGFACE2_MEAN_BGR, np.float32)
    for i, arr in enumerate(pixels):
        img = _center_crop(_resize_shorter(Image.fromarray(arr), RESIZE), CROP)
        bgr = np.asarray(img, np.float32)[:, :, ::-1] - mean
        out[i] = bgr.transpose(2, 0, 1)
    return torch.from_numpy(out)


def vggface2_original(images: torch.Tensor) -> torch.Tensor:
    """[N, 3, H, W] in [-1, 1] -> the exact VGGFace2 input (8-bit quantisation, PIL resize)."""
    return vggface2_from_uint8(to_uint8(images)).to(images.device)


def vggface2_fast(images: torch.Tensor) -> torch.Tensor:
    """Tensor-only approximation of :func:`vggface2_original` (antialiased bilinear, no rounding).

    Stays on the images' device and keeps gradients; differs from the original by about one grey level.
    """
    n, _, h, w = images.shape
    scale = RESIZE / min(h, w)
    size = (RESIZE, int(RESIZE * w / h)) if h <= w else (int(RESIZE * h / w), RESIZE)
    x = (images.float() * 127.5 + 127.5).clamp(0, 255)
    if (h, w) != size:
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=scale < 1)
    top, left = int(round((size[0] - CROP) / 2.0)), int(round((size[1] - CROP) / 2.0))
    x = x[:, :, top:top + CROP, left:left + CROP].flip(1)
    mean = torch.tensor(VGGFACE2_MEAN_BGR, device=x.device).view(1, 3, 1, 1)
    return x - mean


def embedded_input(images: torch.Tensor, size: int) -> torch.Tensor:
    """[N, 3, H, W] in [-1, 1] -> [N, 3, size, size] in [-1, 1] (antialiased resize when needed)."""
    x = images.float()
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False,
                          antialias=x.shape[-1] > size)
    return x
