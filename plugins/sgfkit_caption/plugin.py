"""Hook implementations of the caption plugin (torch-free: registrations are lazy strings)."""
from __future__ import annotations

from sgfkit import hookimpl


@hookimpl
def sgfkit_register_condition_encoders(register):
    register("flower-caption", "sgfkit_caption.encoders:FlowerCaption",
             declaration="sgfkit_caption.declarations:FlowerCaptionDeclaration",
             summary="embedded Show-Attend-Tell captioner (synth-flowers) + Sentence-BERT: caption embeddings")
    register("show-attend-tell", "sgfkit_caption.encoders:ShowAttendTell",
             declaration="sgfkit_caption.declarations:ShowAttendTellDeclaration",
             summary="Show-Attend-Tell tutorial checkpoint (MS-COCO) + Sentence-BERT: caption embeddings")
    register("sentence-bert", "sgfkit_caption.encoders:SentenceBert",
             declaration="sgfkit_caption.declarations:SentenceBertDeclaration",
             summary="Sentence-BERT all-MiniLM-L6-v2 (offline): text -> unit-norm 384-d embeddings")


@hookimpl
def sgfkit_register_weights(register):
    from sgfkit_caption.known_weights import TUTORIAL_CHECKPOINT, TUTORIAL_WORD_MAP

    register("show-attend-tell-coco", TUTORIAL_CHECKPOINT)
    register("show-attend-tell-coco-wordmap", TUTORIAL_WORD_MAP)
