"""Stage ``evaluation``: the recipe's MDC strength sweeps (:mod:`sgfkit.sweeps`), in shards."""
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

