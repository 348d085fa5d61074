"""synth-faces-entangled: the synth-faces renderer with curved, fact-based entanglement.

Same latent space machinery, layer groups, renderer and landmarks as ``synth-faces``; only the
scene (factors -> attributes) differs, plus one attribute, ``grey_hair``. The couplings follow
facts about real faces (see README.md, "synth-faces-entangled"):

* age greys the hair and thins it, little until middle age and fast after (a soft ramp of age);
* hair loss with age is much stronger in male faces (a product of masculinity and the ramp);
* beard and baldness both rise with a masculinity factor; a beard grows on male faces only;
* a broad smile narrows the eyes (quadratic in the smile), so do the years;
* near vision fades after middle age, so glasses become common (the age ramp again);
* grey hair is not black: greying removes the dark pigment (a product).

Attribute pairs are related through non-linear functions of shared factors, so a single linear
direction's side effects depend on where the sample is.
"""
from __future__ import annotations

from typing import ClassVar

import torch

from sgfkit_synthetic.declarations import ENTANGLED_ATTRIBUTES, SynthFacesEntangledDeclaration  # noqa: F401
from sgfkit_synthetic.faces import SynthFaces


_sig = torch.sigmoid


def age_ramp(a: torch.Tensor) -> torch.Tensor:
    """Soft ramp of the age factor: ~0 for young faces, slope ~1 past middle age (softplus, knee near
    a = 0.25, i.e. age ~0.6). [N] -> [N] >= 0."""
    return torch.nn.functional.softplus(2.5 * (a - 0.25)) / 2.5


class SynthFacesEntangled(SynthFacesEntangledDeclaration, SynthFaces):
    """synth-faces with curved entanglement between age, sex, hair, beard, eyes, smile and glasses.

    Images [N, 3, R, R] in [-1, 1]; ``scene(ws)`` gives the exact attributes (``ENTANGLED_ATTRIBUTES``,
    in [0, 1]) and the nuisance parameters the synth-faces renderer reads.
    """

    FACTOR_SEED: ClassVar[int] = 23
    # the age factor is read by all three groups (bald is coarse, eyes / glasses middle, grey hair fine),
    # masculinity by coarse and middle; in w space every group sees the same w, so the copies agree
    FACTORS: ClassVar[dict[str, list[str]]] = {
        "coarse": ["masculinity", "age", "bald", "beard", "hair_length", "yaw", "roll", "face_width"],
        "middle": ["masculinity", "age", "smile", "mouth_open", "eyes_open", "glasses", "brows", "eye_size"],
        "fine": ["age", "grey", "skin", "black_hair", "hair_hue", "background", "iris", "shirt"],
    }

    def scene(self, ws: torch.Tensor) -> dict[str, torch.Tensor]:
        """w+ [N, num_ws, D] -> attributes (ENTANGLED_ATTRIBUTES, each [N] in [0, 1]) + nuisance params."""
        c, m, fi = self.group_factors(ws)
        s = self.uncoupled_scene(c, m, fi)   # brows, hues, skin, pose, nuisance: as in synth-faces
        # sex: a soft male indicator from the masculinity factor (coarse copy: hair, beard)
        male = _sig(2.0 * c["masculinity"])
        ramp_c, ramp_m, ramp_f = age_ramp(c["age"]), age_ramp(m["age"]), age_ramp(fi["age"])
        s["age"] = _sig(1.5 * m["age"])
        # hair loss: some with masculinity, and with the years mostly in men (product: curved)
        s["bald"] = _sig(1.2 * c["masculinity"] + 0.7 * c["bald"] + 2.2 * male * ramp_c - 2.2)
        # a beard grows on male faces only (product of the sex indicator and the beard factor)
        s["beard"] = male * _sig(1.6 * c["beard"] + 0.8)
        s["hair_length"] = _sig(1.5 * c["hair_length"] - 1.2 * c["masculinity"])
        # expression: a broad smile narrows the eyes (quadratic in the smile), so do the years
        s["smile"] = _sig(1.5 * m["smile"])
        s["mouth_open"] = _sig(1.6 * m["mouth_open"] + 0.6 * m["smile"] - 0.7)
        s["eyes_open"] = _sig(1.7 * m["eyes_open"] + 1.8 - 3.0 * s["smile"].square() - 1.2 * ramp_m)
        # near vision fades after middle age
        s["glasses"] = _sig(2.5 * m["glasses"] + 2.5 * ramp_m - 2.8)
        # colours: greying after middle age removes the dark pigment
        s["grey_hair"] = _sig(2.5 * ramp_f + 0.8 * fi["grey"] - 2.2)
        s["black_hair"] = _sig(2.0 * fi["black_hair"] - 0.5) * (1 - s["grey_hair"])
        return s
