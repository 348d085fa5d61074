"""The (z, latent, condition) sample set that manipulators learn from.

``latents`` holds the vectors manipulators work in: z for the z space, the (truncated) w for
the w and w+ spaces (w+ edits start from w broadcast over the layers).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from sgfkit.cache import StageCache


@dataclass
class LatentDataset:
    """N samples of a generator, measured by a condition encoder.

    Attributes:
        z: [N, z_dim] float32, the sampled normal latents.
        latents: [N, d] float32, the codes in ``space`` (``"z"`` or ``"w"``).
        conditions: [N, k] float32, ``encoder.measure`` of each sample.
        condition_names: k names, one per condition dimension.
        space: ``"z"`` or ``"w"``.
    """

    z: torch.Tensor
    latents: torch.Tensor
    conditions: torch.Tensor
    condition_names: list[str]
    space: str

    def __len__(self) -> int:
        return int(self.latents.shape[0])

    def save(self, path: str | Path) -> None:
        """Write to a safetensors file (names and space go into its metadata)."""
        from safetensors.torch import save_file
        import json

        save_file(
            {"z": self.z.contiguous().cpu(), "latents": self.latents.contiguous().cpu(),
             "conditions": self.conditions.contiguous().cpu()},
            str(path),
            metadata={"condition_names": json.dumps(self.condition_names), "space": self.space},
        )

    @classmethod
    def load(cls, path: str | Path) -> LatentDataset:
        from safetensors import safe_open
        import json

        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata()
            tensors = {key: f.get_tensor(key) for key in f.keys()}
        return cls(tensors["z"], tensors["latents"], tensors["conditions"],
                   json.loads(meta["condition_names"]), meta["space"])


def sample_dataset(generator, encoder, samples: int, batch_size: int, seed: int) -> LatentDataset:
    """Sample ``samples`` latents of ``generator`` and measure them with ``encoder``, in batches.

    z = ``generator.sample_z(samples, seed)`` [N, z_dim]; latents are z for a z-space recipe and
    the truncated w otherwise (a w+ recipe fits on w); conditions = ``encoder.measure`` [N, k].
    Deterministic given ``seed`` (each batch is seeded from its position, as in a sharded run).
    """
    from sgfkit.shards import measure_batches

    z = generator.sample_z(samples, seed).float().cpu()
    latents, conditions = measure_batches(generator, encoder, z, 0, batch_size, seed)
    return LatentDataset(z, latents, conditions, list(encoder.names), "z" if generator.space == "z" else "w")


def cached_dataset(cache: StageCache, key: str, build: Callable[[], LatentDataset]) -> tuple[LatentDataset, bool]:
    """(dataset, hit): ``<cache>/datasets/<key>.safetensors`` if it is there and intact, else ``build()``
    saved there (atomically, with its checksum); a damaged file is reported in ``cache.notes`` and rebuilt."""
    return cache.get_or_build("datasets", key, build, read={".safetensors": LatentDataset.load},
                              write={".safetensors": lambda dataset, tmp: dataset.save(tmp)})
