"""The StyleGAN-like latent space shared by the synthetic worlds.

z [N, D] ~ N(0, I) -> fixed, seeded mapping MLP -> w [N, D] -> w+ [N, num_ws, D].
A world reads its scene parameters from *factors*: projections of the per-group mean of w+
(coarse / middle / fine layers) onto fixed random directions, standardised with statistics
measured on the untruncated w distribution, so a factor is ~N(0, 1)-ish and 0 at w_avg.
Because each factor reads one layer group only, a w+ edit restricted to a group changes only
the scene parameters computed from that group.
"""
from __future__ import annotations

import math

import torch

#: number of z samples used to measure w_avg and the factor statistics
STATS_SAMPLES = 8192


def layer_groups(num_ws: int) -> dict[str, list[int]]:
    """Split ``num_ws`` layers into coarse (~40 %), middle (~30 %) and fine (the rest)."""
    n_coarse = max(1, round(0.4 * num_ws))
    n_middle = max(1, round(0.3 * num_ws))
    return {
        "coarse": list(range(0, n_coarse)),
        "middle": list(range(n_coarse, n_coarse + n_middle)),
        "fine": list(range(n_coarse + n_middle, num_ws)),
    }


class MappingNetwork(torch.nn.Module):
    """Fixed random MLP z [N, D] -> w [N, D]: pixel norm, then ``depth`` leaky-ReLU layers.

    The weights come from ``seed`` alone (drawn on the CPU), so every machine builds the same net.
    """

    def __init__(self, dim: int, depth: int = 4, seed: int = 0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(int(seed))
        gain = math.sqrt(2.0 / (1.0 + 0.2 ** 2))
        weights = [torch.randn(dim, dim, generator=gen) * gain / math.sqrt(dim) for _ in range(depth)]
        biases = [torch.randn(dim, generator=gen) * 0.1 for _ in range(depth)]
        self.register_buffer("weights", torch.stack(weights))  # [depth, D, D]
        self.register_buffer("biases", torch.stack(biases))    # [depth, D]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = z * torch.rsqrt(z.pow(2).mean(dim=1, keepdim=True) + 1e-8)
        for i in range(self.weights.shape[0]):
            x = torch.nn.functional.leaky_relu(x @ self.weights[i] + self.biases[i], 0.2)
        return x


class FactorReader(torch.nn.Module):
    """Reads named, standardised factors of each layer group out of w+.

    ``factors[group]`` lists factor names; each name gets its own random unit direction in
    w space (shared between groups when a name appears in several, which is how a world makes
    e.g. ``masculinity`` drive both a coarse and a middle attribute in a correlated way).
    """

    def __init__(self, dim: int, groups: dict[str, list[int]], factors: dict[str, list[str]],
                 seed: int) -> None:
        super().__init__()
        self.groups = groups
        self.factor_names = {g: list(names) for g, names in factors.items()}
        all_names = sorted({n for names in factors.values() for n in names})
        gen = torch.Generator().manual_seed(int(seed) + 7919)
        dirs = torch.randn(len(all_names), dim, generator=gen)
        # orthonormal directions (QR) so different factors are uncorrelated in w
        q, _ = torch.linalg.qr(dirs.T)
        self.direction_index = {n: i for i, n in enumerate(all_names)}
        self.register_buffer("directions", q.T.contiguous())  # [F, D]
        self.register_buffer("mean", torch.zeros(len(all_names)))
        self.register_buffer("std", torch.ones(len(all_names)))
        for g, names in self.factor_names.items():
            self.register_buffer(f"sel_{g}", torch.tensor([self.direction_index[n] for n in names], dtype=torch.long))

    def calibrate(self, w: torch.Tensor) -> None:
        """Whiten the factors on untruncated w [M, D]: zero mean, unit variance, uncorrelated.

        The mapping MLP makes w anisotropic, so raw projections on orthonormal directions are
        correlated; ZCA whitening (directions <- C^-1/2 directions) removes that, leaving only the
        correlations a world builds in on purpose. Double precision keeps the result stable.
        """
        w64, dirs = w.double(), self.directions.double()
        proj = w64 @ dirs.T
        cov = torch.cov(proj.T)
        evals, evecs = torch.linalg.eigh(cov)
        whiten = evecs @ torch.diag(evals.clamp_min(1e-9).rsqrt()) @ evecs.T
        new_dirs = whiten @ dirs                     # [F, D]
        self.directions.copy_(new_dirs.float())
        self.mean.copy_((w64 @ new_dirs.T).mean(dim=0).float())
        self.std.fill_(1.0)

    def forward(self, ws: torch.Tensor) -> dict[str, torch.Tensor]:
        """w+ [N, num_ws, D] -> {factor name: [N]} per group, as ``{group: {name: [N]}}`` flattened
        to keys ``"group.name"``."""
        out: dict[str, torch.Tensor] = {}
        for g, layers in self.groups.items():
            names = self.factor_names.get(g, [])
            if not names:
                continue
            sel = getattr(self, f"sel_{g}")
            w_g = ws[:, layers[0]:layers[-1] + 1].mean(dim=1)  # groups are contiguous ranges
            proj = (w_g @ self.directions[sel].T - self.mean[sel]) / self.std[sel]
            for i, n in enumerate(names):
                out[f"{g}.{n}"] = proj[:, i]
        return out
