"""What the caption-stack encoders declare (parameters, training options), importable without torch."""
from __future__ import annotations

from typing import ClassVar

from sgfkit.declarations import ConditionEncoderDeclaration
from sgfkit.params import Param
from sgfkit_caption.known_weights import TUTORIAL_CHECKPOINT, TUTORIAL_WORD_MAP
from sgfkit_caption.training_params import TRAINING_PARAMS


class SentenceEmbeddingConditionsDeclaration(ConditionEncoderDeclaration):
    """Shared semantics of encoders whose conditions are Sentence-BERT embeddings."""

    condition_kind: ClassVar[str] = "embedding"
    #: targets are sentences ({caption: ...}), not condition names
    named_targets: ClassVar[bool] = False


class SentenceBertDeclaration(SentenceEmbeddingConditionsDeclaration):
    """Sentence-BERT (all-MiniLM-L6-v2) alone: text -> unit-norm [384] embeddings."""


class CaptionEmbeddingEncoderDeclaration(SentenceEmbeddingConditionsDeclaration):
    """Images -> captions (beam search) -> Sentence-BERT embeddings [N, 384]."""

    params: ClassVar[dict[str, Param]] = {
        "beam_size": Param(int, 3, "beam width of caption decoding", min=1, max=20),
        "max_len": Param(int, 20, "longest caption in words", min=1, max=100),
        "batch_size": Param(int, 256, "images captioned at once", min=1),
    }


class FlowerCaptionDeclaration(CaptionEmbeddingEncoderDeclaration):
    """The embedded captioner (Show-Attend-Tell, small config, trained on synth-flowers) + Sentence-BERT."""

    params: ClassVar[dict[str, Param]] = {
        "weights": Param(str, None, "captioner .safetensors (default: the weights shipped with sgfkit)",
                         nullable=True, path=True),
        # its captions name up to seven facts ("... petals and a yellow center on a dark background")
        "max_len": Param(int, 30, "longest caption in words", min=1, max=100),
        # the captioner says one set of facts in several ways ("this red flower has big petals", "a flower
        # with large red petals"); Sentence-BERT puts those ~0.1 apart, as far as a changed fact
        "phrasing": Param(str, "captioned", "embed the caption as the captioner wrote it (captioned, the paper's) "
                          "or said in the flower grammar's one template (canonical: a condition is its facts)",
                          choices=("captioned", "canonical")),
    }
    training_params: ClassVar[dict[str, Param]] = TRAINING_PARAMS


class ShowAttendTellDeclaration(CaptionEmbeddingEncoderDeclaration):
    """The public Show-Attend-Tell tutorial checkpoint (MS-COCO) + its word map + Sentence-BERT."""

    params: ClassVar[dict[str, Param]] = {
        "checkpoint": Param(str, TUTORIAL_CHECKPOINT.file_name, "the tutorial's BEST_checkpoint_*.pth.tar",
                            path=True),
        "word_map": Param(str, TUTORIAL_WORD_MAP.file_name, "its WORDMAP_*.json", path=True),
        "verify_sha256": Param(bool, False, "check the files against published digests (when known)"),
        "max_len": Param(int, 50, "longest caption in words (the tutorial stops after 50)", min=1, max=100),
        "batch_size": Param(int, 16, "images captioned at once", min=1),
    }
