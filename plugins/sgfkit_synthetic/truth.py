"""Ground-truth condition encoders of the synthetic worlds.

They compute exact attributes / landmarks / facts *from the latents* (through the generator's
scene function), never from pixels, so they can score any method. Manipulators should be driven
by learned encoders (e.g. ``face-attributes``, the flower captioner), as in the paper; a method
that optimises against the truth it is scored by is grading its own exam.
"""
from __future__ import annotations

import json
import random
import zlib
from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from sgfkit.components import ConditionEncoder, Generator
from sgfkit.errors import ComponentError
from sgfkit.latents import Latents

from sgfkit_synthetic import captions
from sgfkit_synthetic.declarations import (
    FLOWER_NAMES,
    SynthFacesEntangledTruthDeclaration,
    SynthFacesTruthDeclaration,
    SynthFlowersTruthDeclaration,
)
from sgfkit_synthetic.faces import SynthFaces
from sgfkit_synthetic.faces_entangled import SynthFacesEntangled
from sgfkit_synthetic.flowers import (BACKGROUNDS, CENTER_COLORS, HUE_PATH, PETAL_COLORS, PETAL_SHAPES, SynthFlowers,
                                      flower_facts)


class _TruthEncoder(ConditionEncoder):
    """Shared behaviour: scene-based measurement in batches; ``encode`` refuses pixels."""

    world: ClassVar[type] = Generator
    world_name: ClassVar[str] = ""

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        raise ComponentError(
            f"{self.registry_name or type(self).__name__} scores latents only (it reads the exact truth from the "
            f"{self.world_name} scene), it cannot encode images; call measure(generator, latents), or use a learned "
            "encoder for pixels")

    def _scenes(self, generator: Generator, latents: Latents, batch_size: int):
        if not isinstance(generator, self.world):
            raise ComponentError(
                f"{self.registry_name or type(self).__name__} measures {self.world_name} latents only, got a "
                f"{type(generator).__name__}; use generator type {self.world_name} or another evaluator")
        with torch.no_grad():
            for start in range(0, len(latents), batch_size):
                part = latents.index(slice(start, start + batch_size))
                yield generator.scene(generator.ws_of(part))


class SynthFacesTruth(SynthFacesTruthDeclaration, _TruthEncoder):
    """Exact synth-faces attributes (in [0, 1]) followed by landmark pixel coordinates.

    ``measure`` -> [N, A + 2L]: ``attribute_names`` then ``<point>_x, <point>_y`` per landmark.
    """

    world: ClassVar[type] = SynthFaces
    world_name: ClassVar[str] = "synth-faces"

    @property
    def names(self) -> list[str]:
        return self.condition_names()

    def keypoint_columns(self) -> list[tuple[str, str]]:
        return [(f"{p}_x", f"{p}_y") for p in self.landmark_names]

    def scene_values(self, generator: Generator, scene: dict[str, torch.Tensor]) -> torch.Tensor:
        """A scene's conditions [N, K] in :attr:`names` order. Differentiable (``measure`` is this without
        gradients), for oracles and optimisers that need the truth's own Jacobian."""
        attrs = torch.stack([scene[a] for a in self.attribute_names], dim=1)
        return torch.cat([attrs, generator.landmarks(scene).reshape(attrs.shape[0], -1)], dim=1)

    def measure(self, generator: Generator, latents: Latents, batch_size: int = 256) -> torch.Tensor:
        outs = [self.scene_values(generator, s).float().cpu() for s in self._scenes(generator, latents, batch_size)]
        return torch.cat(outs) if outs else torch.zeros(0, len(self.names))

    #: attributes shown by :meth:`describe` when no dims are given
    summary_attributes: ClassVar[list[str]] = ["smile", "bald", "beard", "age", "glasses", "black_hair"]

    def describe(self, c: torch.Tensor, dims: Sequence[int] | None = None) -> list[str]:
        """Compact grid labels, e.g. ``smile .92 bald .15 beard .69 ...`` (the given dims, or a summary)."""
        idx = list(dims) if dims else [self.index_of(n) for n in self.summary_attributes]
        return [" ".join(f"{self.names[i]} {float(row[i]):.2f}".replace(" 0.", " .") for i in idx) for row in c]


