"""Stage ``fit``: every manipulator fitted on the dataset, or loaded from the cache (state + report)."""
from __future__ import annotations

import json
import warnings
from typing import Any

from sgfkit.cache import StageCache
from sgfkit.stages.context import RunContext, Timer


def run(ctx: RunContext) -> None:
    """Fit (or load) the manipulators of ``ctx.comps`` on ``ctx.dataset``; nothing to do without one."""
    if ctx.dataset is None or ctx.data_key is None:
        return
    ctx.fit_reports, hits = fit_manipulators(ctx.comps, ctx.dataset, ctx.data_key, ctx.cache, ctx.seed, ctx.timer)
    ctx.hits.update({f"fit:{label}": hit for label, hit in hits.items()})


#: warnings a library raises for developers; a fit report does not repeat them to users
DEVELOPER_WARNINGS = (DeprecationWarning, PendingDeprecationWarning)


def fit_manipulators(comps: Any, dataset: Any, data_key: str, cache: StageCache, seed: int,
                     timer: Timer) -> tuple[dict[str, Any], dict[str, bool]]:
    """Fit (or load from the cache) every manipulator; returns fit reports and cache hits per label."""
    from sgfkit.outputs import write_json_atomic
    from sgfkit.pipeline import fit_key, seed_everything

    reports: dict[str, Any] = {}
    hits: dict[str, bool] = {}
    for manipulator in comps.manipulators:

        def fit(manipulator: Any = manipulator) -> dict[str, Any]:
            seed_everything(seed)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                report = manipulator.fit(dataset, comps.generator, comps.encoder)
            # stored with the fit so that cached reruns show them too (see _replay_fit_warnings)
            stored = [str(w) for w in report.get("warnings", [])]  # what the manipulator reported itself
            # deprecation notices are for developers (Python hides them by default), not fit findings
            found = [str(w.message) for w in caught if not issubclass(w.category, DEVELOPER_WARNINGS)]
            stored += [m for m in found if not any(m.endswith(s) for s in stored)]
            return {**report, "warnings": stored}

        with timer.stage(f"fit:{manipulator.label}"):
            # the report is read first and is the value; the state is loaded into the manipulator
            report, hits[manipulator.label] = cache.get_or_build(
                "fits", fit_key(data_key, manipulator), fit,
                read={".json": lambda p: json.loads(p.read_text()),
                      ".safetensors": lambda p, m=manipulator: m.load(p) or True},
                write={".safetensors": lambda _report, tmp, m=manipulator: m.save(tmp),
                       ".json": lambda report, tmp: write_json_atomic(tmp, report)})
            reports[manipulator.label] = report
            _replay_fit_warnings(manipulator.label, report)
    return reports, hits


def _replay_fit_warnings(label: str, report: dict[str, Any]) -> None:
    """Show a fit's stored warnings (the same lines whether the fit ran now or came from the cache)."""
    for message in report.get("warnings", []):
        warnings.warn(f"{label}: {message}", UserWarning, stacklevel=2)
