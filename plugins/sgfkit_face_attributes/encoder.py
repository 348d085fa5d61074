"""The ``face-attributes`` condition encoder: an SE-ResNet multi-label attribute classifier.

``config: embedded`` (default) loads the small network shipped in ``weights/embedded.safetensors``,
trained on synth-faces to predict their attributes. ``config: senet50`` runs the full VGGFace2
SE-ResNet-50 (``senet50_ft_weight.pkl``) with its original preprocessing, followed by a separate
attribute head checkpoint that names its attributes. Outputs are probabilities [N, A] in [0, 1].
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from sgfkit.components import ConditionEncoder
from sgfkit.errors import ComponentError, WeightsError
from sgfkit.weights import locate_weights, sha256_of
from sgfkit_face_attributes.checkpoints import load_embedded, load_head, load_senet50
from sgfkit_face_attributes.declarations import (
    DEFAULT_SENET50,
    EMBEDDED_WEIGHTS,
    AttributesDeclaration,
    FaceAttributesDeclaration,
)
from sgfkit_face_attributes.preprocess import embedded_input, vggface2_fast, vggface2_original
from sgfkit_face_attributes.senet import FaceAttributeNet



class FaceAttributes(FaceAttributesDeclaration, ConditionEncoder):
    """SE-ResNet face-attribute classifier: images [N, 3, H, W] in [-1, 1] -> scores [N, A] in [0, 1]."""

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


class Attributes(AttributesDeclaration, FaceAttributes):
    """Your own attributes: images [N, 3, H, W] in [-1, 1] -> scores [N, A] in [0, 1], named by the file.

    The file is written by ``sgfkit train-encoder attributes --images DIR | --latents FILE --labels CSV``.

    The same small SE-ResNet as ``face-attributes`` with ``config: embedded``, under a name that says nothing
    about faces: the network learns whatever the labels say, on any generator's images.
    """

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
