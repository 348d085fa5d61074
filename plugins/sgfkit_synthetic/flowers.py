"""synth-flowers (v2): cartoon flowers with a continuous petal hue, two-tone petals, three petal
shapes and three clear sizes.

Layer groups: coarse = petal count, shape, size, pose; middle = centre size, petal width; fine =
petal colours (base hue, tip hue, two-tone share), centre colour, background.

* **Petal hue** is a continuous position ``p`` in [0, 6] on the colour path
  white - yellow - orange - red - pink - purple - blue (:data:`HUE_PATH`); the RGB is interpolated
  between neighbouring anchors and a named colour is a range, ``round(p)``. A soft staircase keeps
  most flowers near an anchor, so a colour name is almost always clear, while ``p`` stays smooth in w.
* **Two-tone petals** (a colour *mix*): the outer ``tip_share`` of each petal's length takes a second
  hue. ``tip_share`` is ~0 for most flowers and ~0.5 for the two-tone ones; a flower whose two tones
  have different names and each cover >= ``MIX_MIN_SHARE`` shows a visible mix ("red and purple
  petals"), and its ``petal_color`` fact is that list (base first).
* **Shapes**: round (broad elliptic petals), pointed (narrow petals tapering to a sharp tip, a star),
  notched (broad petals with a V cut into the tip, shallow enough that each stays one petal). Soft-max
  of three coarse factors. The petal count (5-9) is a near-integer staircase.
* **Sizes**: petal length on a three-step soft staircase (small / medium / large are 9, 15 and 21 px
  long at 64 px), so the size word is readable from the picture; the centre size on the same kind of
  staircase (radius 2.2 / 3.8 / 5.4 px at 64 px).
"""
from __future__ import annotations

import math
from typing import ClassVar

import torch

from sgfkit_synthetic.base import SyntheticGenerator
from sgfkit_synthetic.captions import (BACKGROUNDS, CENTER_COLORS, MIX_MIN_SHARE, PETAL_COLORS,  # one vocabulary
                                       PETAL_SHAPES)
from sgfkit_synthetic.draw import col, ellipse, paint, segment, soft
from sgfkit_synthetic.declarations import SynthFlowersDeclaration

SIZE_WORDS = ["small", "medium", "large"]
PETAL_COUNTS = [5, 6, 7, 8, 9]

#: the petal colour path: a hue position p in [0, 6] names HUE_PATH[round(p)]
HUE_PATH = ["white", "yellow", "orange", "red", "pink", "purple", "blue"]
_HUE_RGB = torch.tensor([
    [0.97, 0.97, 0.95], [1.00, 0.86, 0.12], [1.00, 0.52, 0.08], [0.86, 0.10, 0.13],
    [1.00, 0.55, 0.75], [0.52, 0.20, 0.78], [0.22, 0.42, 0.95]])
_CENTER_RGB = torch.tensor([[0.98, 0.78, 0.08], [0.48, 0.28, 0.10], [0.10, 0.08, 0.08], [0.38, 0.68, 0.18]])
_BACKGROUND_RGB = torch.tensor([[0.50, 0.72, 0.45], [0.58, 0.76, 0.96], [0.17, 0.19, 0.22], [0.94, 0.89, 0.76]])
_STEM = torch.tensor([0.20, 0.52, 0.18])
#: soft-max gain on the colour / shape factors: large enough that one class dominates almost always
_COLOR_GAIN = 30.0
#: steepness of the soft staircases (hue, size): the transition between two steps is ~1/6 of a step
_STEP_GAIN = 24.0
#: factors are ~N(0, 1) on untruncated w; recipes sample at psi ~0.8, so spread them by 1 / 0.8
_SPREAD = 1.25
#: colour shares below this are left out of the ``petal_mix`` fact
MIX_VISIBLE = 0.05
#: petal length (normalised units) of the three sizes
_PETAL_LEN = (0.28, 0.46, 0.64)
#: centre radius (normalised units) of a small and a large centre (medium half-way): 2.2 / 3.8 / 5.4 px at 64 px
_CENTER_R = (0.07, 0.17)
#: the notch of a notched petal: a V cut from the tip down to NOTCH_DEPTH of the petal's length,
#: NOTCH_WIDTH of the petal's half-width wide at the tip. Shallow enough that a notched petal still reads
#: as one petal (a cut down to 62 % drew two lobes per petal; a probe CNN read the petal count 80 % and 85 % in
#: two trainings on those renders, 92 % with this notch and the stepped centre, same data and steps). The shallower
#: notch costs some shape reading at the same data (probe 98 % -> 95.5 %), not with the shipped captioner's 6x renders
#: (probe 97.7 %; the captioner's held-out shape 94.8 % on v2 -> 96.8 %)
NOTCH_DEPTH, NOTCH_WIDTH = 0.80, 0.30


