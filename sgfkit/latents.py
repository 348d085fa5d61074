"""Latent codes tagged with their space, and layer masks for w+ edits.

Shapes: ``z`` [N, z_dim] ~ N(0, I); ``w`` [N, w_dim]; ``w+`` [N, num_ws, w_dim].
A ``w`` broadcasts to ``w+``; a layer-restricted edit is a boolean mask over the num_ws axis.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from sgfkit.errors import ComponentError, did_you_mean

SPACES = ("z", "w", "w+")

LayerSpec = None | str | Sequence[int]


@dataclass
class Latents:
    """A batch of latent codes and the space they live in."""

    tensor: torch.Tensor
    space: str

    def __post_init__(self) -> None:
        if self.space not in SPACES:
            raise ComponentError(f"unknown latent space {self.space!r}; use one of {', '.join(SPACES)}."
                                 + did_you_mean(self.space, SPACES))
        want = 3 if self.space == "w+" else 2
        if self.tensor.dim() != want:
            raise ComponentError(
                f"{self.space} latents must have {want} dimensions "
                f"({'[N, num_ws, w_dim]' if want == 3 else '[N, dim]'}), got shape {list(self.tensor.shape)}")

    def __len__(self) -> int:
        return int(self.tensor.shape[0])

    @property
    def device(self) -> torch.device:
        return self.tensor.device

    def with_tensor(self, tensor: torch.Tensor) -> Latents:
        """Same space, new values."""
        return Latents(tensor, self.space)

    def index(self, idx: torch.Tensor | slice | Sequence[int]) -> Latents:
        """Rows ``idx`` of the batch."""
        return Latents(self.tensor[idx], self.space)

    def to(self, device: torch.device | str) -> Latents:
        return Latents(self.tensor.to(device), self.space)

    def detach(self) -> Latents:
        return Latents(self.tensor.detach(), self.space)

    def clone(self) -> Latents:
        return Latents(self.tensor.clone(), self.space)

    def to_wplus(self, num_ws: int) -> Latents:
        """Broadcast ``w`` to ``w+`` ([N, num_ws, w_dim]); ``w+`` is returned unchanged."""
        if self.space == "w+":
            if self.tensor.shape[1] != num_ws:
                raise ComponentError(f"w+ latents have {self.tensor.shape[1]} layers, the generator expects {num_ws}")
            return self
        if self.space == "z":
            raise ComponentError("z latents must go through the generator's mapping before they become w+")
        return Latents(self.tensor.unsqueeze(1).expand(-1, num_ws, -1).contiguous(), "w+")

    def nonfinite_rows(self) -> torch.Tensor:
        """Bool [N]: rows holding a NaN or an infinity."""
        flat = self.tensor.reshape(len(self), -1)
        return ~torch.isfinite(flat).all(dim=1)

    def check_finite(self, what: str = "latents") -> None:
        """Raise :class:`ComponentError` naming the rows that hold NaN/inf values."""
        bad = self.nonfinite_rows()
        if bool(bad.any()):
            rows = bad.nonzero().flatten().tolist()
            shown = ", ".join(map(str, rows[:10])) + (" ..." if len(rows) > 10 else "")
            raise ComponentError(
                f"{what} contain NaN or infinite values in {len(rows)} of {len(self)} samples (rows {shown}); "
                "check the edit step size or the inputs that produced them")

    @staticmethod
    def cat(items: Sequence[Latents]) -> Latents:
        spaces = {item.space for item in items}
        if len(spaces) != 1:
            raise ComponentError(f"cannot concatenate latents of different spaces: {sorted(spaces)}")
        return Latents(torch.cat([item.tensor for item in items]), items[0].space)


def resolve_layers(spec: LayerSpec, num_ws: int, groups: dict[str, list[int]] | None = None) -> list[int]:
    """Turn a layer spec into sorted layer indices.

    ``spec`` is ``None`` (all layers), a list of indices, a named group of the generator
    (e.g. ``"coarse"``, ``"fine"``), or a Python-style range string ``"start:end"`` (end exclusive).
    """
    groups = groups or {}
    if spec is None or spec == "all":
        return list(range(num_ws))
    if spec == "auto":
        raise ComponentError("layers: auto is chosen per run from a measured layer map (the edits stage of "
                             "`sgfkit run`); here give the layers: a group, a list of indices or 'start:end'")
    if isinstance(spec, str):
        if spec in groups:
            return sorted(groups[spec])
        if ":" in spec:
            start, _, end = spec.partition(":")
            try:
                layers = list(range(int(start or 0), int(end) if end else num_ws))
            except ValueError:
                layers = []
            if layers and all(0 <= i < num_ws for i in layers):
                return layers
        names = sorted(groups) + ["all"]
        raise ComponentError(
            f"unknown layer selection {spec!r}; use a group ({', '.join(names)}), a list of indices, "
            f"or 'start:end' within 0:{num_ws}." + did_you_mean(spec, names))
    layers = sorted({int(i) for i in spec})
    bad = [i for i in layers if not 0 <= i < num_ws]
    if bad or not layers:
        raise ComponentError(f"layer indices {bad or '[]'} are out of range: the generator has layers 0..{num_ws - 1}")
    return layers

