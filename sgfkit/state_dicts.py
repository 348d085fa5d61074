"""Loading a checkpoint's tensors into our own modules with errors that name every mismatch."""
from __future__ import annotations

from pathlib import Path

import torch

from sgfkit.errors import WeightsError


def load_state_checked(model: torch.nn.Module, state: dict[str, torch.Tensor], path: str | Path, what: str,
                       optional: tuple[str, ...] = ()) -> None:
    """Load ``state`` into ``model`` or raise :class:`WeightsError` naming the file and the problem.

    Every missing key (except those ending in one of the ``optional`` suffixes), unexpected key and
    shape mismatch is reported (the first six of each); tensors are cast to the model's dtypes.
    """
    expected = model.state_dict()
    missing = [k for k in expected if k not in state and not (optional and k.endswith(optional))]
    unexpected = [k for k in state if k not in expected]
    shapes = [f"{k}: file {list(state[k].shape)} vs model {list(v.shape)}"
              for k, v in expected.items() if k in state and tuple(state[k].shape) != tuple(v.shape)]
    problems = []
    if missing:
        problems.append(f"missing keys {missing[:6]}{' ...' if len(missing) > 6 else ''}")
    if unexpected:
        problems.append(f"unexpected keys {unexpected[:6]}{' ...' if len(unexpected) > 6 else ''}")
    if shapes:
        problems.append("shape mismatches " + "; ".join(shapes[:6]))
    if problems:
        raise WeightsError(f"{path}: does not fit the {what}: " + "; ".join(problems))
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()}, strict=not optional)