def size_word(v: float) -> str:
    """Discretise a size value in [0, 1] into small / medium / large (thirds)."""
    return SIZE_WORDS[min(2, int(v * 3))]


def soft_steps(f: torch.Tensor, n: int) -> torch.Tensor:
    """A factor [N] (~N(0, 0.8^2)) -> a value in [0, n - 1] that sits near an integer almost always.

    The factor is made ~uniform (normal CDF), stretched over n steps and passed through a steep but
    smooth staircase, so the value is continuous and monotone in w but rarely between two names.
    """
    x = n * torch.special.ndtr(_SPREAD * f) - 0.5                # (-0.5, n - 0.5)
    lo = torch.floor(x)
    return (lo + torch.sigmoid((x - lo - 0.5) * _STEP_GAIN)).clamp(0, n - 1)


def hue_name(p: float) -> str:
    """Hue position in [0, 6] -> its colour name (the nearest anchor of HUE_PATH)."""
    return HUE_PATH[min(len(HUE_PATH) - 1, max(0, int(math.floor(p + 0.5))))]


def hue_rgb(p: torch.Tensor) -> torch.Tensor:
    """Hue positions [N] in [0, 6] -> RGB [N, 3] (linear between neighbouring anchors)."""
    rgb = _HUE_RGB.to(p.device)
    lo = p.floor().clamp(0, len(HUE_PATH) - 2)
    t = (p - lo).unsqueeze(1)
    i = lo.long()
    return torch.lerp(rgb[i], rgb[i + 1], t)


def hue_weights(p: torch.Tensor) -> torch.Tensor:
    """Hue positions [N] -> interpolation weights over PETAL_COLORS [N, 7] (continuous, sum 1)."""
    lo = p.floor().clamp(0, len(HUE_PATH) - 2)
    t = p - lo
    out = torch.zeros(p.shape[0], len(PETAL_COLORS), device=p.device, dtype=p.dtype)
    order = torch.tensor([PETAL_COLORS.index(c) for c in HUE_PATH], device=p.device)
    i = lo.long()
    out.scatter_add_(1, order[i].unsqueeze(1), (1 - t).unsqueeze(1))
    out.scatter_add_(1, order[i + 1].unsqueeze(1), t.unsqueeze(1))
    return out


def petal_mix_fact(base_hue: float, tip_hue: float, tip_share: float) -> dict[str, float]:
    """The ``petal_mix`` fact {colour: share of the petal length} (shares >= MIX_VISIBLE)."""
    shares: dict[str, float] = {}
    for name, w in ((hue_name(base_hue), 1 - tip_share), (hue_name(tip_hue), tip_share)):
        shares[name] = shares.get(name, 0.0) + w
    return {c: round(w, 3) for c, w in shares.items() if w >= MIX_VISIBLE}


def petal_color_fact(base_hue: float, tip_hue: float, tip_share: float) -> str | list[str]:
    """The ``petal_color`` fact: one name, or [base, tip] when both tones are visible and differ."""
    base, tip = hue_name(base_hue), hue_name(tip_hue)
    if base != tip and min(tip_share, 1 - tip_share) >= MIX_MIN_SHARE:
        return [base, tip]
    return base if tip_share <= 0.5 else tip


