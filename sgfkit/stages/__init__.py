"""The stages of a run, in order, each a module with ``run(ctx)`` on one :class:`RunContext`.

dataset (sample or load, cached) -> fit (fit or load, cached) -> edits (the example edits, after
projecting photos when asked) -> evaluation (the MDC sweeps) -> metrics; the run folder is written
by :func:`sgfkit.run_outputs.write_run_outputs` from the same context.
"""
from __future__ import annotations

from sgfkit.stages.context import RunContext, Timer

__all__ = ["RunContext", "Timer"]
