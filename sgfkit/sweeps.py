"""The evaluation stage: an MDC strength sweep per attribute and manipulator.

For attribute ``a`` (N samples from the evaluation seed): c0 = encoder.measure,
before = evaluator.measure, direction = -1 where before[a] >= threshold else +1,
c1 = c0 with c1[a] = 1 (or 0), after[s] = evaluator.measure(edit_sweep(...)[s]).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from sgfkit.components import EditEvaluation, EditRequest
from sgfkit.errors import ComponentError
from sgfkit.progress import progress_task


def run_evaluation(generator: Any, encoder: Any, evaluator: Any, manipulators: list[Any],
                   config: dict[str, Any]) -> tuple[list[EditEvaluation], list[str]]:
    """Sweep every manipulator over every attribute; returns evaluations and notes on skips."""
    evaluations: list[EditEvaluation] = []
    notes: list[str] = []
    latents = generator.sample_latents(config["samples"], config["seed"])
    c0 = encoder.measure(generator, latents)
    before = evaluator.measure(generator, latents)
    before_np = before.cpu().numpy()
    attributes = list(config["attributes"])
    with progress_task("Evaluation sweeps", total=len(attributes) * len(manipulators)) as task:
        for attribute in attributes:
            eval_index = evaluator.index_of(attribute)
            enc_index = encoder.index_of(attribute)
            direction = torch.where(before[:, eval_index] >= config["threshold"], -1.0, 1.0)
            c1 = c0.clone()
            c1[:, enc_index] = (direction > 0).to(c1.dtype)
            request = EditRequest(latents, c0, c1, [enc_index], None)
            for manipulator in manipulators:
                task.advance()
                try:
                    manipulator.check_target(encoder)
                except ComponentError as err:
                    notes.append(f"{manipulator.label} skipped in the evaluation of '{attribute}': {err}")
                    continue
                strengths = [float(s) for s in manipulator.default_strengths]
                if not strengths:
                    notes.append(f"{manipulator.label} skipped in the evaluation of '{attribute}': "
                                 "it has no strength grid (set 'strengths:' in the recipe)")
                    continue
                swept = manipulator.edit_sweep(request, strengths, generator, encoder)
                after = np.stack([evaluator.measure(generator, lat).cpu().numpy() for lat in swept])
                evaluations.append(EditEvaluation(
                    method=manipulator.label, attribute=attribute, attribute_index=eval_index,
                    names=list(evaluator.names), strengths=strengths, before=before_np, after=after,
                    direction=direction.cpu().numpy()))
    return evaluations, notes
