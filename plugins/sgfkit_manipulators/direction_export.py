"""Write fitted linear directions in other tools' file layouts (read back by the ``direction`` manipulator).

* ``interfacegan``: one ``boundary_<condition>.npy`` per condition, float32 [1, d], unit norm — the layout
  InterFaceGAN's ``train_boundary.py`` saves and its ``edit.py`` loads.
* ``ganspace``: one ``.npz`` with GANSpace's component-cache keys ``lat_comp`` [C, 1, d] (unit rows),
  ``lat_mean`` [1, d], ``lat_stdev`` [C], and ``act_comp`` / ``act_mean`` / ``act_stdev`` equal to them
  (GANSpace decomposes StyleGAN's w directly, so its "activations" are the latents). ``var_ratio`` is left
  out: sgfkit keeps only the first 20 ratios.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

EXPORT_FORMATS = ("interfacegan", "ganspace")


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "condition"


def write_interfacegan_boundaries(normals: dict[str, torch.Tensor], out_dir: Path) -> list[Path]:
    """``{condition: unit normal [d]}`` -> ``out_dir/boundary_<condition>.npy`` files ([1, d] float32)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for name, normal in normals.items():
        vector = normal.detach().cpu().double().numpy().reshape(1, -1)
        path = out_dir / f"boundary_{slug(name)}.npy"
        np.save(path, (vector / np.linalg.norm(vector)).astype(np.float32))
        files.append(path)
    return files


def write_ganspace_components(comps: torch.Tensor, mean: torch.Tensor, stdev: torch.Tensor, path: Path) -> Path:
    """Unit components [C, d], mean [d], standard deviations [C] -> a GANSpace component cache ``.npz``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    c = comps.detach().cpu().numpy().astype(np.float32)
    lat_comp, lat_mean = c[:, None, :], mean.detach().cpu().numpy().astype(np.float32).reshape(1, -1)
    lat_stdev = stdev.detach().cpu().numpy().astype(np.float32).reshape(-1)
    np.savez_compressed(path, lat_comp=lat_comp, lat_mean=lat_mean, lat_stdev=lat_stdev,
                        act_comp=lat_comp, act_mean=lat_mean, act_stdev=lat_stdev)
    return path
