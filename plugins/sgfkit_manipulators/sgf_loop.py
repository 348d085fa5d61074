"""The SGF driver loop (Algorithm 1) as a small state machine over a batch of samples.

:class:`EditSettings` holds what a run needs to know (frozen); :class:`EditState` is the batch after
t steps; :func:`advance` takes one Euler step for the samples still running and returns a new state
(its inputs are never mutated); :func:`run_edit` loops it and keeps the per-step snapshots a sweep
reads. Per-sample stopping is :mod:`sgf_stopping`'s job. The loop knows nothing about F, the
generator or the encoder: it gets three callables.

- ``direction(z [B, d], c [B, k], dc [B, k]) -> dz [B, d]``: the SGF step for a condition change;
- ``measure(rows [B], z [B, d]) -> c [B, k]``: re-measure the conditions of the given samples;
- ``distance(rows [B], c [B, k]) -> [B]``: their error to the target (the encoder's distance).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import torch

from sgfkit_manipulators.sgf_stopping import StopRule, Track

Direction = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
Measure = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Couple = Callable[[torch.Tensor], torch.Tensor]

#: the longest a re-aimed step grows on a plateau of repeated readings, in base steps
MAX_PLATEAU_BOOST = 16.0


@dataclass(frozen=True)
class EditSettings:
    """How one SGF edit runs.

    Attributes:
        step_size: eta, the share of the wanted change asked of one step (dc = eta * (c1 - c)).
        max_steps: step budget T.
        measured: re-measure c = C(G(z)) after every step (adaptive / exact); False is the fast
            mode (c <- c + dc, no stopping rule).
        reaim: aim each step at the remaining change from the last measurement, on the targeted
            dims only (False: the first dc for the whole path, as Algorithm 1).
        rule: the per-sample stopping rule (measured runs only).
        plateau_growth: re-aimed steps only: after a step that left the reading exactly as it was (a
            discrete reader, e.g. a captioner, whose reading changes only once the image has changed
            enough), the next step is this many times longer, up to ``MAX_PLATEAU_BOOST``; any new
            reading resets it. 1 = off (a repeated reading repeats the same step).
    """

    step_size: float
    max_steps: int
    measured: bool
    reaim: bool
    rule: StopRule
    plateau_growth: float = 1.0


@dataclass(frozen=True)
class EditState:
    """A batch after some steps; stopped samples hold their result.

    Attributes:
        z: [N, d] current vectors (a stopped sample: its result, rolled back to its best step).
        c: [N, k] their last measured conditions (fast mode: integrated ones).
        best_z / best_c: [N, d] / [N, k] vectors and readings at each sample's lowest measured error.
        tracks: per-sample stopping records.
    """

    z: torch.Tensor
    c: torch.Tensor
    best_z: torch.Tensor
    best_c: torch.Tensor
    tracks: tuple[Track, ...]

    @property
    def running(self) -> torch.Tensor:
        """Indices [B] of the samples still running."""
        return torch.tensor([i for i, t in enumerate(self.tracks) if t.running], dtype=torch.long)


@dataclass(frozen=True)
class EditTrace:
    """A finished run: ``snapshots[t]`` = vectors after t steps (stopped samples frozen at their result)."""

    snapshots: list[torch.Tensor]
    final: EditState

    @property
    def status(self) -> list[str]:
        return [t.status or "done" for t in self.final.tracks]   # fast-mode tracks never stop early

    @property
    def steps(self) -> torch.Tensor:
        return torch.tensor([t.step for t in self.final.tracks], dtype=torch.long)

    @property
    def result_steps(self) -> torch.Tensor:
        """[N] the step each result was taken at (the best step after a rollback)."""
        return torch.tensor([t.result_step for t in self.final.tracks], dtype=torch.long)

    @property
    def errors(self) -> torch.Tensor:
        """[N] measured error at each result."""
        return torch.tensor([t.err if t.result_step == t.step else t.best_err for t in self.final.tracks])


def start_state(z0: torch.Tensor, c0: torch.Tensor, err0: torch.Tensor, settings: EditSettings) -> EditState:
    """The state before the first step; with measuring, sources already within tolerance are converged."""
    if settings.measured:
        tracks = tuple(settings.rule.start(float(e)) for e in err0.tolist())
    else:
        tracks = tuple(Track(0.0, 0.0, 0.0, 0.0, 0, 0.0) for _ in range(len(z0)))
    return EditState(z0.clone(), c0.clone(), z0.clone(), c0.clone(), tracks)


def condition_step(state: EditState, rows: torch.Tensor, c1: torch.Tensor, first_dc: torch.Tensor,
                   mask: torch.Tensor, settings: EditSettings) -> torch.Tensor:
    """[B, k] dc of the next step for ``rows``: the fixed first one, or re-aimed from the last reading."""
    if not settings.reaim:
        return first_dc[rows]
    return settings.step_size * (c1[rows] - state.c[rows].to(c1)) * mask


def advance(state: EditState, dc: torch.Tensor, settings: EditSettings, direction: Direction,
            measure: Measure, distance: Distance) -> EditState:
    """One Euler step for the running samples (``dc`` [B, k] is theirs, in ``state.running`` order)."""
    rows = state.running
    if len(rows) == 0:
        return state
    with torch.enable_grad():   # F's JVPs need autograd even inside an inference-mode caller
        moved = state.z[rows] + direction(state.z[rows], state.c[rows], dc).detach()
    finite = torch.isfinite(moved).all(dim=1)
    tracks = list(state.tracks)
    for i in rows[~finite].tolist():
        tracks[i] = settings.rule.fail(tracks[i])
    good, moved = rows[finite], moved[finite]
    z, c, best_z, best_c = state.z.clone(), state.c.clone(), state.best_z.clone(), state.best_c.clone()
    z[good] = moved
    if not settings.measured:
        c[good] = state.c[good] + dc[finite].to(c)
        for i in good.tolist():
            tracks[i] = replace(tracks[i], step=tracks[i].step + 1)
        return EditState(z, c, best_z, best_c, tuple(tracks))
    if len(good):
        reading = measure(good, moved).to(c)
        err = distance(good, reading).float().cpu()
        ok = torch.isfinite(reading).all(dim=1).cpu()
        c[good] = torch.where(ok[:, None].to(reading.device), reading, c[good])
        for j, i in enumerate(good.tolist()):
            tracks[i] = settings.rule.observe(tracks[i], float(err[j]) if ok[j] else float("nan"))
            if tracks[i].best_step == tracks[i].step:
                best_z[i], best_c[i] = z[i], c[i]
    for i in rows.tolist():   # samples that stopped without converging return to their best step
        if not tracks[i].running and tracks[i].result_step != tracks[i].step:
            z[i], c[i] = best_z[i], best_c[i]
    return EditState(z, c, best_z, best_c, tuple(tracks))


def run_edit(z0: torch.Tensor, c0: torch.Tensor, c1: torch.Tensor, target_dims: list[int], err0: torch.Tensor,
             settings: EditSettings, direction: Direction, measure: Measure, distance: Distance,
             couple: Couple | None = None) -> EditTrace:
    """Algorithm 1 on a batch with per-sample stopping.

    Args:
        z0: [N, d] start vectors; c0 / c1: [N, k] start readings and targets; err0: [N] start errors.
        couple: maps a dc that is zero off the targeted dims to the full dc to ask of F (e.g. letting
            untargeted dims follow); None keeps the others at zero (held).
    """
    state = start_state(z0, c0, err0, settings)
    mask = torch.zeros_like(c1[:1])
    mask[:, list(target_dims) or slice(None)] = 1.0   # re-aimed steps leave the untargeted dims at dc = 0
    first = settings.step_size * (c1 - c0)
    if couple is not None:
        first = couple(first * mask)
    snapshots = [state.z.clone()]
    boost = torch.ones(len(z0))   # per sample: how many base steps the next re-aimed step is long
    grow = settings.reaim and settings.measured and settings.plateau_growth > 1.0
    for _ in range(settings.max_steps):
        rows = state.running
        if len(rows) == 0:
            snapshots.append(state.z)
            continue
        dc = condition_step(state, rows, c1, first, mask, settings)
        if couple is not None and settings.reaim:
            dc = couple(dc)
        if grow:
            dc = dc * boost[rows].to(dc)[:, None]
            before = state.c[rows].clone()
        state = advance(state, dc, settings, direction, measure, distance)
        if grow:
            repeated = (state.c[rows] == before).all(dim=1).cpu()
            boost[rows] = torch.where(repeated, (boost[rows] * settings.plateau_growth).clamp(max=MAX_PLATEAU_BOOST),
                                      torch.ones(len(rows)))
        snapshots.append(state.z)
    if settings.measured:
        state = _finish(state, settings.rule)
        snapshots[-1] = state.z
    return EditTrace(snapshots, state)


def _finish(state: EditState, rule: StopRule) -> EditState:
    """Samples that ran out of steps also return to their best measured step."""
    tracks = tuple(rule.out_of_steps(t) for t in state.tracks)
    z, c = state.z.clone(), state.c.clone()
    for i, (old, new) in enumerate(zip(state.tracks, tracks)):
        if old.running and new.result_step != new.step:
            z[i], c[i] = state.best_z[i], state.best_c[i]
    return replace(state, z=z, c=c, tracks=tracks)


def follow_coupling(cov: torch.Tensor, target_dims: list[int]) -> Couple:
    """A ``couple`` that lets the untargeted dims follow the targeted ones as they do in the data.

    With ``cov`` [k, k] the covariance of the training conditions, an asked change ``dc_t`` on the
    targeted dims (held dims included, at 0) becomes the full change whose other dims are their
    linear conditional mean, ``dc_f = cov_ft cov_tt^+ dc_t``. Why: conditions can be tied (a
    keypoint detector's ``mouth_open`` score is a function of where the mouth points are), and
    asking F to move one while holding the other asks for a condition the data never shows.
    """
    t = sorted(set(target_dims))
    f = [i for i in range(cov.shape[0]) if i not in set(t)]
    if not t or not f:
        return lambda dc: dc
    gain = cov[f][:, t] @ torch.linalg.pinv(cov[t][:, t])   # [k_f, k_t]

    def couple(dc: torch.Tensor) -> torch.Tensor:
        out = dc.clone()
        out[:, f] = dc[:, t] @ gain.T.to(dc)
        return out

    return couple
