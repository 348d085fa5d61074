"""synth-flowers: cartoon flowers with known petal count, colours, shapes and sizes.

Layer groups: coarse = petal count, petal shape, petal size, pose; middle = centre size, petal
width; fine = petal colour, centre colour, background. Colour classes are soft-max mixtures of
fine-layer factors, so a colour change is smooth in w but almost always shows one clear class.
"""
from __future__ import annotations

import math
from typing import ClassVar

import torch

from sgfkit_synthetic.base import SyntheticGenerator
from sgfkit_synthetic.captions import BACKGROUNDS, CENTER_COLORS, PETAL_COLORS  # one vocabulary for both
from sgfkit_synthetic.draw import col, ellipse, paint, segment, soft

SIZE_WORDS = ["small", "medium", "large"]
PETAL_COUNTS = [5, 6, 7, 8, 9]

_PETAL_RGB = torch.tensor([
    [0.86, 0.10, 0.13], [1.00, 0.52, 0.08], [1.00, 0.86, 0.12], [1.00, 0.58, 0.74],
    [0.56, 0.24, 0.78], [0.22, 0.42, 0.95], [0.97, 0.97, 0.95]])
_CENTER_RGB = torch.tensor([[0.98, 0.78, 0.08], [0.48, 0.28, 0.10], [0.10, 0.08, 0.08], [0.38, 0.68, 0.18]])
_BACKGROUND_RGB = torch.tensor([[0.50, 0.72, 0.45], [0.58, 0.76, 0.96], [0.17, 0.19, 0.22], [0.94, 0.89, 0.76]])
_STEM = torch.tensor([0.20, 0.52, 0.18])
#: soft-max gain on the colour factors: large enough that one class dominates almost always
_COLOR_GAIN = 30.0
#: colour shares below this are left out of the ``petal_mix`` fact
MIX_VISIBLE = 0.05


def size_word(v: float) -> str:
    """Discretise a size value in [0, 1] into small / medium / large (thirds)."""
    return SIZE_WORDS[min(2, int(v * 3))]


def petal_mix_fact(shares: list[float]) -> dict[str, float]:
    """Petal colour shares (one per PETAL_COLORS, summing to 1) -> the ``petal_mix`` fact {colour: share}."""
    # colours ``fact_holds`` needs to see a mix ("red and purple"); the caption grammar ignores this fact
    return {c: round(w, 3) for c, w in zip(PETAL_COLORS, shares) if w >= MIX_VISIBLE}


