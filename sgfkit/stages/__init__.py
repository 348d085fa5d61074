"""The stages of a run, in order, each a module with ``run(ctx)`` on one :class:`RunContext`.

:mod:`~sgfkit.stages.dataset` (sample or load, cached) -> :mod:`~sgfkit.stages.fit` (fit or load,
cached) -> :mod:`~sgfkit.stages.edits` (the example edits, after projecting photos when asked) ->
:mod:`~sgfkit.stages.evaluation` (the MDC sweeps) -> :mod:`~sgfkit.stages.metrics`; the run folder
is written by :func:`sgfkit.run_outputs.write_run_outputs` from the same context.
"""
from __future__ import annotations

from sgfkit.stages.context import RunContext, Timer

__all__ = ["RunContext", "Timer"]
