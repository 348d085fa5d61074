"""What the synthetic worlds and their truth encoders declare (parameters, condition names), importable
without torch: ``sgfkit validate`` checks a recipe's targets against these names without building a world."""
from __future__ import annotations

from typing import Any, ClassVar

from sgfkit.declarations import ConditionEncoderDeclaration, GeneratorDeclaration, MetricDeclaration
from sgfkit.params import Param
from sgfkit_synthetic.captions import BACKGROUNDS, CENTER_COLORS, PETAL_COLORS, PETAL_SHAPES

#: synth-faces attribute names (all in [0, 1]) in the order the truth encoder reports them
FACE_ATTRIBUTES = [
    "smile", "mouth_open", "eyes_open", "bald", "black_hair", "hair_hue", "beard", "glasses",
    "age", "skin_tone", "head_yaw", "head_roll", "hair_length", "brows_raised", "background_hue",
]
#: synth-faces landmark names; "left"/"right" are the image's left/right
FACE_LANDMARKS = [
    "left_eye", "right_eye", "left_brow", "right_brow", "nose_tip", "mouth_left", "mouth_right",
    "mouth_top", "mouth_bottom", "chin", "forehead",
]
#: the attributes of synth-faces-entangled: synth-faces' 15, then grey_hair
ENTANGLED_ATTRIBUTES = [*FACE_ATTRIBUTES, "grey_hair"]
#: flower condition vector: soft colour classes, shape classes, then size / count / hue scalars
FLOWER_NAMES = ([f"petal_{c}" for c in PETAL_COLORS] + [f"center_{c}" for c in CENTER_COLORS]
                + [f"background_{c}" for c in BACKGROUNDS] + [f"petal_{k}" for k in PETAL_SHAPES]
                + ["petal_size", "petal_count", "center_size", "petal_hue", "petal_tip_hue", "petal_tip_share"])


class SyntheticGeneratorDeclaration(GeneratorDeclaration):
    """A procedural, differentiable, deterministic world with a StyleGAN-like latent space."""

    params: ClassVar[dict[str, Param]] = {
        "latent_dim": Param(int, 128, "size of z and w (real StyleGAN2: 512)", min=32, max=512),
        "num_ws": Param(int, 10, "number of w+ layers (coarse ~40 %, middle ~30 %, fine the rest)", min=8, max=32),
        "resolution": Param(int, 64, "image size in pixels", min=32, max=256),
        "world_seed": Param(int, 0, "seed of the fixed mapping weights and factor directions"),
    }


class SynthFacesDeclaration(SyntheticGeneratorDeclaration):
    """Procedural anime faces: z -> seeded mapping MLP -> w -> w+ -> scene -> SDF renderer."""


class SynthFacesEntangledDeclaration(SynthFacesDeclaration):
    """synth-faces with curved entanglement between age, sex, hair, beard, eyes, smile and glasses."""


class SynthFlowersDeclaration(SyntheticGeneratorDeclaration):
    """Procedural flowers: z -> seeded mapping MLP -> w -> w+ -> scene -> SDF renderer."""


class SynthFacesTruthDeclaration(ConditionEncoderDeclaration):
    """Exact synth-faces attributes (in [0, 1]) followed by landmark pixel coordinates."""

    condition_kind: ClassVar[str] = "mixed"
    attribute_names: ClassVar[list[str]] = list(FACE_ATTRIBUTES)
    landmark_names: ClassVar[list[str]] = list(FACE_LANDMARKS)

    @classmethod
    def condition_names(cls) -> list[str]:
        """``attribute_names`` then ``<point>_x, <point>_y`` per landmark."""
        return cls.attribute_names + [f"{p}_{a}" for p in cls.landmark_names for a in ("x", "y")]

    @classmethod
    def declared_names(cls, params: dict[str, Any], base_dir: Any = None) -> list[str] | None:
        return cls.condition_names()


class SynthFacesEntangledTruthDeclaration(SynthFacesTruthDeclaration):
    """Exact synth-faces-entangled attributes (``ENTANGLED_ATTRIBUTES``, in [0, 1]); no landmarks."""

    condition_kind: ClassVar[str] = "attributes"
    attribute_names: ClassVar[list[str]] = list(ENTANGLED_ATTRIBUTES)
    landmark_names: ClassVar[list[str]] = []


class SynthFlowersTruthDeclaration(ConditionEncoderDeclaration):
    """Exact synth-flowers conditions in [0, 1] plus discrete facts and captions."""

    condition_kind: ClassVar[str] = "attributes"
    #: targets may also be captions ({caption: ...}), which only the loaded encoder can read
    named_targets: ClassVar[bool] = False

    @classmethod
    def declared_names(cls, params: dict[str, Any], base_dir: Any = None) -> list[str] | None:
        return list(FLOWER_NAMES)


class CaptionSuccessDeclaration(MetricDeclaration):
    """Share of caption edits that now match the caption (scored with the truth facts)."""
