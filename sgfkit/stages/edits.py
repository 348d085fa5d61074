"""Stage ``edits``: the recipe's example edits, on the seeds' samples, projected photos and/or file latents."""
from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from sgfkit.stages.context import RunContext


def run(ctx: RunContext) -> None:
    """Project ``ctx.photos`` (when given), then run every (manipulator, target) edit into ``ctx.records``.

    ``layers: auto`` targets get their layers from a layer map measured first (``sgfkit.layer_map``).
    """
    from sgfkit.layer_map import auto_targets, resolve_auto_layers
    from sgfkit.shards import sharded_edits

    data = ctx.recipe.data
    if ctx.photos is not None:
        from sgfkit.projection import project_photos

        with ctx.timer.stage("projection"):
            ctx.projected = project_photos(ctx.recipe, ctx.comps.generator, ctx.photos, ctx.device)
    if not (data.get("edits") and ctx.comps.manipulators):
        return
    asks_auto = bool(auto_targets(ctx.comps.generator, data["edits"]))
    with ctx.timer.stage("layer map") if asks_auto else nullcontext():
        edits, ctx.layer_map, layer_notes = resolve_auto_layers(ctx.comps.generator, ctx.comps.encoder, data["edits"])
        ctx.notes += layer_notes
    with ctx.timer.stage("edits"):
        given = edit_sources(ctx.comps.generator, edits, ctx.projected, ctx.file_sources)
        ctx.records, notes = sharded_edits(ctx.executor, ctx.comps, edits, ctx.seed, ctx.fitted_payload, *given)
        ctx.notes += notes


def edit_sources(generator: Any, edits: dict[str, Any], projected: Any, file_sources: Any) -> tuple[Any, ...]:
    """(latents, names) of the example-edit sources when they are not just the seeds; () otherwise.

    Projected photos replace the seeds; the rows of ``edits.latents`` come after either.
    """
    if file_sources is None:
        return (projected.projection.latents, projected.names) if projected else ()
    from sgfkit.latents import Latents

    if projected:
        base, names = projected.projection.latents, list(projected.names)
    else:
        base = generator.to_latents(generator.z_from_seeds(list(edits["seeds"])))
        names = [f"seed {s}" for s in edits["seeds"]]
    names += [f"latent {i}" for i in range(len(file_sources))]
    return (Latents.cat([base, file_sources.to(base.device)]) if len(base) else file_sources), names
