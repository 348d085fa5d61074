"""synth-faces: anime-style cartoon faces with known attributes and landmarks.

Layer groups: coarse = head pose, hair shape, baldness, beard; middle = expression, eyes, glasses,
age; fine = colours (skin, hair, background, irises, shirt). See README.md for the entanglement map.
"""
from __future__ import annotations

from typing import ClassVar

import torch

from sgfkit_synthetic.base import SyntheticGenerator
from sgfkit_synthetic.draw import col, ellipse, hsv, mix, paint, segment, soft
from sgfkit_synthetic.declarations import FACE_ATTRIBUTES, FACE_LANDMARKS, SynthFacesDeclaration  # noqa: F401 - re-exported


# head tilts around this point (the base of the neck), in normalised coordinates
_PIVOT_Y = 0.78
_ZOOM = 1.22      # head-frame unit -> image units
_HEAD_Y = 0.06    # image y of the head-frame origin
_MAX_ROLL = 0.35  # radians (~20 degrees) at head_roll 0 or 1
_SKIN_LIGHT = torch.tensor([1.0, 0.88, 0.78])
_SKIN_DARK = torch.tensor([0.50, 0.32, 0.21])
_BLACK = torch.tensor([0.09, 0.08, 0.10])
_WHITE = torch.tensor([1.0, 1.0, 1.0])
_GREY = torch.tensor([0.80, 0.80, 0.82])
_LINE = torch.tensor([0.16, 0.09, 0.09])
_MOUTH = torch.tensor([0.55, 0.12, 0.16])
_BLUSH = torch.tensor([1.0, 0.55, 0.55])


