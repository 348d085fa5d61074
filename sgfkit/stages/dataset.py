"""Stage ``dataset``: the (z, latent, condition) samples the manipulators fit on, cached by content."""
from __future__ import annotations

from sgfkit.stages.context import RunContext


def run(ctx: RunContext) -> None:
    """Sample (or load) ``ctx.dataset`` under ``ctx.data_key``; skipped when no manipulator needs it."""
    from sgfkit.dataset import cached_dataset
    from sgfkit.pipeline import dataset_key
    from sgfkit.shards import make_payload, sharded_dataset

    with ctx.timer.stage("dataset"):
        ctx.data_key = dataset_key(ctx.recipe, ctx.comps)
        if not ctx.comps.manipulators:
            ctx.hits["dataset"] = False
            return
        ds = ctx.recipe.data["dataset"]
        ctx.dataset, ctx.hits["dataset"] = cached_dataset(ctx.cache, ctx.data_key, lambda: sharded_dataset(
            ctx.executor, ctx.comps, ds["samples"], ds["batch_size"], ctx.seed,
            payload=lambda: make_payload(ctx.recipe, ctx.comps, fitted=False)))
