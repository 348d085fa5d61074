"""Tiny differentiable 2-D drawing kit: signed distances, soft masks, colour helpers.

Coordinates are normalised image coordinates in [-1, 1] (y grows downwards). Per-sample
parameters are [N, 1, 1] tensors that broadcast against [1, R, 1] / [1, 1, R] grids, giving
[N, R, R] fields. Masks are in [0, 1]; images are [N, 3, R, R] in [0, 1] until the end.
"""
from __future__ import annotations

import torch


def col(t: torch.Tensor) -> torch.Tensor:
    """[N] -> [N, 1, 1] so per-sample values broadcast over the image plane."""
    return t.view(-1, 1, 1)


def soft(d: torch.Tensor, sharpness: float) -> torch.Tensor:
    """Signed distance (negative inside) -> anti-aliased coverage in [0, 1].

    ``sharpness`` is 1 / (edge width in normalised units); about 1.5 * R gives a one-pixel edge.
    """
    return torch.sigmoid(d * -sharpness)


def ellipse(x: torch.Tensor, y: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Approximate signed distance to an axis-aligned ellipse at the origin with radii ``a``, ``b``.

    Exact on the axes, good enough elsewhere for soft masks (scaled by the smaller radius).
    """
    r = torch.sqrt((x / a).square() + (y / b).square() + 1e-9)
    return (r - 1) * torch.minimum(a, b)


def segment(x: torch.Tensor, y: torch.Tensor, ax: torch.Tensor, ay: torch.Tensor,
            bx: torch.Tensor, by: torch.Tensor) -> torch.Tensor:
    """Distance to the segment from (ax, ay) to (bx, by) (subtract a radius for a capsule)."""
    px, py = x - ax, y - ay
    dx, dy = bx - ax, by - ay
    h = ((px * dx + py * dy) / (dx * dx + dy * dy + 1e-9)).clamp(0, 1)
    return torch.sqrt((px - dx * h).square() + (py - dy * h).square() + 1e-9)


def paint(img: torch.Tensor, mask: torch.Tensor, rgb: torch.Tensor) -> torch.Tensor:
    """Composite colour ``rgb`` [N, 3] (or [3]) over ``img`` [N, 3, R, R] with coverage ``mask`` [N, R, R]."""
    return torch.lerp(img, rgb.to(img.device).view(-1, 3, 1, 1), mask.unsqueeze(1))


def hsv(h: torch.Tensor, s: torch.Tensor | float, v: torch.Tensor | float) -> torch.Tensor:
    """HSV -> RGB, all in [0, 1] (hue wraps). Inputs [N] (or floats) -> [N, 3]. Differentiable."""
    h = h.unsqueeze(1)
    s = torch.as_tensor(s, dtype=h.dtype, device=h.device).reshape(-1, 1)
    v = torch.as_tensor(v, dtype=h.dtype, device=h.device).reshape(-1, 1)
    n = torch.tensor([5.0, 3.0, 1.0], dtype=h.dtype, device=h.device)
    k = torch.remainder(n + h * 6, 6)
    f = torch.minimum(k, 4 - k).clamp(0, 1)
    return v - v * s * f


def mix(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Blend colours a, b ([3] or [N, 3]) by weights t [N] -> [N, 3]."""
    a, b = a.to(t.device), b.to(t.device)
    return torch.lerp(a.expand(t.shape[0], 3), b.expand(t.shape[0], 3), t.unsqueeze(1))
