"""The ``face-attributes`` condition encoder: an SE-ResNet multi-label attribute classifier.

``config: embedded`` (default) loads the small network shipped in ``weights/embedded.safetensors``,
trained on synth-faces to predict their attributes. ``config: senet50`` runs the full VGGFace2
SE-ResNet-50 (``senet50_ft_weight.pkl``) with its original preprocessing, followed by a separate
attribute head checkpoint that names its attributes. Outputs are probabilities [N, A] in [0, 1].
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch

from sgfkit.components import ConditionEncoder
from sgfkit.errors import ComponentError, WeightsError
from sgfkit.params import REQUIRED, Param
from sgfkit.weights import locate_weights, sha256_of
from sgfkit_face_attributes.checkpoints import load_embedded, load_head, load_senet50
from sgfkit_face_attributes.preprocess import embedded_input, vggface2_fast, vggface2_original
from sgfkit_face_attributes.senet import FaceAttributeNet
from sgfkit_face_attributes.training import TRAINING_PARAMS

EMBEDDED_WEIGHTS = Path(__file__).parent / "weights" / "embedded.safetensors"
DEFAULT_SENET50 = "senet50_ft_weight.pkl"


class FaceAttributes(ConditionEncoder):
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

    def __init__(self, base_dir: Path | None = None, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        self.files: dict[str, Path] = {}
        if p.get("config", "embedded") == "embedded":  # ``attributes`` has no config / head: always embedded
            if p.get("head") is not None:
                raise ComponentError("face-attributes: 'head' applies to config: senet50 only; the embedded "
                                     "network has its own head")
            path = EMBEDDED_WEIGHTS if p["weights"] is None else locate_weights(p["weights"], base_dir=base_dir)
            self.net, self.meta = load_embedded(path)
            self.files["weights"] = path
            self._names = list(self.meta["attribute_names"])
        else:
            spec = p["weights"] or DEFAULT_SENET50
            pkl = locate_weights(spec, base_dir=base_dir, verify_sha256=p["verify_sha256"])
            if p["head"] is None:
                raise WeightsError(
                    "face-attributes config senet50 needs an attribute head: set 'head' to a checkpoint "
                    "(.safetensors with layers.{i}.weight/bias and 'attribute_names' metadata) that maps the "
                    "2048-d SE-ResNet-50 features to your attributes; see plugins/sgfkit_face_attributes/README.md")
            head_path = locate_weights(p["head"], base_dir=base_dir)
            head, self._names = load_head(head_path)
            backbone = load_senet50(pkl)
            if head.dims[0] != backbone.config.feature_dim:
                raise WeightsError(f"{head_path}: the head takes {head.dims[0]}-d features, "
                                   f"SE-ResNet-50 gives {backbone.config.feature_dim}")
            self.net = FaceAttributeNet(backbone, head).eval()
            self.meta = {"input_size": 224}
            self.files.update(weights=pkl, head=head_path)
        self.net.requires_grad_(False)

    @property
    def names(self) -> list[str]:
        return self._names

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

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """[N, 3, H, W] in [-1, 1] RGB -> the network's input."""
        if self.params.get("config", "embedded") == "embedded":
            return embedded_input(images, int(self.meta["input_size"]))
        if self.params["preprocess"] == "original":
            return vggface2_original(images)
        return vggface2_fast(images)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """images [N, 3, H, W] in [-1, 1] -> attribute probabilities [N, A] (float32, in [0, 1])."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ComponentError(f"face-attributes expects images [N, 3, H, W], got {list(images.shape)}")
        if not torch.isfinite(images).all():
            raise ComponentError("face-attributes got images with NaN or infinite values")
        outs = []
        bs = self.params["batch_size"]
        for start in range(0, len(images), bs):
            x = self.preprocess(images[start:start + bs]).to(self.device)
            outs.append(self.net(x).float())
        if not outs:
            return torch.zeros(0, len(self.names), device=self.device)
        return torch.cat(outs)

    def versions(self) -> dict[str, Any]:
        out: dict[str, Any] = {"config": self.params.get("config", "embedded")}
        for key, path in self.files.items():
            out[key] = str(path)
            out[f"{key}_sha256"] = sha256_of(path)
        if "heldout" in self.meta:
            out["heldout"] = self.meta["heldout"]
        return out

    @classmethod
    def train(cls, output: Path, **options: Any) -> dict[str, Any]:
        """Train the embedded weights on synth-faces into ``output`` (see :mod:`.training`)."""
        from sgfkit_face_attributes.training import train_embedded

        return train_embedded(Path(output), encoder_name=cls.registry_name or "face-attributes", **options)


class Attributes(FaceAttributes):
    """Your own attributes: images [N, 3, H, W] in [-1, 1] -> scores [N, A] in [0, 1], named by the file.

    The file is written by ``sgfkit train-encoder attributes --images DIR | --latents FILE --labels CSV``.

    The same small SE-ResNet as ``face-attributes`` with ``config: embedded``, under a name that says nothing
    about faces: the network learns whatever the labels say, on any generator's images.
    """

    @classmethod
    def all_params(cls) -> dict[str, Param]:
        # the file is the point: no shipped default, and none of face-attributes' senet50 options
        base = FaceAttributes.all_params()
        return {"weights": Param(str, REQUIRED, "your trained attributes file (.safetensors written by "
                                 "'sgfkit train-encoder attributes')", path=True),
                "verify_sha256": base["verify_sha256"], "batch_size": base["batch_size"]}

    @classmethod
    def train(cls, output: Path, **options: Any) -> dict[str, Any]:
        """Train on your labels (``--images DIR`` or ``--latents FILE --generator NAME``, with ``--labels``)."""
        if options.get("labels") is None:
            raise ComponentError("train-encoder attributes trains on your labels: pass --images DIR --labels "
                                 "labels.csv, or --latents FILE --generator NAME --labels labels.csv")
        if options.get("backbone") == "senet50":
            raise ComponentError("--backbone senet50 writes a head for face-attributes (config: senet50, head: "
                                 "FILE); run 'sgfkit train-encoder face-attributes --backbone senet50 ...'")
        return super().train(output, **options)
