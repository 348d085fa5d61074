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
from sgfkit.latents import Latents


def sweep_chunk(generator: Any, encoder: Any, evaluator: Any, manipulator: Any, attribute: str,
                latents: Latents, config: dict[str, Any]) -> EditEvaluation | str:
    """One manipulator's strength sweep of one attribute over a chunk of samples, or a note on a skip."""
    try:
        manipulator.check_target(encoder)
    except ComponentError as err:
        return f"{manipulator.label} skipped in the evaluation of '{attribute}': {err}"
    strengths = [float(s) for s in manipulator.default_strengths]
    if not strengths:
        return (f"{manipulator.label} skipped in the evaluation of '{attribute}': "
                "it has no strength grid (set 'strengths:' in the recipe)")
    c0 = encoder.measure(generator, latents)
    before = evaluator.measure(generator, latents)
    eval_index = evaluator.index_of(attribute)
    enc_index = encoder.index_of(attribute)
    direction = torch.where(before[:, eval_index] >= config["threshold"], -1.0, 1.0)
    c1 = c0.clone()
    c1[:, enc_index] = (direction > 0).to(c1.dtype)
    swept = manipulator.edit_sweep(EditRequest(latents, c0, c1, [enc_index], None), strengths, generator, encoder)
    after = np.stack([evaluator.measure(generator, lat).cpu().numpy() for lat in swept])
    return EditEvaluation(method=manipulator.label, attribute=attribute, attribute_index=eval_index,
                          names=list(evaluator.names), strengths=strengths, before=before.cpu().numpy(),
                          after=after, direction=direction.cpu().numpy(), keypoints=evaluator.keypoint_indices())


def join_chunks(chunks: list[EditEvaluation]) -> EditEvaluation:
    """One evaluation from consecutive sample chunks of the same (method, attribute) sweep."""
    first = chunks[0]
    return EditEvaluation(method=first.method, attribute=first.attribute, attribute_index=first.attribute_index,
                          names=first.names, strengths=first.strengths,
                          before=np.concatenate([c.before for c in chunks]),
                          after=np.concatenate([c.after for c in chunks], axis=1),
                          direction=np.concatenate([c.direction for c in chunks]), keypoints=first.keypoints)
