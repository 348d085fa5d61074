"""Condition encoders of the caption stack.

- ``sentence-bert`` (:class:`SentenceBert`): Sentence-BERT all-MiniLM-L6-v2 on its own; embeds text
  (:meth:`SentenceBert.embed_texts`), not images.
- ``flower-caption`` (:class:`FlowerCaption`): the embedded Show-Attend-Tell captioner (weights
  shipped in the package, trained on synth-flowers) followed by Sentence-BERT.
- ``show-attend-tell`` (:class:`ShowAttendTell`): the public tutorial checkpoint + word map,
  followed by Sentence-BERT.

Conditions are unit-norm sentence embeddings [N, 384] (``emb_0`` ... ``emb_383``). A target is
``{"caption": "this flower has red petals"}``; distance is 1 - cosine similarity; ``describe``
returns the caption behind an embedding. ``flower-caption`` also takes ``{caption: ..., keep: true}``:
per sample, the target is the source's own caption with only the facts the caption names replaced,
so the embedding does not ask for facts the user did not name.
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from sgfkit.components import ConditionEncoder
from sgfkit.errors import ComponentError, WeightsError, did_you_mean
from sgfkit.weights import locate_weights, sha256_of
from sgfkit_caption.beam_search import DecoderStepModel, beam_search
from sgfkit_caption.declarations import (
    CaptionEmbeddingEncoderDeclaration,
    FlowerCaptionDeclaration,
    SentenceBertDeclaration,
    SentenceEmbeddingConditionsDeclaration,
    ShowAttendTellDeclaration,
)
from sgfkit_caption.embedded_weights import load_embedded_captioner
from sgfkit_caption.known_weights import TUTORIAL_CHECKPOINT, TUTORIAL_WORD_MAP
from sgfkit_caption.sat_model import Captioner
from sgfkit_caption.sentence_encoder import SentenceEmbedder
from sgfkit_caption.vocabulary import WordMap

#: all-MiniLM-L6-v2 output size (known without loading the model, for ``names``)
SBERT_DIM = 384
SHIPPED_WEIGHTS = Path(__file__).resolve().parent / "weights" / "flower_captioner.safetensors"


class SentenceEmbeddingConditions(SentenceEmbeddingConditionsDeclaration, ConditionEncoder):
    """Shared semantics of encoders whose conditions are Sentence-BERT embeddings."""

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._sbert: SentenceEmbedder | None = None

    @property
    def names(self) -> list[str]:
        return [f"emb_{i}" for i in range(SBERT_DIM)]

    @property
    def sentence_encoder(self) -> SentenceEmbedder:
        """The loaded Sentence-BERT on this component's device (loaded on first use, shared)."""
        if self._sbert is None or self._sbert.device != self.device:
            self._sbert = SentenceEmbedder.shared(self.device)
        return self._sbert

    def embed_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """texts -> [n, 384] float32 unit-norm embeddings (CPU)."""
        if isinstance(texts, str):
            texts = [texts]
        return self.sentence_encoder.embed(list(texts))

    # -- targets ------------------------------------------------------------------------------
    @staticmethod
    def _caption_of(spec: dict[str, Any]) -> str:
        unknown = [k for k in spec if k not in ("caption", "keep")]
        if unknown or "caption" not in spec:
            hint = did_you_mean(unknown[0], ["caption", "keep"]) if unknown else ""
            raise ComponentError(
                f"a caption target is {{caption: \"some text\"}} (optionally keep: true); got keys {sorted(spec)}."
                f"{hint} Example: {{caption: \"this flower has red petals\"}}")
        text = spec["caption"]
        if not isinstance(text, str) or not text.strip():
            raise ComponentError(f"the target caption must be a non-empty string, got {text!r}")
        if not isinstance(spec.get("keep", False), bool):
            raise ComponentError(f"keep must be true or false, got {spec['keep']!r}")
        return text.strip()

    def target(self, spec: dict[str, Any], c0: torch.Tensor) -> torch.Tensor:
        """The embedding of ``spec["caption"]`` for every row of ``c0`` [N, 384]; with ``keep: true``
        one sentence per row (:meth:`keep_sentences`)."""
        text = self._caption_of(spec)
        if spec.get("keep", False):
            return self.embed_texts(self.keep_sentences(text, c0)).to(c0.device, c0.dtype)
        emb = self.embed_texts([text])
        return emb.to(c0.device, c0.dtype).expand(c0.shape[0], -1).clone()

    def keep_sentences(self, text: str, c0: torch.Tensor) -> list[str]:
        """Per row of ``c0``, the sentence a ``keep`` target aims at; encoders that cannot rewrite say so."""
        raise ComponentError(f"{self.registry_name or type(self).__name__} cannot keep unnamed facts: keep: true "
                             "needs captions the flower grammar reads (encoder flower-caption); drop keep")

    def source_captions(self, c0: torch.Tensor) -> list[str | None]:
        """The caption each row of ``c0`` [N, 384] is the embedding of (None when not embedded here)."""
        texts, known = self.sentence_encoder.known()
        if not texts:
            return [None] * c0.shape[0]
        sims = torch.nn.functional.normalize(c0.float().cpu(), dim=1) @ known.T
        best, index = sims.max(dim=1)
        # an encoder reading is the exact embedding of its caption: anything less is another sentence
        return [texts[int(i)] if float(b) > 0.9999 else None for b, i in zip(best, index)]

    def target_dims(self, spec: dict[str, Any]) -> list[int]:
        self._caption_of(spec)
        return list(range(SBERT_DIM))

    def distance(self, c: torch.Tensor, c1: torch.Tensor, dims: Sequence[int]) -> torch.Tensor:
        """1 - cosine similarity [N] (0 = same meaning, up to 2); ``dims`` restricts the vectors."""
        idx = list(dims) or list(range(c.shape[1]))
        a, b = c[:, idx].float(), c1[:, idx].to(c.device).float()
        return 1.0 - torch.nn.functional.cosine_similarity(a, b, dim=1, eps=1e-8)

    def target_aspects(self, spec: dict[str, Any]) -> list[str]:
        """A caption target names one aspect here, the caption (encoders that parse captions say more)."""
        self._caption_of(spec)
        return ["caption"]

    def aspect_changes(self, c0: torch.Tensor, c1: torch.Tensor) -> dict[str, torch.Tensor]:
        """``caption``: how far the meaning moved (1 - cosine similarity) [N]."""
        return {"caption": self.distance(c1, c0, [])}

    def describe(self, c: torch.Tensor, dims: Sequence[int] | None = None) -> list[str]:
        """The text behind each embedding: the nearest caption or target embedded so far."""
        texts, known = self.sentence_encoder.known()
        if not texts:
            return ["(no caption)"] * c.shape[0]
        sims = torch.nn.functional.normalize(c.float().cpu(), dim=1) @ known.T
        return [texts[int(i)] for i in sims.argmax(dim=1)]


