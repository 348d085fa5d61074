"""The typed state one run passes from stage to stage (torch-free: it only holds what stages made)."""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sgfkit.cache import StageCache

if TYPE_CHECKING:
    from sgfkit.dataset import LatentDataset
    from sgfkit.recipe import Recipe


class Timer:
    """Seconds per stage (a stage entered twice adds up), for metrics.json."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - start, 4)


@dataclass
class RunContext:
    """One run: its inputs (recipe, built components, executor, cache) and what each stage adds.

    Attributes:
        recipe / comps / device / executor / cache: given when the run starts (``comps`` is a
            :class:`sgfkit.pipeline.Components`).
        photos: image files to project and edit instead of the seeds (``sgfkit edit``), or None.
        file_sources: latents read from ``edits.latents``, edited after the seeds (or photos).
        timer, notes, hits: stage timings, notes for the report, cache hits per stage.
        data_key / dataset: the dataset's cache key and the (z, latent, condition) samples.
        fit_reports: manipulator label -> its fit report.
        projected: the projected photos (``sgfkit.projection.ProjectedPhotos``) or None.
        records: the example edits (``sgfkit.edits.EditRecord``); evaluations: the MDC sweeps.
        layer_map: the measured ``sgfkit.layer_map.LayerMap`` when a target asked for ``layers: auto``.
        results: metric label -> :class:`sgfkit.components.MetricResult`.
    """

    recipe: Recipe
    comps: Any
    device: str
    executor: Any
    cache: StageCache
    photos: Any = None
    file_sources: Any = None
    timer: Timer = field(default_factory=Timer)
    notes: list[str] = field(default_factory=list)
    hits: dict[str, bool] = field(default_factory=dict)
    data_key: str | None = None
    dataset: LatentDataset | None = None
    fit_reports: dict[str, Any] = field(default_factory=dict)
    projected: Any = None
    records: list[Any] = field(default_factory=list)
    layer_map: Any = None
    evaluations: list[Any] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)
    _fitted_payload: list[Any] = field(default_factory=list, repr=False)

    @property
    def seed(self) -> int:
        return int(self.recipe.data["seed"])

    @property
    def run_parent(self) -> Path:
        """The recipe's output folder (``output.dir``), under which the run folder is made."""
        return Path(self.recipe.data["output"]["dir"])

    def fitted_payload(self) -> Any:
        """What Ray workers need to rebuild the fitted components: made once, only when an executor asks."""
        if not self._fitted_payload:
            from sgfkit.shards import make_payload

            self._fitted_payload.append(make_payload(self.recipe, self.comps, fitted=True))
        return self._fitted_payload[0]