class SynthFlowers(SynthFlowersDeclaration, SyntheticGenerator):
    """Procedural flowers: z -> seeded mapping MLP -> w -> w+ -> scene -> SDF renderer."""

    FACTOR_SEED: ClassVar[int] = 13
    FACTORS: ClassVar[dict[str, list[str]]] = {
        "coarse": ["count", "shape_round", "shape_pointed", "shape_notched", "petal_size", "rotation", "pos_x", "pos_y"],
        "middle": ["center_size", "petal_width"],
        "fine": ["petal_hue", "petal_tip_hue", "petal_two_tone"] + [f"center_{c}" for c in CENTER_COLORS]
        + [f"bg_{c}" for c in BACKGROUNDS],
    }

    def scene(self, ws: torch.Tensor) -> dict[str, torch.Tensor]:
        """w+ -> scene parameters [N]: count (4.5-9.5), petal_size / center_size / petal_width in
        [0, 1], hue / tip_hue in [0, 6], tip_share in [0, 0.5], rotation, position; plus the [N, C]
        mixtures ``shape_mix`` (PETAL_SHAPES), ``center_mix`` and ``bg_mix``."""
        f = self.factors(ws)
        s: dict[str, torch.Tensor] = {}
        # continuous petal count in (4.5, 9.5); the picture shows round(count) petals
        s["count"] = 4.5 + 5.0 * torch.sigmoid(1.2 * f["coarse.count"] + 0.25 * torch.tanh(f["coarse.count"] * f["coarse.petal_size"]))
        s["shape_mix"] = torch.softmax(_COLOR_GAIN * torch.stack([f[f"coarse.shape_{k}"] for k in PETAL_SHAPES], 1), 1)
        s["petal_size"] = soft_steps(f["coarse.petal_size"], 3) / 2
        # a three-step staircase like the petal size, so "a small / large center" is readable from the picture
        # (a smooth sigmoid left many centres near a name's edge: a probe CNN read the centre size 91-92 %, now 99 %)
        s["center_size"] = soft_steps(f["middle.center_size"], 3) / 2
        s["petal_width"] = torch.sigmoid(f["middle.petal_width"])
        s["rotation"] = f["coarse.rotation"] * 0.6
        s["pos_x"] = torch.tanh(0.5 * f["coarse.pos_x"]) * 0.10
        s["pos_y"] = torch.tanh(0.5 * f["coarse.pos_y"]) * 0.06 - 0.08
        s["hue"] = soft_steps(f["fine.petal_hue"], len(HUE_PATH))
        s["tip_hue"] = soft_steps(f["fine.petal_tip_hue"], len(HUE_PATH))
        # ~0 for most flowers, ~0.5 (outer half of each petal) for about one in four
        s["tip_share"] = 0.5 * torch.sigmoid(16.0 * (f["fine.petal_two_tone"] - 0.6))
        s["center_mix"] = torch.softmax(_COLOR_GAIN * torch.stack([f[f"fine.center_{c}"] for c in CENTER_COLORS], 1), 1)
        s["bg_mix"] = torch.softmax(_COLOR_GAIN * torch.stack([f[f"fine.bg_{c}"] for c in BACKGROUNDS], 1), 1)
        return s

    def petal_weights(self, s: dict[str, torch.Tensor]) -> torch.Tensor:
        """Continuous petal colour shares over PETAL_COLORS [N, 7] (base and tip tones by length share)."""
        t = s["tip_share"].unsqueeze(1)
        return (1 - t) * hue_weights(s["hue"]) + t * hue_weights(s["tip_hue"])

    def geometry(self, s: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Sizes in normalised units, [N] each."""
        g: dict[str, torch.Tensor] = {}
        g["center_r"] = _CENTER_R[0] + (_CENTER_R[1] - _CENTER_R[0]) * s["center_size"]
        size = s["petal_size"] * 2                                      # 0 / 1 / 2 on the plateaus
        g["petal_len"] = _PETAL_LEN[0] + (_PETAL_LEN[1] - _PETAL_LEN[0]) * size
        lo = torch.floor(s["count"])
        # nearly integer petal count, smooth only in a narrow band around the half-way point
        g["k"] = lo + torch.sigmoid((s["count"] - lo - 0.5) * 40)
        half_sector = math.pi / g["k"]
        mid_r = g["center_r"] * 0.6 + g["petal_len"] * 0.5
        cap = 0.98 * torch.sin(half_sector) * mid_r
        g["broad_w"] = torch.minimum(g["petal_len"] * (0.40 + 0.12 * s["petal_width"]), cap)
        g["narrow_w"] = torch.minimum(g["petal_len"] * (0.22 + 0.06 * s["petal_width"]), cap)
        return g

    def render(self, s: dict[str, torch.Tensor]) -> torch.Tensor:
        g = {k: col(v) for k, v in self.geometry(s).items()}
        n = s["count"].shape[0]
        r = self.resolution
        sharp = 3.2 * r / 2  # ~1 px anti-aliased edges
        gx, gy = self.grid(n)
        dev = gx.device
        base_rgb = hue_rgb(s["hue"]).view(n, 3, 1, 1)
        tip_rgb = hue_rgb(s["tip_hue"]).view(n, 3, 1, 1)
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
        length = g["petal_len"]
        along = ((px - start) / length) * 2 - 1                     # -1 at the base, 1 at the tip
        a01 = (along * 0.5 + 0.5).clamp(0, 1)
        ends = (along.abs() - 1) * length * 0.5
        ellipse_profile = (1 - along.clamp(-1, 1).square()).clamp_min(0).sqrt()
        # round: a broad ellipse; pointed: narrow, widest near the base, straight sides to a sharp tip
        round_d = torch.maximum(py.abs() - g["broad_w"] * ellipse_profile, ends)
        taper = (1 - a01) * (a01 * 4).clamp(max=1).sqrt()
        pointed_d = torch.maximum(py.abs() - g["narrow_w"] * 1.6 * taper, ends)
        # notched: a broad fan (wide, flat tip) with a V cut into the tip (NOTCH_DEPTH, NOTCH_WIDTH)
        fan_profile = (1 - along.clamp(-1, 1).abs().pow(3)).clamp_min(0).sqrt()
        fan_d = torch.maximum(py.abs() - g["broad_w"] * fan_profile, ends)
        notch_d = (NOTCH_DEPTH + (1 - NOTCH_DEPTH) * py.abs() / (NOTCH_WIDTH * g["broad_w"]) - a01) * length * 0.5
        notched_d = torch.maximum(fan_d, -notch_d)
        w = s["shape_mix"]
        petal_d = col(w[:, 0]) * round_d + col(w[:, 1]) * pointed_d + col(w[:, 2]) * notched_d
        petal = soft(petal_d, sharp)
        # two tones: the outer tip_share of the length takes the tip hue (a ~1 px soft boundary)
        tone = soft((1 - col(s["tip_share"])) - a01, sharp * length / 2).unsqueeze(1)
        petal_rgb = torch.lerp(base_rgb, tip_rgb, tone)
        shade = (0.74 + 0.26 * a01).unsqueeze(1)                     # darker towards the centre
        img = torch.lerp(img, petal_rgb * shade, petal.unsqueeze(1))
        edge = (soft(petal_d.abs() - 0.007, sharp) * 0.7).unsqueeze(1)
        img = torch.lerp(img, petal_rgb * 0.55, edge)
        vein = (petal * soft(py.abs() - 0.004, sharp) * (along < 0.4) * 0.25).unsqueeze(1)
        img = torch.lerp(img, petal_rgb * 0.5, vein)

        # centre: disc with a dotted texture and a dark rim
        center_d = rad - g["center_r"]
        center = soft(center_d, sharp)
        dots = 0.88 + 0.12 * torch.sin(dx * 60) * torch.sin(dy * 60)
        img = torch.lerp(img, center_rgb.view(n, 3, 1, 1) * dots.unsqueeze(1), center.unsqueeze(1))
        img = paint(img, soft(center_d.abs() - 0.008, sharp) * 0.8, center_rgb * 0.5)
        return img.clamp(0, 1) * 2 - 1

    def facts(self, s: dict[str, torch.Tensor]) -> list[dict]:
        """Scene -> one dict of facts per sample: the discrete facts a caption can say (``petal_color``
        is a [base, tip] list for a visible two-tone mix), plus ``petal_mix`` ({colour: share of the
        petal length}, shares >= MIX_VISIBLE) to score mixes."""
        return [flower_facts(*row) for row in zip(
            s["hue"].tolist(), s["tip_hue"].tolist(), s["tip_share"].tolist(), s["shape_mix"].argmax(1).tolist(),
            s["petal_size"].tolist(), s["count"].tolist(), s["center_mix"].argmax(1).tolist(),
            s["center_size"].tolist(), s["bg_mix"].argmax(1).tolist())]


def flower_facts(hue: float, tip_hue: float, tip_share: float, shape: int, petal_size: float, count: float,
                 center: int, center_size: float, background: int) -> dict:
    """Scene values of one flower -> its facts (shared by the generator and the truth vector)."""
    return {
        "petal_color": petal_color_fact(hue, tip_hue, tip_share),
        "petal_shape": PETAL_SHAPES[shape],
        "petal_size": size_word(petal_size),
        "petal_count": int(min(9, max(5, round(count)))),
        "center_color": CENTER_COLORS[center],
        "center_size": size_word(center_size),
        "background": BACKGROUNDS[background],
        "petal_mix": petal_mix_fact(hue, tip_hue, tip_share),
    }
