"""Hook implementations of the synthetic plugin (torch-free: registrations are lazy strings)."""
from __future__ import annotations

from sgfkit import hookimpl


@hookimpl
def sgfkit_register_generators(register):
    register("synth-faces", "sgfkit_synthetic.faces:SynthFaces",
             declaration="sgfkit_synthetic.declarations:SynthFacesDeclaration",
             summary="embedded default: procedural anime faces, 15 known attributes + 11 landmarks (no download)")
    register("synth-faces-entangled", "sgfkit_synthetic.faces_entangled:SynthFacesEntangled",
             declaration="sgfkit_synthetic.declarations:SynthFacesEntangledDeclaration",
             summary="synth-faces with curved, fact-based entanglement (age greys and thins hair, ...) + grey_hair")
    register("synth-flowers", "sgfkit_synthetic.flowers:SynthFlowers",
             declaration="sgfkit_synthetic.declarations:SynthFlowersDeclaration",
             summary="embedded default: procedural flowers with known colours, shapes, counts and captions")


@hookimpl
def sgfkit_register_condition_encoders(register):
    register("synth-faces-truth", "sgfkit_synthetic.truth:SynthFacesTruth",
             declaration="sgfkit_synthetic.declarations:SynthFacesTruthDeclaration",
             summary="exact synth-faces attributes + landmarks, from the latents (for scoring)")
    register("synth-faces-entangled-truth", "sgfkit_synthetic.truth:SynthFacesEntangledTruth",
             declaration="sgfkit_synthetic.declarations:SynthFacesEntangledTruthDeclaration",
             summary="exact synth-faces-entangled attributes (16, no landmarks), from the latents")
    register("synth-flowers-truth", "sgfkit_synthetic.truth:SynthFlowersTruth",
             declaration="sgfkit_synthetic.declarations:SynthFlowersTruthDeclaration",
             summary="exact synth-flowers conditions, facts and captions, from the latents (for scoring)")


@hookimpl
def sgfkit_register_metrics(register):
    register("caption-success", "sgfkit_synthetic.caption_metric:CaptionSuccess",
             declaration="sgfkit_synthetic.declarations:CaptionSuccessDeclaration",
             summary="share of caption edits whose named facts hold afterwards, and other facts changed")
