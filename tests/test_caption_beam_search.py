"""Beam search: known answers, exhaustive search agreement, batching, and the decoder adapter."""
from __future__ import annotations

import itertools
import math

import torch

from sgfkit_caption.beam_search import DecoderStepModel, beam_search, greedy_search
from sgfkit_caption.sat_model import CaptionerConfig, DecoderWithAttention

START, END = 0, 1


class MarkovModel:
    """Next-word log-probabilities depend only on the previous word: table[b, prev] -> [V]."""

    def __init__(self, table: torch.Tensor) -> None:
        self.table = table.log()                       # [B, V, V] probabilities -> log

    def init_state(self):
        return (torch.zeros(self.table.shape[0], 1),)  # a dummy state to carry through

    def step(self, words, state, image_index):
        return self.table[image_index, words], state


def exhaustive_best(table: torch.Tensor, max_len: int) -> tuple[list[int], float]:
    """Best complete sequence (ending in END within max_len words) by brute force."""
    V = table.shape[0]
    words = [w for w in range(V) if w not in (START, END)]
    best, best_score = [], -math.inf
    for n in range(max_len):
        for seq in itertools.product(words, repeat=n):
            prev, score = START, 0.0
            for w in (*seq, END):
                score += math.log(table[prev, w])
                prev = w
            if score > best_score:
                best, best_score = list(seq), score
    return best, best_score


def test_beam_finds_the_sequence_greedy_misses():
    # vocab: 0 <start>, 1 <end>, 2 "a", 3 "b". Greedy takes "a" (0.6) then <end> (0.35): 0.21.
    # The best is "b" <end>: 0.4 * 0.9 = 0.36.
    table = torch.full((4, 4), 1e-6)
    table[START, 2], table[START, 3] = 0.6, 0.4
    table[2, END], table[2, 2], table[2, 3] = 0.35, 0.33, 0.32
    table[3, END], table[3, 2], table[3, 3] = 0.9, 0.05, 0.05
    table = table / table.sum(1, keepdim=True)
    model = MarkovModel(table[None])
    greedy = greedy_search(model, 1, START, END, max_len=5)
    beam = beam_search(model, 1, START, END, beam_size=2, max_len=5)
    assert greedy.sequences == [[2]]
    assert beam.sequences == [[3]]
    assert math.isclose(float(beam.scores[0]), math.log(float(table[START, 3] * table[3, END])), rel_tol=1e-5)
    assert beam.complete == [True]


def test_wide_beam_matches_exhaustive_search_and_batching_changes_nothing():
    gen = torch.Generator().manual_seed(0)
    B, V, L = 6, 5, 4
    table = torch.rand(B, V, V, generator=gen) ** 3 + 1e-3
    table[:, :, START] = 1e-9                           # <start> is never generated
    table = table / table.sum(2, keepdim=True)
    # a beam as wide as every partial sequence is exact
    batched = beam_search(MarkovModel(table), B, START, END, beam_size=V ** L, max_len=L)
    for b in range(B):
        best, best_score = exhaustive_best(table[b], L)
        assert batched.sequences[b] == best
        assert math.isclose(float(batched.scores[b]), best_score, rel_tol=1e-4)
    # a narrow beam decodes each image the same alone as in the batch
    narrow = beam_search(MarkovModel(table), B, START, END, beam_size=3, max_len=L)
    for b in range(B):
        alone = beam_search(MarkovModel(table[b:b + 1]), 1, START, END, beam_size=3, max_len=L)
        assert alone.sequences[0] == narrow.sequences[b]


def test_length_limit_falls_back_to_best_live_beam():
    table = torch.full((3, 3), 1e-6)
    table[:, 2] = 1.0                                   # always "a", <end> nearly impossible
    table = table / table.sum(1, keepdim=True)
    table[:, END] = 0.0                                 # never ends: log 0 = -inf
    result = beam_search(MarkovModel(table[None]), 1, START, END, beam_size=2, max_len=3)
    assert result.sequences == [[2, 2, 2]]
    assert result.complete == [False]


def test_decoder_adapter_gives_normalised_log_probs():
    torch.manual_seed(0)
    cfg = CaptionerConfig(vocab_size=9, encoder_dim=8, attention_dim=6, embed_dim=5, decoder_dim=7)
    decoder = DecoderWithAttention(cfg).eval()
    feats = torch.randn(2, 4, 8)
    model = DecoderStepModel(decoder, feats)
    h, c = model.init_state()
    logp, _ = model.step(torch.tensor([7, 7]), (h, c), torch.tensor([0, 1]))
    assert logp.shape == (2, 9)
    assert torch.allclose(logp.exp().sum(1), torch.ones(2), atol=1e-5)
    out = beam_search(model, 2, start=7, end=8, beam_size=3, max_len=6)
    assert len(out.sequences) == 2 and all(len(s) <= 6 for s in out.sequences)
    # scores are the log-probabilities of the chosen sequences under teacher forcing
    for b in range(2):
        if not out.complete[b]:
            continue
        caption = torch.tensor([[7, *out.sequences[b], 8]])
        logits, _ = decoder(feats[b:b + 1], caption)
        lp = torch.log_softmax(logits, 2)[0].gather(1, caption[0, 1:, None]).sum()
        assert torch.isclose(lp, out.scores[b], atol=1e-4)