class SynthFacesEntangledTruth(SynthFacesEntangledTruthDeclaration, SynthFacesTruth):
    """Exact synth-faces-entangled attributes (``ENTANGLED_ATTRIBUTES``, in [0, 1]); no landmarks.

    ``measure`` -> [N, 16]. Attributes only, so it can also drive a manipulator as its condition
    encoder (a target that keeps the landmarks fixed would contradict the expression it asks for).
    """

    world: ClassVar[type] = SynthFacesEntangled
    world_name: ClassVar[str] = "synth-faces-entangled"
    summary_attributes: ClassVar[list[str]] = ["age", "grey_hair", "bald", "beard", "smile", "eyes_open"]

    def scene_values(self, generator: Generator, scene: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.stack([scene[a] for a in self.attribute_names], dim=1)


#: hue positions (0-6) are stored divided by this, so every dim lies in [0, 1]
_HUE_SCALE = float(len(HUE_PATH) - 1)


def count_to_unit(count: torch.Tensor | float) -> torch.Tensor | float:
    """Continuous petal count in (4.5, 9.5) -> [0, 1]."""
    return (count - 4.5) / 5.0


def facts_from_conditions(c: torch.Tensor) -> list[dict[str, Any]]:
    """Flower condition vectors [N, len(FLOWER_NAMES)] -> discrete facts (same rules as the generator)."""
    i = {n: k for k, n in enumerate(FLOWER_NAMES)}

    def block(first: str, size: int) -> list[int]:
        return c[:, i[first]:i[first] + size].argmax(1).tolist()

    shape, center = block(f"petal_{PETAL_SHAPES[0]}", len(PETAL_SHAPES)), block("center_yellow", len(CENTER_COLORS))
    bg = block("background_green", len(BACKGROUNDS))
    col = {k: c[:, i[k]].tolist() for k in ("petal_hue", "petal_tip_hue", "petal_tip_share", "petal_size",
                                            "petal_count", "center_size")}
    return [flower_facts(col["petal_hue"][r] * _HUE_SCALE, col["petal_tip_hue"][r] * _HUE_SCALE,
                         col["petal_tip_share"][r], shape[r], col["petal_size"][r],
                         col["petal_count"][r] * 5.0 + 4.5, center[r], col["center_size"][r], bg[r])
            for r in range(c.shape[0])]


class SynthFlowersTruth(SynthFlowersTruthDeclaration, _TruthEncoder):
    """Exact synth-flowers conditions in [0, 1] plus discrete facts and captions.

    ``measure`` -> [N, 24]: colour-class weights (petal 7: the base and tip hues' interpolation
    weights by length share; centre 4; background 4; each group sums to 1), shape weights
    (``petal_round``, ``petal_pointed``, ``petal_notched``), ``petal_size``, ``petal_count``
    ((count - 4.5) / 5), ``center_size``, ``petal_hue`` / ``petal_tip_hue`` (hue position / 6) and
    ``petal_tip_share`` (outer share of the petal in the tip hue, 0-0.5).
    """

    world: ClassVar[type] = SynthFlowers
    world_name: ClassVar[str] = "synth-flowers"

    @property
    def names(self) -> list[str]:
        return list(FLOWER_NAMES)

    def measure(self, generator: Generator, latents: Latents, batch_size: int = 256) -> torch.Tensor:
        outs = []
        for s in self._scenes(generator, latents, batch_size):
            scalars = torch.stack([s["petal_size"], count_to_unit(s["count"]), s["center_size"], s["hue"] / _HUE_SCALE,
                                   s["tip_hue"] / _HUE_SCALE, s["tip_share"]], dim=1)
            outs.append(torch.cat([generator.petal_weights(s), s["center_mix"], s["bg_mix"], s["shape_mix"], scalars],
                                  dim=1).float().cpu())
        return torch.cat(outs) if outs else torch.zeros(0, len(self.names))

    def facts(self, generator: Generator, latents: Latents, batch_size: int = 256) -> list[dict[str, Any]]:
        """Discrete facts per sample: petal_color, petal_shape, petal_size, petal_count, center_color,
        center_size, background (see :mod:`sgfkit_synthetic.captions`)."""
        out: list[dict[str, Any]] = []
        for s in self._scenes(generator, latents, batch_size):
            out.extend(generator.facts(s))
        return out

    def describe(self, c: torch.Tensor, dims: Sequence[int] | None = None) -> list[str]:
        """A generated caption per sample, deterministic in the facts."""
        out = []
        for f in facts_from_conditions(c):
            seed = zlib.crc32(json.dumps(f, sort_keys=True).encode())
            out.append(captions.generate_caption(f, random.Random(seed)))
        return out

    def target(self, spec: dict[str, Any], c0: torch.Tensor) -> torch.Tensor:
        """Also accepts ``{"caption": text}``: the named facts become one-hot / scalar targets (unnamed
        dims keep c0, so ``keep: true`` changes nothing here)."""
        spec = dict(spec)
        text = spec.pop("caption", None)
        spec.pop("keep", None)
        c1 = super().target(spec, c0)
        if text is not None:
            for name, value in self._caption_targets(text).items():
                c1[:, self.index_of(name)] = value
        return c1

    def target_dims(self, spec: dict[str, Any]) -> list[int]:
        spec = dict(spec)
        text = spec.pop("caption", None)
        spec.pop("keep", None)
        dims = super().target_dims(spec)
        if text is not None:
            dims += [self.index_of(n) for n in self._caption_targets(text)]
        return sorted(set(dims))

    def _caption_targets(self, text: str) -> dict[str, float]:
        parsed = captions.parse_caption(text)
        if not parsed:
            raise ComponentError(f"the caption {text!r} names no flower fact this world knows; name a petal colour, "
                                 "shape, size or count, a center colour or size, or a background")
        out: dict[str, float] = {}
        groups = {"petal_color": ("petal", PETAL_COLORS), "center_color": ("center", CENTER_COLORS),
                  "background": ("background", BACKGROUNDS)}
        sizes = {"small": 1 / 6, "medium": 0.5, "large": 5 / 6}
        for key, value in parsed.items():
            if key in groups:
                prefix, options = groups[key]
                wanted = value if isinstance(value, list) else [value]
                for option in options:
                    out[f"{prefix}_{option}"] = 1.0 / len(wanted) if option in wanted else 0.0
            elif key == "petal_shape":
                for shape in PETAL_SHAPES:
                    out[f"petal_{shape}"] = 1.0 if value == shape else 0.0
            elif key in ("petal_size", "center_size"):
                out[key] = sizes[value]
            elif key == "petal_count":
                out["petal_count"] = float(count_to_unit(float(value)))
        return out
