"""Shared helpers: the vector a method edits, and writing an edit back into w+ layers."""
from __future__ import annotations

from collections.abc import Sequence

import torch

from sgfkit.errors import ComponentError
from sgfkit.components import EditRequest
from sgfkit.latents import Latents


def edited_layers(latents: Latents, layers: Sequence[int] | None) -> list[int] | None:
    """The w+ layers an edit may change (all when ``layers`` is None); None for z / w latents."""
    if latents.space != "w+":
        return None
    num_ws = latents.tensor.shape[1]
    chosen = list(range(num_ws)) if layers is None else sorted(int(i) for i in layers)
    if not chosen or any(not 0 <= i < num_ws for i in chosen):
        raise ComponentError(f"edit layers {list(layers or [])} are out of range: the latents have layers 0..{num_ws - 1}")
    return chosen


def working_vector(latents: Latents, layers: Sequence[int] | None) -> torch.Tensor:
    """[N, d]: z / w as they are; for w+ the mean of the edited layers (equal when broadcast from w)."""
    chosen = edited_layers(latents, layers)
    if chosen is None:
        return latents.tensor
    return latents.tensor[:, chosen].mean(dim=1)


def apply_offset(latents: Latents, layers: Sequence[int] | None, offset: torch.Tensor) -> Latents:
    """Add offset [N, d] to z / w, or to the chosen w+ layers only (the others stay bit-identical)."""
    chosen = edited_layers(latents, layers)
    if chosen is None:
        return latents.with_tensor(latents.tensor + offset)
    out = latents.tensor.clone()
    out[:, chosen] = out[:, chosen] + offset[:, None, :]
    return latents.with_tensor(out)


def check_dim(latents: Latents, dim: int, method: str) -> None:
    got = int(latents.tensor.shape[-1])
    if got != dim:
        raise ComponentError(
            f"{method} was fitted on {dim}-d latents but got {got}-d {latents.space} latents; "
            "fit it again on this generator (or load the state fitted for it)")


def target_directions(c0: torch.Tensor, c1: torch.Tensor, dims: Sequence[int]) -> torch.Tensor:
    """[N, len(dims)] sign of the wanted change per targeted dim (0 where c1 == c0)."""
    return torch.sign(c1[:, list(dims)] - c0[:, list(dims)])


def check_linear_request(request: EditRequest, dim: int, condition_names: Sequence[str], method: str) -> None:
    """What a fitted linear method (InterFaceGAN, GANSpace) needs from an edit request.

    Finite latents of the fitted size, conditions of the fitted encoder, at least one targeted dim.
    """
    latents = request.latents
    latents.check_finite(f"{method} input latents")
    check_dim(latents, dim, method)
    if request.c0.shape[1] != len(condition_names):
        raise ComponentError(f"{method} was fitted on {len(condition_names)} conditions but got "
                             f"{request.c0.shape[1]}; use the encoder it was fitted with")
    if not request.target_dims:
        raise ComponentError(f"{method} needs at least one targeted condition (target_dims is empty)")
