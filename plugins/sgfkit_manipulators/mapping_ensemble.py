"""An ensemble of auxiliary mappings: F(u, c) = mean_k F_k(u, c) over K independently trained F.

Why: SGF's step is a derivative of F, ``(I - dF/du)^-1 dF/dc dc``, and a derivative of a fitted
network carries the noise of its initialisation and batches even where the fit itself is good (K
fits of the same data reach the same held-out R^2 but step in visibly different directions). The
mean of K fits keeps what they agree on. The mean is itself an F: it is a per-sample function of
(u, c), its Jacobian in u is the mean of the members' Jacobians, so with contractive members
``||dF/du|| <= max_k kappa_k < 1`` still holds for every input, and every solver and diagnostic
works on it unchanged.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

#: key prefix of member k's tensors in a saved state ("m0.linears.0.weight", ...)
PREFIX = "m{}."


class MappingEnsemble:
    """The mean of frozen mappings that share latent and condition sizes (a FrozenContractiveMapping or
    FrozenAuxMapping each)."""

    def __init__(self, members: Sequence[Any]) -> None:
        if not members:
            raise ValueError("an ensemble needs at least one mapping")
        shapes = {(m.latent_dim, m.cond_dim, m.num_layers, type(m)) for m in members}
        if len(shapes) != 1:
            raise ValueError(f"ensemble members differ in latent size, condition size, depth or kind: {shapes}")
        self.members = list(members)
        first = self.members[0]
        self.latent_dim, self.cond_dim, self.num_layers = first.latent_dim, first.cond_dim, first.num_layers

    def __len__(self) -> int:
        return len(self.members)

    def __call__(self, u: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """u [B, d], c [B, k] -> [B, d], the members' mean."""
        total = self.members[0](u, c)
        for member in self.members[1:]:
            total = total + member(u, c)
        return total / len(self.members)

    @property
    def tensors(self) -> dict[str, torch.Tensor]:
        """Every member's tensors, keys prefixed ``m<k>.`` (for saving)."""
        return {PREFIX.format(i) + key: value for i, m in enumerate(self.members) for key, value in m.tensors.items()}

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor], size: int, frozen: type, num_layers: int) -> MappingEnsemble:
        """Rebuild ``size`` members of class ``frozen`` from :attr:`tensors`."""
        members = []
        for i in range(size):
            prefix = PREFIX.format(i)
            part = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
            if not part:
                raise ValueError(f"the saved SGF state has no tensors for ensemble member {i} (keys {prefix}*)")
            members.append(frozen(part, num_layers))
        return cls(members)

    def lipschitz_bound(self) -> float | None:
        """Upper bound of ||dF/du||_2 over all inputs: the largest member bound (a mean of Jacobians
        has norm at most the mean of their norms); None when the members have no bound (the paper's F)."""
        if not all(hasattr(m, "lipschitz_bound") for m in self.members):
            return None
        return max(m.lipschitz_bound() for m in self.members)

    def to(self, device: torch.device | str) -> MappingEnsemble:
        self.members = [m.to(device) for m in self.members]
        return self

    @property
    def device(self) -> torch.device:
        return self.members[0].device
