"""Stage ``evaluation``: the recipe's MDC strength sweeps (``sgfkit.sweeps``), then the metrics on them."""
from __future__ import annotations

from sgfkit.stages.context import RunContext


def run(ctx: RunContext) -> None:
    """Sweep every (attribute, manipulator) into ``ctx.evaluations``."""
    from sgfkit.shards import sharded_evaluation

    config = ctx.recipe.data.get("evaluation")
    if not (config and ctx.comps.manipulators):
        return
    with ctx.timer.stage("evaluation"):
        ctx.evaluations, notes = sharded_evaluation(ctx.executor, ctx.comps, config, ctx.seed, ctx.fitted_payload)
        ctx.notes += notes


def run_metrics(ctx: RunContext) -> None:
    """Every metric of the recipe on the sweeps and the example edits, into ``ctx.results``."""
    with ctx.timer.stage("metrics"):
        outcomes = [r.outcome for r in ctx.records]
        for label, metric in ctx.comps.metrics:
            ctx.results[label] = metric.compute(ctx.evaluations, outcomes)
