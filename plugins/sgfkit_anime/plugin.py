"""Hook implementations of the anime plugin (torch-free: registrations are lazy strings)."""
from __future__ import annotations

from sgfkit import hookimpl


@hookimpl
def sgfkit_register_condition_encoders(register):
    register("anime-keypoints", "sgfkit_anime.keypoints_encoder:AnimeKeypointsEncoder",
             declaration="sgfkit_anime.declarations:AnimeKeypointsEncoderDeclaration",
             summary="landmarks (px) + attributes from a small CNN trained on synth-faces (shipped weights)")
    register("animeface", "sgfkit_anime.animeface_encoder:AnimeFaceEncoder",
             declaration="sgfkit_anime.declarations:AnimeFaceEncoderDeclaration",
             summary="landmarks from the animeface-2009 detector (pip install animeface 'pillow<12')")
    register("illustration2vec", "sgfkit_anime.illustration2vec:Illustration2Vec",
             declaration="sgfkit_anime.declarations:Illustration2VecDeclaration",
             summary="illustration2vec tag probabilities, read from the released .caffemodel")
    register("animeface-tags", "sgfkit_anime.animeface_tags:AnimeFaceTagsEncoder",
             declaration="sgfkit_anime.declarations:AnimeFaceTagsEncoderDeclaration",
             summary="real KeypointsAttr: animeface-2009 landmarks + illustration2vec tags (user weights)")


@hookimpl
def sgfkit_register_weights(register):
    from sgfkit_anime.known_weights import KNOWN_WEIGHTS

    for name, known in KNOWN_WEIGHTS.items():
        register(name, known)


@hookimpl
def sgfkit_register_metrics(register):
    register("keypoint-moves", "sgfkit_anime.keypoint_metric:KeypointMovesMetric",
             declaration="sgfkit_anime.declarations:KeypointMovesMetricDeclaration",
             summary="keypoint edits scored with the truth: move error (px), held attributes, side effects")
