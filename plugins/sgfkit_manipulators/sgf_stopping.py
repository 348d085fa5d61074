"""When an SGF sample stops, and what its status says: a stopping rule that survives noisy readings.

Readings of real encoders are noisy (a keypoint detector jitters by a fraction of a pixel, a
captioner repeats its caption until the image has changed enough), so one bad reading must not end
a sample, and a sample that stops must say why. Per sample, after every measured step:

- ``converged``: the measured error is within the tolerance (the result is that step);
- otherwise the error is smoothed (exponential moving average); a step whose smoothed error is not
  a new best by more than ``PLATEAU`` is a step without progress, except an exactly repeated reading
  (a plateau: the captioner case), which is neither progress nor regress;
- after ``patience`` steps without progress the sample stops and returns to the step with its
  lowest measured error: ``diverging`` when its smoothed error has risen above the source's error
  (the edit is making things worse than doing nothing), else ``rolled-back`` (it got as close as it
  could, then stalled or drifted away);
- ``max_steps``: out of steps; it also returns to its best step.

:class:`Track` is one sample's record; :meth:`StopRule.observe` returns a new record and never
mutates its input.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

#: smoothed-error changes below this count as a plateau, neither progress nor divergence
PLATEAU = 1e-6

CONVERGED, ROLLED_BACK, DIVERGING, MAX_STEPS, NON_FINITE = "converged", "rolled-back", "diverging", "max_steps", "non-finite"


@dataclass(frozen=True)
class Track:
    """One sample's stopping record.

    Attributes:
        start_err: error of the source (step 0); err: last measured error; smooth: smoothed error.
        best_err / best_step: lowest measured error so far and the step it was measured at.
        best_smooth: lowest smoothed error so far; stale: steps since it last improved.
        step: steps taken; status: None while running, else one of the statuses above.
    """

    start_err: float
    err: float
    smooth: float
    best_err: float
    best_step: int
    best_smooth: float
    stale: int = 0
    step: int = 0
    status: str | None = None

    @property
    def running(self) -> bool:
        return self.status is None

    @property
    def result_step(self) -> int:
        """The step whose latents are the result: the last one when converged, else the best one."""
        return self.step if self.status == CONVERGED else self.best_step


@dataclass(frozen=True)
class StopRule:
    """Tolerance, smoothing weight (0 = none) and patience of the stopping rule."""

    tolerance: float
    smoothing: float = 0.5
    patience: int = 4

    def start(self, err: float) -> Track:
        """The record of a source with error ``err``; a source already within tolerance is converged."""
        return Track(err, err, err, err, 0, err, status=CONVERGED if err <= self.tolerance else None)

    def observe(self, track: Track, err: float) -> Track:
        """The record after one more step whose measured error is ``err`` (NaN: a non-finite reading)."""
        step = track.step + 1
        if not math.isfinite(err):
            return replace(track, step=step, status=NON_FINITE)
        smooth = self.smoothing * track.smooth + (1 - self.smoothing) * err
        best_err, best_step = (err, step) if err < track.best_err else (track.best_err, track.best_step)
        if smooth < track.best_smooth - PLATEAU:
            best_smooth, stale = smooth, 0
        elif abs(err - track.err) <= PLATEAU:   # a repeated reading: the image has not changed enough yet
            best_smooth, stale = track.best_smooth, track.stale
        else:
            best_smooth, stale = track.best_smooth, track.stale + 1
        new = Track(track.start_err, err, smooth, best_err, best_step, best_smooth, stale, step)
        if err <= self.tolerance:
            return replace(new, status=CONVERGED)
        if stale >= self.patience:
            return replace(new, status=DIVERGING if smooth > track.start_err + PLATEAU else ROLLED_BACK)
        return new

    @staticmethod
    def fail(track: Track) -> Track:
        """A sample whose step left the finite numbers: it stops where it was (the step is not taken)."""
        return replace(track, status=NON_FINITE)

    def out_of_steps(self, track: Track) -> Track:
        """A sample still running when the step budget ends."""
        return replace(track, status=MAX_STEPS) if track.running else track
