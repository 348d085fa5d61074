"""Labels given on generated samples: ``sgfkit train-encoder face-attributes --latents FILE --labels labels.csv``.

``FILE`` holds latent codes (.npz / .npy / .pt, read like ``edits.latents``: [N, dim] or [N, num_ws, w_dim]);
``labels.csv`` has a header ``index,<attribute>,...`` and one row per labelled code: its row number in FILE
(0-based) and one score per attribute in [0, 1]. The images are rendered by the named generator (built with
its ``--set generator.KEY=VALUE`` parameters), so the latents must fit that generator's space and sizes.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from sgfkit.errors import SgfkitError
from sgfkit.progress import progress_task
from sgfkit_face_attributes.labelled_images import read_labels


def _rows(indices: list[str], count: int, labels: Path) -> torch.Tensor:
    """The labels' index column as row numbers into a latents file of ``count`` codes."""
    rows = []
    for line, text in enumerate(indices, start=2):
        try:
            row = int(text)
        except ValueError:
            raise SgfkitError(f"{labels}:{line}: index {text!r} is not a row number; the first column names "
                              "the latent's row in the latents file (0-based)") from None
        if not 0 <= row < count:
            raise SgfkitError(f"{labels}:{line}: index {row} is outside the latents file, which holds {count} "
                              f"codes (rows 0..{count - 1})")
        rows.append(row)
    if len(set(rows)) != len(rows):
        raise SgfkitError(f"{labels}: some latents are labelled twice; give each index one row")
    return torch.tensor(rows, dtype=torch.long)


def render_labelled_latents(latents_file: Path, labels: Path, generator: str, generator_params: dict[str, Any],
                            size: int, batch: int, key: str | None = None
                            ) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Render the labelled rows of ``latents_file`` with ``generator``.

    Returns (images uint8 [N, 3, size, size], scores float32 [N, A] in [0, 1], attribute names); renders at
    the generator's resolution are resized (bilinear, antialiased) to ``size``, as the encoder does at use.
    """
    from sgfkit import api
    from sgfkit.latent_files import latents_from_array, read_latent_array

    names, indices, scores = read_labels(labels, key="index")
    array = read_latent_array(latents_file, key, what="latents file", setting="--latents")
    count = 1 if array.ndim == 1 else array.shape[0]
    rows = _rows(indices, count, labels)
    gen = api.get_generator(generator, **generator_params)
    origin = f"--latents {str(latents_file)!r}" + (f" [{key}]" if key else "")
    latents = latents_from_array(array, gen, origin, max_rows=None).index(rows.to(gen.device))
    images = []
    with progress_task(f"Rendering {len(rows)} labelled latents", total=len(rows)) as task:
        for start in range(0, len(rows), batch):
            part = latents.index(slice(start, start + batch))
            with torch.no_grad():
                img = gen.synthesize(part, batch_size=batch).float().cpu()
            if img.shape[-1] != size or img.shape[-2] != size:
                img = F.interpolate(img, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
            images.append((img * 127.5 + 127.5).round().clamp(0, 255).to(torch.uint8))
            task.advance(len(part))
    return torch.cat(images), torch.from_numpy(scores), names
