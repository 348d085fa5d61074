"""Hook implementations of the metrics plugin (torch-free: registrations are lazy strings)."""
from __future__ import annotations

from sgfkit import hookimpl


@hookimpl
def sgfkit_register_metrics(register):
    register("mds", "sgfkit_metrics.mds:MDSMetric",
             declaration="sgfkit_metrics.declarations:MDSMetricDeclaration",
             summary="MDC curves and the manipulation disentanglement score (SGF paper)")
