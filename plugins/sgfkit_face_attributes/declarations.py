"""What the face-attribute encoders declare (parameters, training options, attribute names),
importable without torch: ``sgfkit validate`` reads the names from the weights file's header alone."""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from sgfkit.declarations import ConditionEncoderDeclaration
from sgfkit.errors import WeightsError
from sgfkit.params import REQUIRED, Param
from sgfkit.weights import locate_weights
from sgfkit_face_attributes.training import TRAINING_PARAMS

#: the shipped network trained on synth-faces
EMBEDDED_WEIGHTS = Path(__file__).parent / "weights" / "embedded.safetensors"
#: the VGGFace2 SE-ResNet-50 release, looked up in the weights folders
DEFAULT_SENET50 = "senet50_ft_weight.pkl"


class FaceAttributesDeclaration(ConditionEncoderDeclaration):
    """SE-ResNet face-attribute classifier: images [N, 3, H, W] in [-1, 1] -> scores [N, A] in [0, 1]."""

    condition_kind: ClassVar[str] = "attributes"
    params: ClassVar[dict[str, Param]] = {
        "config": Param(str, "embedded", "embedded (small net trained on synth-faces, shipped) or senet50 "
                        "(VGGFace2 SE-ResNet-50 + your attribute head)", choices=("embedded", "senet50")),
        "weights": Param(str, None, "embedded: weights file (default: the shipped one); senet50: the VGGFace2 "
                         f".pkl (default {DEFAULT_SENET50})", nullable=True, path=True),
        "head": Param(str, None, "senet50 only: attribute head checkpoint (.safetensors or .pth) with its "
                      "attribute names", nullable=True, path=True),
        "preprocess": Param(str, "original", "senet50 only: original (8-bit, PIL resize 256, crop 224, BGR, "
                            "mean) or fast (tensor approximation, differentiable)", choices=("original", "fast")),
        "verify_sha256": Param(bool, False, "check user weights against published sha256 digests when known"),
        "batch_size": Param(int, 64, "images per forward pass", min=1),
    }

    #: options of the training command of the shipped embedded weights
    training_params: ClassVar[dict[str, Param]] = TRAINING_PARAMS

    @classmethod
    def declared_names(cls, params: dict[str, Any], base_dir: Path | None = None) -> list[str] | None:
        """The attribute names in the safetensors header of the embedded weights or the senet50 head
        (the header only: no tensors are read); ``None`` when the file is missing or not safetensors."""
        from safetensors import SafetensorError

        from sgfkit.shipped_weights import read_metadata

        spec = params.get("head") if params.get("config") == "senet50" else params.get("weights")
        try:
            path = EMBEDDED_WEIGHTS if spec is None else locate_weights(spec, base_dir=base_dir)
            if path.suffix != ".safetensors":
                return None
            names = read_metadata(path)["attribute_names"]
        except (WeightsError, SafetensorError, OSError, ValueError, KeyError):
            return None  # 'sgfkit validate' reports missing files on their own
        return [str(n) for n in names] if isinstance(names, list) else None


class AttributesDeclaration(FaceAttributesDeclaration):
    """Your own attributes: images [N, 3, H, W] in [-1, 1] -> scores [N, A] in [0, 1], named by the file."""

    @classmethod
    def all_params(cls) -> dict[str, Param]:
        # the file is the point: no shipped default, and none of face-attributes' senet50 options
        base = FaceAttributesDeclaration.all_params()
        return {"weights": Param(str, REQUIRED, "your trained attributes file (.safetensors written by "
                                 "'sgfkit train-encoder attributes')", path=True),
                "verify_sha256": base["verify_sha256"], "batch_size": base["batch_size"]}
