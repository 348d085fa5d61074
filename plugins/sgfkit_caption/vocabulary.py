"""Word maps in the Show-Attend-Tell tutorial's format, and caption tokenisation.

The tutorial's ``WORDMAP_*.json`` maps words to ids: ``<pad>`` = 0, the words 1..n, then
``<unk>`` = n+1, ``<start>`` = n+2, ``<end>`` = n+3 (vocab size n+4). The embedded captioner uses
the same layout so one decoder and one beam search serve both.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from sgfkit.errors import WeightsError

PAD, UNK, START, END = "<pad>", "<unk>", "<start>", "<end>"
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z]+)?")  # keeps "5" and "medium-sized" whole


def tokenize(text: str) -> list[str]:
    """Lower-case words and numbers of ``text`` (punctuation dropped; hyphenated words kept whole)."""
    return _WORD.findall(text.lower())


class WordMap:
    """A word <-> id table with the four special tokens."""

    def __init__(self, word_to_id: dict[str, int], source: str = "<word map>") -> None:
        missing = [t for t in (PAD, UNK, START, END) if t not in word_to_id]
        if missing:
            raise WeightsError(f"{source}: word map lacks the special tokens {', '.join(missing)}; "
                               "expected the Show-Attend-Tell WORDMAP_*.json format")
        ids = sorted(word_to_id.values())
        if ids != list(range(len(ids))):
            raise WeightsError(f"{source}: word map ids must be 0..{len(ids) - 1} without gaps")
        self.word_to_id = dict(word_to_id)
        self.id_to_word = {i: w for w, i in self.word_to_id.items()}

    @classmethod
    def from_words(cls, words: Iterable[str]) -> WordMap:
        """Build the tutorial layout from the corpus words (sorted, deduplicated)."""
        vocab = sorted(set(words) - {PAD, UNK, START, END})
        table = {PAD: 0}
        table.update({w: i + 1 for i, w in enumerate(vocab)})
        n = len(vocab)
        table.update({UNK: n + 1, START: n + 2, END: n + 3})
        return cls(table)

    @classmethod
    def load(cls, path: str | Path) -> WordMap:
        path = Path(path)
        if not path.is_file():
            raise WeightsError(f"word map file not found: {path}")
        try:
            table = json.loads(path.read_text(encoding="utf-8"))
        except RecursionError:  # json recurses once per nesting level
            raise WeightsError(f"{path}: the JSON nests too deeply; a word map is a flat object of word -> id") \
                from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise WeightsError(f"{path}: not a JSON word map ({exc})") from None
        if not isinstance(table, dict) or not all(isinstance(v, int) for v in table.values()):
            raise WeightsError(f"{path}: a word map must be a JSON object of word -> integer id")
        return cls(table, source=str(path))

    def __len__(self) -> int:
        return len(self.word_to_id)

    @property
    def pad(self) -> int:
        return self.word_to_id[PAD]

    @property
    def start(self) -> int:
        return self.word_to_id[START]

    @property
    def end(self) -> int:
        return self.word_to_id[END]

    @property
    def unk(self) -> int:
        return self.word_to_id[UNK]

    def encode(self, text: str, max_len: int) -> list[int]:
        """``<start> w1 .. wn <end>`` ids (at most ``max_len`` words)."""
        words = tokenize(text)[:max_len]
        return [self.start] + [self.word_to_id.get(w, self.unk) for w in words] + [self.end]

    def decode(self, ids: Sequence[int]) -> str:
        """Words of ``ids`` joined by spaces, special tokens left out."""
        special = {self.pad, self.start, self.end}
        return " ".join(self.id_to_word.get(int(i), UNK) for i in ids if int(i) not in special)