def _sig(x: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(x)


class SynthFaces(SynthFacesDeclaration, SyntheticGenerator):
    """Procedural anime faces: z -> seeded mapping MLP -> w -> w+ -> scene -> SDF renderer.

    Images [N, 3, R, R] in [-1, 1]. ``scene(ws)`` gives the exact attributes and geometry,
    ``landmarks(scene)`` the exact landmark pixel coordinates.
    """

    FACTOR_SEED: ClassVar[int] = 11
    FACTORS: ClassVar[dict[str, list[str]]] = {
        "coarse": ["masculinity", "bald", "beard", "hair_length", "yaw", "roll", "face_width"],
        "middle": ["masculinity", "age", "smile", "mouth_open", "eyes_open", "glasses", "brows", "eye_size"],
        "fine": ["skin", "black_hair", "hair_hue", "background", "iris", "shirt"],
    }

    # -- latent -> scene ----------------------------------------------------------------------
    def scene(self, ws: torch.Tensor) -> dict[str, torch.Tensor]:
        """w+ [N, num_ws, D] -> attributes (names of FACE_ATTRIBUTES, in [0, 1]) + nuisance params."""
        c, m, fi = self.group_factors(ws)
        s = self.uncoupled_scene(c, m, fi)
        # expression: smile is nearly independent of everything but mouth opening
        s["smile"] = _sig(1.5 * m["smile"] + 0.4 * torch.tanh(m["smile"] * m["mouth_open"]))
        s["mouth_open"] = _sig(1.6 * m["mouth_open"] + 0.6 * m["smile"] - 0.7)
        s["eyes_open"] = _sig(1.7 * m["eyes_open"] + 1.4 - 0.4 * m["age"])
        # the "masculinity" factor couples bald, beard and age (as bald goes with male in FFHQ)
        s["bald"] = _sig(1.7 * (0.75 * c["masculinity"] + 0.6 * c["bald"]) - 1.7)
        s["beard"] = _sig(1.7 * (0.75 * c["masculinity"] + 0.6 * c["beard"]) - 1.3)
        s["age"] = _sig(1.3 * (0.6 * m["masculinity"] + 0.8 * m["age"]) + 0.2 * m["age"].square() - 0.2)
        s["glasses"] = _sig(3.0 * (m["glasses"] + 0.35 * m["age"]) - 2.8)
        s["hair_length"] = _sig(1.5 * (c["hair_length"] - 0.6 * c["masculinity"]))
        s["black_hair"] = _sig(2.0 * fi["black_hair"] - 0.5 + 0.3 * fi["black_hair"] * fi["hair_hue"])
        return s

    def group_factors(self, ws: torch.Tensor) -> tuple[dict[str, torch.Tensor], ...]:
        """w+ [N, num_ws, D] -> the (coarse, middle, fine) factors by name, each [N]."""
        f = self.factors(ws)
        return tuple({k[len(g) + 1:]: v for k, v in f.items() if k.startswith(g + ".")}
                     for g in ("coarse", "middle", "fine"))

    @staticmethod
    def uncoupled_scene(c: dict[str, torch.Tensor], m: dict[str, torch.Tensor],
                        fi: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The scene parameters each read from their own factors (brows, colours but black hair, pose,
        nuisance), shared by every face world; each [N] in [0, 1]."""
        s: dict[str, torch.Tensor] = {}
        s["brows_raised"] = _sig(1.4 * m["brows"])
        # colours; the background hue shares the hair-hue factor (same fine layers)
        s["hair_hue"] = _sig(1.4 * fi["hair_hue"])
        s["skin_tone"] = _sig(1.3 * fi["skin"] - 0.6)
        s["background_hue"] = _sig(1.1 * (0.7 * fi["hair_hue"] + 0.7 * fi["background"]))
        s["head_yaw"] = _sig(1.1 * c["yaw"])
        s["head_roll"] = _sig(1.1 * c["roll"])
        # nuisance parameters (not reported as attributes)
        s["face_width"] = _sig(c["face_width"])
        s["eye_size"] = _sig(m["eye_size"])
        s["iris_hue"] = _sig(1.5 * fi["iris"])
        s["shirt_hue"] = _sig(1.5 * fi["shirt"])
        return s

    # -- geometry (head frame) -----------------------------------------------------------------
    def geometry(self, s: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Scene -> feature positions and sizes in the head frame (normalised units, [N] each)."""
        g: dict[str, torch.Tensor] = {}
        yaw = (s["head_yaw"] - 0.5) * 2
        g["roll"] = (s["head_roll"] - 0.5) * 2 * _MAX_ROLL
        g["face_x"] = 0.05 * yaw
        g["face_y"] = 0.02 + 0.02 * s["age"]
        g["face_a"] = 0.40 + 0.07 * s["face_width"]
        g["face_b"] = 0.50 + 0.06 * s["age"]
        g["feat_x"] = g["face_x"] + 0.13 * yaw          # eyes / mouth shift with yaw
        g["nose_x"] = g["face_x"] + 0.19 * yaw
        g["eye_dx"] = 0.185 - 0.015 * yaw.abs()
        g["eye_y"] = g["face_y"] + 0.06
        g["eye_a"] = (0.105 + 0.03 * s["eye_size"]) * (1.0 - 0.18 * s["age"])
        g["eye_b"] = g["eye_a"] * 1.25 * (0.1 + 0.9 * s["eyes_open"])
        g["brow_y"] = g["eye_y"] - g["eye_a"] * 1.25 - 0.07 - 0.08 * s["brows_raised"]
        g["nose_y"] = g["face_y"] + 0.22
        g["mouth_y"] = g["face_y"] + 0.33 + 0.02 * s["age"]
        g["mouth_w"] = 0.07 + 0.06 * s["smile"] + 0.02 * s["mouth_open"]
        g["mouth_curve"] = 0.075 * (s["smile"] - 0.35)   # corners rise by this much
        g["mouth_up"] = 0.006 + 0.02 * s["mouth_open"]
        g["mouth_down"] = 0.006 + 0.085 * s["mouth_open"] + 0.02 * s["smile"] * s["mouth_open"]
        g["chin_y"] = g["face_y"] + g["face_b"]
        g["top_y"] = g["face_y"] - g["face_b"]
        g["hair_thick"] = 0.09 * (1 - s["bald"])
        g["bang_y"] = g["top_y"] + 0.30 - 0.34 * s["bald"]
        g["hair_down"] = (0.2 + 0.75 * s["hair_length"]) * (1 - s["bald"])
        g["beard_y"] = g["chin_y"] + 0.04 - s["beard"] * (g["chin_y"] - g["mouth_y"] + 0.07)
        g["glasses_alpha"] = ((s["glasses"] - 0.3) / 0.4).clamp(0, 1)
        g["wrinkle_alpha"] = ((s["age"] - 0.55) * 2.5).clamp(0, 1) * 0.7
        return g

    def _to_image(self, g: dict[str, torch.Tensor], hx: torch.Tensor, hy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Head-frame point(s) [N] -> normalised image coordinates (undo the roll about the pivot)."""
        c, s_ = torch.cos(g["roll"]), torch.sin(g["roll"])
        hx, hy = hx * _ZOOM, hy * _ZOOM + _HEAD_Y
        dy = hy - _PIVOT_Y
        return c * hx - s_ * dy, s_ * hx + c * dy + _PIVOT_Y

    def landmarks(self, s: dict[str, torch.Tensor]) -> torch.Tensor:
        """Scene -> landmarks [N, L, 2] (x, y) in pixels of the rendered image (0 = first pixel centre)."""
        g = self.geometry(s)
        corner_y = g["mouth_y"] - g["mouth_curve"]
        pts = {
            "left_eye": (g["feat_x"] - g["eye_dx"], g["eye_y"]),
            "right_eye": (g["feat_x"] + g["eye_dx"], g["eye_y"]),
            "left_brow": (g["feat_x"] - g["eye_dx"], g["brow_y"]),
            "right_brow": (g["feat_x"] + g["eye_dx"], g["brow_y"]),
            "nose_tip": (g["nose_x"], g["nose_y"]),
            "mouth_left": (g["feat_x"] - g["mouth_w"], corner_y),
            "mouth_right": (g["feat_x"] + g["mouth_w"], corner_y),
            "mouth_top": (g["feat_x"], g["mouth_y"] - g["mouth_up"]),
            "mouth_bottom": (g["feat_x"], g["mouth_y"] + g["mouth_down"]),
            "chin": (g["face_x"], g["chin_y"]),
            "forehead": (g["face_x"], g["top_y"] + 0.12),
        }
        out = []
        for name in FACE_LANDMARKS:
            x, y = self._to_image(g, *pts[name])
            out.append(torch.stack([self.to_pixels(x), self.to_pixels(y)], dim=1))
        return torch.stack(out, dim=1)

    # -- renderer ---------------------------------------------------------------------------
    def render(self, s: dict[str, torch.Tensor]) -> torch.Tensor:
        g = {k: col(v) for k, v in self.geometry(s).items()}
        n = s["smile"].shape[0]
        r = self.resolution
        sharp = 3.6 * r / 2 * _ZOOM  # ~1 px anti-aliased edges (sharper edges also help animeface)
        gx, gy = self.grid(n)
        # head frame: rotate image coordinates about the pivot by the roll angle
        cr, sr = torch.cos(g["roll"]), torch.sin(g["roll"])
        dy = gy - _PIVOT_Y
        x = cr * gx + sr * dy                      # [N, R, R]
        y = -sr * gx + cr * dy + _PIVOT_Y
        x, y = x / _ZOOM, (y - _HEAD_Y) / _ZOOM

        # colours [N, 3]
        skin = mix(_SKIN_LIGHT, _SKIN_DARK, s["skin_tone"])
        hair_hue = torch.remainder(0.15 - 0.57 * s["hair_hue"], 1.0)
        hair = mix(hsv(hair_hue, 0.7, 0.92), _BLACK, s["black_hair"])
        if "grey_hair" in s:  # synth-faces-entangled only; synth-faces' scene has no grey_hair
            hair = mix(hair, _GREY, s["grey_hair"])
        hair_dark = hair * 0.7
        bg_top = hsv(torch.remainder(0.15 - 0.6 * s["background_hue"] + 0.5, 1.0), 0.3, 0.97)
        bg_bottom = bg_top * 0.85
        iris = hsv(s["iris_hue"] * 0.8, 0.75, 0.55)
        shirt = hsv(s["shirt_hue"], 0.55, 0.8)

        # background: vertical gradient
        t = (gy + 1) / 2                           # [1, R, 1]
        img = torch.lerp(bg_top.view(n, 3, 1, 1), bg_bottom.view(n, 3, 1, 1), t.unsqueeze(1)).expand(n, 3, r, r)

        # back hair (behind head): ellipse grown by the hair thickness, extended downwards by length
        fx, fy = x - g["face_x"], y - g["face_y"]
        below = (fy > 0).to(fy.dtype)
        back_b = g["face_b"] + g["hair_thick"] + below * g["hair_down"]
        back = soft(ellipse(fx, fy, g["face_a"] + g["hair_thick"] * 1.4, back_b), sharp) * (g["hair_thick"] > 0.004)
        img = paint(img, back, hair_dark)

        # shirt and neck (neck follows the head roll, shirt does not)
        shirt_m = soft(ellipse(gx, gy - 1.22, torch.tensor(0.78), torch.tensor(0.42)), sharp)
        neck = soft(torch.maximum((x - g["face_x"] * 0.5).abs() - 0.12, 0.45 - y), sharp)
        img = paint(img, neck, skin * 0.88)
        img = paint(img, shirt_m, shirt)

        # face: ellipse with a tapered lower half (pointed anime chin)
        taper = 1 + 0.55 * (fy / g["face_b"]).clamp_min(0).square()
        face_d = ellipse(fx * taper, fy, g["face_a"], g["face_b"])
        face = soft(face_d, sharp)
        img = paint(img, face, skin)
        # outline of the face
        img = paint(img, soft(face_d.abs() - 0.006, sharp) * 0.6, skin * 0.55)

        # beard: lower face below a line that rises with the beard value, curving up at the sides
        mx = x - g["feat_x"]
        beard_line = g["beard_y"] - 0.5 * fx.abs().square() * 3
        beard = face * soft(beard_line - y, sharp * 0.5) * (g["beard_y"] < g["chin_y"])
        img = paint(img, beard, hair)

        # blush and wrinkles
        xm = mx.abs()
        blush = soft(ellipse(xm - g["eye_dx"] - 0.02, y - g["eye_y"] - 0.15, torch.tensor(0.07), torch.tensor(0.03)), sharp * 0.4)
        img = paint(img, blush * 0.35, _BLUSH)
        wrinkle = soft(segment(xm, y, g["mouth_w"] + 0.04, g["mouth_y"] - 0.1, g["mouth_w"] + 0.06, g["mouth_y"] + 0.01) - 0.008, sharp)
        img = paint(img, wrinkle * g["wrinkle_alpha"], skin * 0.6)

        # mouth: region between two parabolas sharing the smile curve
        u = (mx / g["mouth_w"]).clamp(-1, 1).square()
        centre = g["mouth_y"] - g["mouth_curve"] * u
        bulge = 1 - u
        mid = centre + (g["mouth_down"] - g["mouth_up"]) * 0.5 * bulge
        half = (g["mouth_down"] + g["mouth_up"]) * 0.5 * bulge + 0.004
        mouth_d = torch.maximum((y - mid).abs() - half, mx.abs() - g["mouth_w"])
        img = paint(img, soft(mouth_d, sharp), _MOUTH)
        img = paint(img, soft(mouth_d.abs() - 0.006, sharp) * 0.8, _LINE)

        # nose: a small shaded tick
        nose = soft(ellipse(x - g["nose_x"], y - g["nose_y"], torch.tensor(0.018), torch.tensor(0.012)), sharp)
        img = paint(img, nose * 0.7, skin * 0.6)

        # eyes (mirrored about the feature centre line): white, iris, pupil, highlight, upper lid
        ex, ey = xm - g["eye_dx"], y - g["eye_y"]
        eye_d = ellipse(ex, ey, g["eye_a"], g["eye_b"])
        white = soft(eye_d, sharp)
        img = paint(img, white, _WHITE)
        iris_d = ellipse(ex, ey + 0.1 * g["eye_b"], g["eye_a"] * 0.72, g["eye_a"] * 0.95)
        iris_m = white * soft(iris_d, sharp)
        img = paint(img, iris_m, iris)
        pupil = white * soft(ellipse(ex, ey + 0.1 * g["eye_b"], g["eye_a"] * 0.35, g["eye_a"] * 0.5), sharp)
        img = paint(img, pupil, _BLACK)
        shine = white * soft(ellipse(ex + 0.3 * g["eye_a"], ey + 0.35 * g["eye_a"], g["eye_a"] * 0.22, g["eye_a"] * 0.22), sharp)
        img = paint(img, shine, _WHITE)
        lid = soft(ellipse(ex, ey, g["eye_a"] * 1.08, g["eye_b"] + 0.02).abs() - 0.018, sharp) * soft(ey + 0.15 * g["eye_b"], sharp)
        img = paint(img, lid, _LINE)

        # brows: short tilted strokes
        brow = soft(segment(xm, y, g["eye_dx"] - 0.08, g["brow_y"] + 0.012, g["eye_dx"] + 0.08, g["brow_y"] - 0.012) - 0.014, sharp)
        img = paint(img, brow, hair * 0.6)

        # fringe: the hair cap above a scalloped bang line (moves up and away with baldness)
        cap = soft(ellipse(fx, fy, g["face_a"] + g["hair_thick"], g["face_b"] + g["hair_thick"]), sharp)
        bang = g["bang_y"] - 0.07 * (torch.sin(fx * 14).abs()) + 0.05 * fx.abs()
        fringe = cap * soft(y - bang, sharp) * (g["hair_thick"] > 0.004)
        img = paint(img, fringe, hair)

        # glasses: two rings and a bridge
        ring = soft(ellipse(ex, ey, g["eye_a"] + 0.05, g["eye_a"] * 1.25 + 0.03).abs() - 0.012, sharp)
        bridge = soft(segment(xm, y, torch.zeros_like(g["eye_dx"]), g["eye_y"], g["eye_dx"] - g["eye_a"] - 0.05, g["eye_y"]) - 0.01, sharp)
        img = paint(img, torch.maximum(ring, bridge) * g["glasses_alpha"], _LINE)

        return img * 2 - 1
