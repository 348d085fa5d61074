"""Hook implementations of the face_attributes plugin (torch-free: registrations are lazy strings)."""
from __future__ import annotations

from sgfkit import hookimpl
from sgfkit.weights import KnownWeights

_VGGFACE2_SOURCE = "https://github.com/cydonia999/VGGFace2-pytorch"

KNOWN_WEIGHTS: dict[str, KnownWeights] = {
    "vggface2-senet50-ft": KnownWeights(
        component="face-attributes",
        file_name="senet50_ft_weight.pkl",
        description="VGGFace2 SE-ResNet-50, pre-trained on MS-Celeb-1M and fine-tuned on VGGFace2 "
                    "(the README's senet50_ft pickle, converted from the authors' Caffe model; config: senet50)",
        source=_VGGFACE2_SOURCE,
        license="see the source page (VGGFace2 models: research use; code MIT)",
    ),
    "vggface2-senet50-scratch": KnownWeights(
        component="face-attributes",
        file_name="senet50_scratch_weight.pkl",
        description="VGGFace2 SE-ResNet-50 trained from scratch on VGGFace2 (the README's senet50_scratch "
                    "pickle; config: senet50)",
        source=_VGGFACE2_SOURCE,
        license="see the source page (VGGFace2 models: research use; code MIT)",
    ),
}


@hookimpl
def sgfkit_register_condition_encoders(register):
    register("face-attributes", "sgfkit_face_attributes.encoder:FaceAttributes",
             declaration="sgfkit_face_attributes.declarations:FaceAttributesDeclaration",
             summary="SE-ResNet face attributes in [0, 1]: embedded (synth-faces, shipped) or VGGFace2 senet50 + head")
    register("attributes", "sgfkit_face_attributes.encoder:Attributes",
             declaration="sgfkit_face_attributes.declarations:AttributesDeclaration",
             summary="your own attributes in [0, 1]: a file trained by 'sgfkit train-encoder attributes' on your labels")


@hookimpl
def sgfkit_register_weights(register):
    for name, known in KNOWN_WEIGHTS.items():
        register(name, known)