class SynthFlowers(SyntheticGenerator):
    """Procedural flowers: z -> seeded mapping MLP -> w -> w+ -> scene -> SDF renderer."""

    FACTOR_SEED: ClassVar[int] = 13
    FACTORS: ClassVar[dict[str, list[str]]] = {
        "coarse": ["count", "pointed", "petal_size", "rotation", "pos_x", "pos_y"],
        "middle": ["center_size", "petal_width"],
        "fine": [f"petal_{c}" for c in PETAL_COLORS] + [f"center_{c}" for c in CENTER_COLORS]
        + [f"bg_{c}" for c in BACKGROUNDS],
    }

    def scene(self, ws: torch.Tensor) -> dict[str, torch.Tensor]:
        """w+ -> scene parameters [N] (and the [N, C] colour mixtures ``petal_mix``, ``center_mix``, ``bg_mix``)."""
        f = self.factors(ws)
        s: dict[str, torch.Tensor] = {}
        # continuous petal count in (4.5, 9.5); the picture shows round(count) petals
        s["count"] = 4.5 + 5.0 * torch.sigmoid(1.2 * f["coarse.count"] + 0.25 * torch.tanh(f["coarse.count"] * f["coarse.petal_size"]))
        s["pointed"] = torch.sigmoid(2.5 * f["coarse.pointed"])
        s["petal_size"] = torch.sigmoid(1.3 * f["coarse.petal_size"])
        s["center_size"] = torch.sigmoid(1.3 * f["middle.center_size"])
        s["petal_width"] = torch.sigmoid(f["middle.petal_width"])
        s["rotation"] = f["coarse.rotation"] * 0.6
        s["pos_x"] = torch.tanh(0.5 * f["coarse.pos_x"]) * 0.12
        s["pos_y"] = torch.tanh(0.5 * f["coarse.pos_y"]) * 0.08 - 0.08
        s["petal_mix"] = torch.softmax(_COLOR_GAIN * torch.stack([f[f"fine.petal_{c}"] for c in PETAL_COLORS], 1), 1)
        s["center_mix"] = torch.softmax(_COLOR_GAIN * torch.stack([f[f"fine.center_{c}"] for c in CENTER_COLORS], 1), 1)
        s["bg_mix"] = torch.softmax(_COLOR_GAIN * torch.stack([f[f"fine.bg_{c}"] for c in BACKGROUNDS], 1), 1)
        return s

    def geometry(self, s: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Sizes in normalised units, [N] each."""
        g: dict[str, torch.Tensor] = {}
        g["center_r"] = 0.09 + 0.11 * s["center_size"]
        g["petal_len"] = 0.32 + 0.40 * s["petal_size"]
        lo = torch.floor(s["count"])
        # nearly integer petal count, smooth only in a narrow band around the half-way point
        g["k"] = lo + torch.sigmoid((s["count"] - lo - 0.5) * 40)
        half_sector = math.pi / g["k"]
        mid_r = g["center_r"] * 0.6 + g["petal_len"] * 0.5
        g["petal_w"] = torch.minimum(g["petal_len"] * (0.30 + 0.16 * s["petal_width"]), 0.98 * torch.sin(half_sector) * mid_r)
        g["power"] = 0.5 + 0.9 * s["pointed"]
        return g

    def render(self, s: dict[str, torch.Tensor]) -> torch.Tensor:
        g = {k: col(v) for k, v in self.geometry(s).items()}
        n = s["count"].shape[0]
        r = self.resolution
        sharp = 3.2 * r / 2  # ~1 px anti-aliased edges
        gx, gy = self.grid(n)
        dev = gx.device
        petal_rgb = s["petal_mix"] @ _PETAL_RGB.to(dev)
        center_rgb = s["center_mix"] @ _CENTER_RGB.to(dev)
        bg_rgb = s["bg_mix"] @ _BACKGROUND_RGB.to(dev)

        t = (gy + 1) / 2
        img = torch.lerp(bg_rgb.view(n, 3, 1, 1) * 1.05, bg_rgb.view(n, 3, 1, 1) * 0.85, t.unsqueeze(1)).expand(n, 3, r, r)

        cx, cy = col(s["pos_x"]), col(s["pos_y"])
        dx, dy = gx - cx, gy - cy
        # stem and a leaf
        stem = soft(segment(gx, gy, cx, cy, cx * 0.5 + 0.05, torch.ones_like(cx) * 1.1) - 0.025, sharp)
        leaf = soft(ellipse((gx - cx * 0.6 - 0.15) * 0.8 + (gy - 0.72) * 0.6, (gy - 0.72) * 0.8 - (gx - cx * 0.6 - 0.15) * 0.6,
                            torch.tensor(0.14), torch.tensor(0.05)), sharp)
        img = paint(img, torch.maximum(stem, leaf), _STEM.to(dev).expand(n, 3))

        # petals: fold the angle into one sector of width 2 pi / k, then draw one petal there
        rad = torch.sqrt(dx.square() + dy.square() + 1e-9)
        theta = torch.atan2(dy, dx) + col(s["rotation"])
        sector = 2 * math.pi / g["k"]
        phi = torch.remainder(theta + sector / 2, sector) - sector / 2
        px, py = rad * torch.cos(phi), rad * torch.sin(phi)
        start = g["center_r"] * 0.6
        along = ((px - start) / g["petal_len"]) * 2 - 1            # -1 at the base, 1 at the tip
        profile = (1 - along.clamp(-1, 1).square()).clamp_min(0).pow(g["power"])
        petal_d = torch.maximum(py.abs() - g["petal_w"] * profile, (along.abs() - 1) * g["petal_len"] * 0.5)
        petal = soft(petal_d, sharp)
        shade = (0.72 + 0.28 * (along * 0.5 + 0.5).clamp(0, 1)).unsqueeze(1)   # darker towards the centre
        img = torch.lerp(img, petal_rgb.view(n, 3, 1, 1) * shade, petal.unsqueeze(1))
        edge = soft(petal_d.abs() - 0.007, sharp) * 0.7
        img = paint(img, edge, petal_rgb * 0.55)
        vein = petal * soft(py.abs() - 0.004, sharp) * (along < 0.6) * 0.25
        img = paint(img, vein, petal_rgb * 0.5)

        # centre: disc with a dotted texture and a dark rim
        center_d = rad - g["center_r"]
        center = soft(center_d, sharp)
        dots = 0.88 + 0.12 * torch.sin(dx * 60) * torch.sin(dy * 60)
        img = torch.lerp(img, center_rgb.view(n, 3, 1, 1) * dots.unsqueeze(1), center.unsqueeze(1))
        img = paint(img, soft(center_d.abs() - 0.008, sharp) * 0.8, center_rgb * 0.5)
        return img.clamp(0, 1) * 2 - 1

    def facts(self, s: dict[str, torch.Tensor]) -> list[dict]:
        """Scene -> one dict of facts per sample: the discrete facts a caption can say, plus
        ``petal_mix`` ({colour: share} of the petal colour, shares >= MIX_VISIBLE) to score mixes."""
        count = s["count"].round().clamp(5, 9).long().tolist()
        pc = s["petal_mix"].argmax(1).tolist()
        cc = s["center_mix"].argmax(1).tolist()
        bg = s["bg_mix"].argmax(1).tolist()
        pointed = (s["pointed"] > 0.5).tolist()
        psize = s["petal_size"].tolist()
        csize = s["center_size"].tolist()
        mix = s["petal_mix"].tolist()
        return [{
            "petal_color": PETAL_COLORS[pc[i]],
            "petal_shape": "pointed" if pointed[i] else "round",
            "petal_size": size_word(psize[i]),
            "petal_count": int(count[i]),
            "center_color": CENTER_COLORS[cc[i]],
            "center_size": size_word(csize[i]),
            "background": BACKGROUNDS[bg[i]],
            "petal_mix": petal_mix_fact(mix[i]),
        } for i in range(len(count))]
