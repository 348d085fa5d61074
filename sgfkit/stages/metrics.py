"""Stage ``metrics``: every metric of the recipe on the sweeps and the example edits."""
from __future__ import annotations

from sgfkit.stages.context import RunContext


def run(ctx: RunContext) -> None:
    """``ctx.results``: metric label -> its :class:`sgfkit.components.MetricResult`."""
    with ctx.timer.stage("metrics"):
        outcomes = [r.outcome for r in ctx.records]
        for label, metric in ctx.comps.metrics:
            ctx.results[label] = metric.compute(ctx.evaluations, outcomes)