class SentenceBert(SentenceBertDeclaration, SentenceEmbeddingConditions):
    """Sentence-BERT (all-MiniLM-L6-v2) alone: text -> unit-norm [384] embeddings.

    It has no image input; use :meth:`embed_texts`, or ``flower-caption`` / ``show-attend-tell``
    which caption images first.
    """

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        raise ComponentError("sentence-bert embeds text, not images: call embed_texts(texts), or use the "
                             "flower-caption or show-attend-tell encoder, which caption the images first")


class CaptionEmbeddingEncoder(CaptionEmbeddingEncoderDeclaration, SentenceEmbeddingConditions):
    """Images -> captions (beam search) -> Sentence-BERT embeddings [N, 384].

    Subclasses implement :meth:`load_captioner`.
    """

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.captioner, self.word_map = self.load_captioner()
        self.captioner.eval()

    def load_captioner(self) -> tuple[Captioner, WordMap]:
        raise NotImplementedError

    def captions(self, images: torch.Tensor) -> list[str]:
        """images [N, 3, H, W] in [-1, 1] -> one caption per image (beam search)."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ComponentError(f"{self.registry_name or type(self).__name__} expects images [N, 3, H, W], "
                                 f"got shape {list(images.shape)}")
        if not torch.isfinite(images).all():
            raise ComponentError("images contain NaN or inf; check the generator output / latents")
        out: list[str] = []
        bs = self.params["batch_size"]
        wm = self.word_map
        with torch.no_grad():
            for start in range(0, images.shape[0], bs):
                feats = self.captioner.features(images[start:start + bs].to(self.device))
                result = beam_search(DecoderStepModel(self.captioner.decoder, feats), feats.shape[0], wm.start, wm.end,
                                     beam_size=self.params["beam_size"], max_len=self.params["max_len"])
                out.extend(wm.decode(seq) for seq in result.sequences)
        return out

    def condition_texts(self, captions: list[str]) -> list[str]:
        """The sentences whose embeddings are the conditions of images captioned ``captions`` (here: themselves)."""
        return captions

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """images [N, 3, H, W] in [-1, 1] -> unit-norm caption embeddings [N, 384] (float32)."""
        return self.embed_texts(self.condition_texts(self.captions(images))).to(self.device)


class FlowerCaption(FlowerCaptionDeclaration, CaptionEmbeddingEncoder):
    """The embedded captioner (Show-Attend-Tell, small config, trained on synth-flowers) + Sentence-BERT."""

    def load_captioner(self) -> tuple[Captioner, WordMap]:
        path = Path(self.params["weights"]) if self.params["weights"] else SHIPPED_WEIGHTS
        self.weights_path = path
        self.metadata = {}
        captioner, word_map, meta = load_embedded_captioner(path)
        self.metadata = meta
        return captioner, word_map

    def condition_texts(self, captions: list[str]) -> list[str]:
        """With ``phrasing: canonical`` each caption said in the flower grammar's one template, so the
        condition changes only when a fact does (not when the captioner picks other words)."""
        if self.params["phrasing"] != "canonical":
            return captions
        from sgfkit_synthetic.captions import canonical_caption

        return [canonical_caption(text) for text in captions]

    def keep_sentences(self, text: str, c0: torch.Tensor) -> list[str]:
        """Each source's caption (read back from ``c0``) with the facts ``text`` names replaced, e.g.
        "this flower has yellow petals and a brown center" + "red petals" -> "this flower has red petals
        and a brown center". A row whose caption is unknown (a zero probe) gets the named facts alone."""
        from sgfkit_synthetic.captions import keep_rewrite

        return [keep_rewrite(source or "", text) for source in self.source_captions(c0)]

    def target_aspects(self, spec: dict[str, Any]) -> list[str]:
        """The facts a target caption names ("large red petals" -> petal_color, petal_size)."""
        from sgfkit_synthetic.captions import parse_caption

        return sorted(parse_caption(self._caption_of(spec))) or ["caption"]

    def sub_target(self, spec: dict[str, Any], aspects: list[str]) -> dict[str, Any] | None:
        """A keep target naming only ``aspects`` of the facts ``spec`` names ("large red petals", [petal_size]
        -> "this flower has large petals", keep). Plain targets aim at their whole sentence: not split."""
        from sgfkit_synthetic.captions import parse_caption, phrase_facts

        facts = parse_caption(self._caption_of(spec))
        if not spec.get("keep", False) or not set(aspects) <= set(facts):
            return None
        return {"caption": phrase_facts({key: facts[key] for key in aspects}), "keep": True}

    def smallest_changes(self, c: torch.Tensor, seed: int) -> list[dict[str, Any]] | None:
        """Per row of ``c`` [N, 384], a keep target that replaces one fact its caption names with another value
        the grammar can say (a random fact and value, deterministic given ``seed``), e.g. "this flower has 8
        petals" for a reading of seven petals. A row whose caption is unknown gets a one-fact target alone."""
        from sgfkit_synthetic.captions import FACT_VALUES, parse_caption, phrase_facts

        rng = random.Random(seed)
        specs = []
        for source in self.source_captions(c):
            facts = parse_caption(source or "")
            key = rng.choice(sorted(k for k in facts if k in FACT_VALUES) or sorted(FACT_VALUES))
            value = rng.choice([v for v in FACT_VALUES[key] if v != facts.get(key)])
            specs.append({"caption": phrase_facts({key: value}), "keep": True})
        return specs

    def aspect_changes(self, c0: torch.Tensor, c1: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per fact the captions name, 1.0 where the two readings' captions give it different values
        (named in one only counts too), else 0.0 [N]; plus ``caption`` (1 - cosine similarity)."""
        from sgfkit_synthetic.captions import parse_caption

        before = [parse_caption(text) for text in self.describe(c0)]
        after = [parse_caption(text) for text in self.describe(c1)]
        keys = sorted({key for facts in before + after for key in facts})
        changes = {key: torch.tensor([float(a.get(key) != b.get(key)) for a, b in zip(before, after)])
                   for key in keys}
        changes["caption"] = self.distance(c1, c0, [])
        return changes

    def versions(self) -> dict[str, Any]:
        return {"weights": str(self.weights_path), "sha256": sha256_of(self.weights_path),
                "held_out": self.metadata.get("held_out", {})}

    @classmethod
    def train(cls, output: Path, **options: Any) -> dict[str, Any]:
        from sgfkit_caption.training import train_flower_captioner

        return train_flower_captioner(Path(output), **options)


class ShowAttendTell(ShowAttendTellDeclaration, CaptionEmbeddingEncoder):
    """The public Show-Attend-Tell tutorial checkpoint (MS-COCO) + its word map + Sentence-BERT.

    The checkpoint's pickled modules are read by a restricted unpickler onto our own modules;
    images get the tutorial's preprocessing (resize 256, ImageNet mean / std).
    """

    def load_captioner(self) -> tuple[Captioner, WordMap]:
        from sgfkit_caption.sat_checkpoint import load_tutorial_captioner

        verify = self.params["verify_sha256"]
        self.checkpoint_path = locate_weights(self.params["checkpoint"], known=TUTORIAL_CHECKPOINT, verify_sha256=verify)
        word_map_path = locate_weights(self.params["word_map"], known=TUTORIAL_WORD_MAP, verify_sha256=verify)
        captioner = load_tutorial_captioner(self.checkpoint_path)
        word_map = WordMap.load(word_map_path)
        if len(word_map) != captioner.config.vocab_size:
            raise WeightsError(f"{word_map_path} has {len(word_map)} words but {self.checkpoint_path} was trained "
                               f"with {captioner.config.vocab_size}; use the word map that came with the checkpoint")
        return captioner, word_map

    def versions(self) -> dict[str, Any]:
        return {"checkpoint": str(self.checkpoint_path)}


# ------------------------------------------------------------------------------------------
# Shipped weights (safetensors + JSON metadata)
# ------------------------------------------------------------------------------------------
