"""Batched beam search with the Show-Attend-Tell tutorial's semantics.

Per image: ``k`` beams start from ``<start>`` (only one is expanded at the first step, since all are
equal); each step keeps the top ``k_live`` of the ``k_live x V`` continuations by cumulative
log-probability; a continuation ending in ``<end>`` is complete and leaves the beam (``k_live``
shrinks); decoding stops when no beam is live or after ``max_len`` words. The answer is the
complete sequence with the highest raw score (no length normalisation); an image whose beams all
hit the length limit falls back to its best live beam. Unlike the tutorial, all images of a batch
are decoded together, and the previous-beam index uses integer division (the tutorial's
``/`` became float division in torch >= 1.5).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch


class StepModel(Protocol):
    """What beam search needs from a decoder, for a batch of B images.

    ``init_state()`` returns state tensors, each [B, ...]. ``step(words, state, image_index)`` gets
    the previous words [R], the state rows [R, ...] and which image each row belongs to [R], and
    returns (log-probabilities [R, V], new state rows).
    """

    def init_state(self) -> tuple[torch.Tensor, ...]: ...

    def step(self, words: torch.Tensor, state: tuple[torch.Tensor, ...],
             image_index: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]: ...


@dataclass
class BeamResult:
    """sequences: per image, the word ids without <start> / <end>; scores [B]: their log-probability."""

    sequences: list[list[int]]
    scores: torch.Tensor
    complete: list[bool]


def beam_search(model: StepModel, batch_size: int, start: int, end: int, beam_size: int = 3,
                max_len: int = 20) -> BeamResult:
    """Decode ``batch_size`` images at once; see the module docstring for the rules."""
    B, k = batch_size, beam_size
    state = tuple(s.repeat_interleave(k, dim=0) for s in model.init_state())       # [B*k, ...]
    device = state[0].device if state else torch.device("cpu")
    image_of_row = torch.arange(B, device=device).repeat_interleave(k)            # [B*k]
    words = torch.full((B * k,), start, dtype=torch.long, device=device)
    cum = torch.full((B, k), float("-inf"), device=device)
    cum[:, 0] = 0.0                                                                 # one live beam at first
    alive = torch.zeros(B, k, dtype=torch.bool, device=device)
    alive[:, 0] = True
    seqs = torch.zeros(B, k, 0, dtype=torch.long, device=device)                   # words so far
    best_score = torch.full((B,), float("-inf"), device=device)
    best_seq = torch.zeros(B, max_len, dtype=torch.long, device=device)           # words before <end>
    best_len = torch.zeros(B, dtype=torch.long, device=device)
    k_live = torch.ones(B, dtype=torch.long, device=device) * k                     # beams left per image

    for _ in range(max_len):
        rows = alive.flatten().nonzero().squeeze(1)
        if rows.numel() == 0:
            break
        logp_rows, new_rows_state = model.step(words[rows], tuple(s[rows] for s in state), image_of_row[rows])
        V = logp_rows.shape[1]
        logp = torch.full((B * k, V), float("-inf"), device=device, dtype=logp_rows.dtype)
        logp[rows] = logp_rows
        full_state = []
        for s, ns in zip(state, new_rows_state):
            s = s.clone()
            s[rows] = ns
            full_state.append(s)
        cand = (cum.unsqueeze(2) + logp.view(B, k, V)).view(B, k * V)              # [B, k*V]
        top_scores, top_idx = cand.topk(k, dim=1)                                   # sorted, best first
        prev_beam = torch.div(top_idx, V, rounding_mode="floor")                    # [B, k]
        next_word = top_idx % V
        rank = torch.arange(k, device=device).unsqueeze(0)
        valid = (rank < k_live.unsqueeze(1)) & torch.isfinite(top_scores)
        is_end = next_word == end
        seqs = torch.cat([seqs.gather(1, prev_beam.unsqueeze(2).expand(-1, -1, seqs.shape[2])),
                          next_word.unsqueeze(2)], dim=2)
        done = valid & is_end
        done_scores = torch.where(done, top_scores, torch.full_like(top_scores, float("-inf")))
        step_best, step_j = done_scores.max(dim=1)                                  # best completion per image
        better = step_best > best_score
        if better.any():
            length = seqs.shape[2] - 1
            chosen = seqs[torch.arange(B, device=device), step_j, :length]          # [B, length]
            best_seq[better, :length] = chosen[better]
            best_len[better] = length
            best_score = torch.where(better, step_best, best_score)
        alive = valid & ~is_end
        k_live = k_live - done.sum(dim=1)
        cum = torch.where(alive, top_scores, torch.full_like(top_scores, float("-inf")))
        src_rows = (torch.arange(B, device=device).unsqueeze(1) * k + prev_beam).flatten()
        state = tuple(s[src_rows] for s in full_state)
        words = next_word.flatten()

    complete = torch.isfinite(best_score)
    sequences = [best_seq[b, :best_len[b]].tolist() for b in range(B)]
    for b in (~complete & alive.any(dim=1)).nonzero().flatten().tolist():          # length limit hit
        j = int(cum[b].argmax())                                                   # dead beams are -inf
        best_score[b] = cum[b, j]
        sequences[b] = seqs[b, j].tolist()
    return BeamResult(sequences, best_score, complete.tolist())


def greedy_search(model: StepModel, batch_size: int, start: int, end: int, max_len: int = 20) -> BeamResult:
    """Most likely next word at each step (beam size 1); for comparison and quick checks."""
    return beam_search(model, batch_size, start, end, beam_size=1, max_len=max_len)


class DecoderStepModel:
    """Adapts a :class:`~sgfkit_caption.sat_model.DecoderWithAttention` to :class:`StepModel`.

    ``features`` [B, P, D] are the encoder output for the B images; ``encoder_att`` is computed once.
    """

    def __init__(self, decoder: torch.nn.Module, features: torch.Tensor) -> None:
        self.decoder = decoder
        self.features = features
        self.features_att = decoder.attention.encoder_att(features)

    def init_state(self) -> tuple[torch.Tensor, ...]:
        return self.decoder.init_hidden_state(self.features)

    def step(self, words: torch.Tensor, state: tuple[torch.Tensor, ...],
             image_index: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        h, c = state
        logits, h, c, _ = self.decoder.step(self.features[image_index], words, h, c,
                                            self.features_att[image_index])
        return torch.log_softmax(logits, dim=1), (h, c)
