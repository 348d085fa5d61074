"""Train the ``anime-keypoints`` regressor on synth-faces renders generated here.

The training set is rendered once, in large batches (rendering per step costs more than the
step): latents drawn with seeded chunks, truncated with a psi drawn per sample in
``[truncation, truncation_max]`` (so the encoder also sees the less typical faces that edits
produce), labelled with the exact truth (landmarks in pixels, attributes in [0, 1]).
The held-out report uses separate seeds at ``truncation`` exactly (the recipes' setting).
Weights: safetensors (tensors + JSON metadata) plus a readable ``.json`` beside it.
"""
from __future__ import annotations

import math
import platform
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from sgfkit.errors import ComponentError
from sgfkit.latents import Latents
from sgfkit.progress import progress_task
from sgfkit.shipped_weights import module_tensors, optimizer_step, save_weights
from sgfkit.threads import torch_threads
from sgfkit_anime.landmark_net import LandmarkNet, LandmarkNetConfig, normalised_to_pixels

#: seed offset of the held-out set (training chunks use data_seed * 1_000_003 + chunk index)
HELDOUT_SEED_OFFSET = 777_777
#: attribute targets are clamped to [eps, 1 - eps] before taking their logit
ATTR_EPS = 0.01


def synth_faces_world(resolution: int, world_seed: int = 0, latent_dim: int = 128):
    """(generator, truth encoder) of the synth-faces world."""
    try:
        from sgfkit_synthetic import SynthFaces, SynthFacesTruth
    except ImportError:  # older layouts export them from their modules only
        from sgfkit_synthetic.faces import SynthFaces
        from sgfkit_synthetic.truth import SynthFacesTruth

    return SynthFaces(resolution=resolution, world_seed=world_seed, latent_dim=latent_dim), SynthFacesTruth()


def render_batch(generator, truth, n: int, seed: int, psi_low: float, psi_high: float
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """images [n, 3, R, R], landmarks [n, L, 2] (px), attributes [n, A] for seeded latents."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, generator.z_dim, generator=gen)
    psi = psi_low + (psi_high - psi_low) * torch.rand(n, 1, generator=gen)
    with torch.no_grad():
        w = generator.mapping(z)
        avg = generator.w_avg.to(w)
        latents = Latents(avg + psi * (w - avg), "w")
        images = generator.synthesize(latents, batch_size=n)
        c = truth.measure(generator, latents, batch_size=n)
    num_attr = len(truth.attribute_names)
    return images, c[:, num_attr:].reshape(n, -1, 2), c[:, :num_attr]


def render_training_set(generator, truth, samples: int, data_seed: int, psi_low: float, psi_high: float,
                        chunk: int = 500) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Render the training set once, in large batches (much faster than per step).

    Returns images [S, 3, R, R] float16, landmarks [S, L, 2] px, attributes [S, A]; chunk ``k`` uses
    the seed ``data_seed * 1_000_003 + k``.
    """
    images, points, attrs = [], [], []
    with progress_task("Rendering anime-keypoints training set", total=samples) as task:
        for k, start in enumerate(range(0, samples, chunk)):
            n = min(chunk, samples - start)
            im, pt, at = render_batch(generator, truth, n, data_seed * 1_000_003 + k, psi_low, psi_high)
            images.append(im.half())
            points.append(pt)
            attrs.append(at)
            task.advance(n)
    return torch.cat(images), torch.cat(points), torch.cat(attrs)


def evaluate(net: LandmarkNet, generator, truth, samples: int, seed: int, truncation: float,
             attribute_index: list[int], batch_size: int = 250) -> dict[str, Any]:
    """Held-out landmark error (mean Euclidean px per point) and attribute mean absolute error."""
    net.eval()
    size = generator.resolution
    errs, abs_errs = [], []
    with torch.no_grad():
        for start in range(0, samples, batch_size):
            n = min(batch_size, samples - start)
            images, points, attrs = render_batch(generator, truth, n, seed + start, truncation, truncation)
            coords, logits = net(resize_to(images, net.config.input_size))
            errs.append((normalised_to_pixels(coords, size) - points).norm(dim=2))
            abs_errs.append((torch.sigmoid(logits) - attrs[:, attribute_index]).abs())
    err, mae = torch.cat(errs), torch.cat(abs_errs)
    attr_names = [truth.attribute_names[i] for i in attribute_index]
    return {
        "samples": samples, "truncation": truncation, "resolution": size,
        "landmark_error_px": round(float(err.mean()), 4),
        "landmark_error_px_p95": round(float(err.flatten().quantile(0.95)), 4),
        "landmark_error_px_per_point": {p: round(float(v), 4) for p, v in zip(truth.landmark_names, err.mean(0))},
        "attribute_mae": round(float(mae.mean()), 4),
        "attribute_mae_per_attribute": {a: round(float(v), 4) for a, v in zip(attr_names, mae.mean(0))},
    }


def resize_to(images: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear resize (anti-aliased when shrinking) to ``size`` x ``size``; no-op when equal."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    shrink = images.shape[-1] > size
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink)


def train_keypoint_regressor(output: Path, *, steps: int, batch_size: int, lr: float, width: int, hidden: int,
                             resolution: int, truncation: float, truncation_max: float, data_seed: int,
                             heldout_samples: int, attribute_weight: float, threads: int, dataset_samples: int,
                             attributes: list[str] | None, world_seed: int = 0,
                             command: str | None = None) -> dict[str, Any]:
    """Train, evaluate on held-out renders, save ``output`` (.safetensors) + ``output.json``; return the report."""
    if truncation_max < truncation:
        raise ComponentError(f"truncation_max ({truncation_max}) must be >= truncation ({truncation})")
    with torch_threads(threads):
        torch.manual_seed(data_seed)
        generator, truth = synth_faces_world(resolution, world_seed)
        names = list(truth.attribute_names)
        chosen = list(attributes) if attributes else names
        unknown = [a for a in chosen if a not in names]
        if unknown:
            raise ComponentError(f"unknown synth-faces attributes {unknown}; known: {', '.join(names)}")
        attribute_index = [names.index(a) for a in chosen]
        config = LandmarkNetConfig(num_points=len(truth.landmark_names), num_attributes=len(chosen),
                                   input_size=resolution, width=width, hidden=hidden)
        net = LandmarkNet(config)
        opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
        warmup = max(1, steps // 20)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
        started = time.perf_counter()
        images_all, points_all, attrs_all = render_training_set(
            generator, truth, dataset_samples, data_seed, truncation, truncation_max)
        attrs_all = attrs_all[:, attribute_index]
        render_seconds = time.perf_counter() - started
        order = torch.Generator().manual_seed(data_seed)
        losses: list[float] = []
        with progress_task("Training anime-keypoints", total=steps) as task:
            for step in range(steps):
                net.train()
                pick = torch.randint(0, dataset_samples, (batch_size,), generator=order)
                images, points, attrs = images_all[pick].float(), points_all[pick], attrs_all[pick]
                coords, logits = net(images)
                # loss in pixel units so the target (px error) is what is optimised
                pred_px = normalised_to_pixels(coords, resolution)
                # attributes are regressed in logit space: the truth scores are sigmoids of smooth
                # factors, and BCE against soft targets gives the trunk too weak a signal
                loss = F.smooth_l1_loss(pred_px, points, beta=0.5) + attribute_weight * \
                    F.smooth_l1_loss(logits, torch.logit(attrs.clamp(ATTR_EPS, 1 - ATTR_EPS)), beta=0.5)
                losses.append(optimizer_step(loss, opt, schedule))
                task.advance()
                if step % 25 == 0:
                    task.update(loss=round(losses[-1], 4))
        train_seconds = time.perf_counter() - started
        report = evaluate(net, generator, truth, heldout_samples, data_seed * 1_000_003 + HELDOUT_SEED_OFFSET,
                          truncation, attribute_index)
    report.update({"render_seconds": round(render_seconds, 1), "train_seconds": round(train_seconds, 1),
                   "final_loss": round(losses[-1], 4),
                   "loss_curve": [round(v, 4) for v in losses[:: max(1, steps // 40)]]})
    meta = {
        "format": "sgfkit-anime-keypoints/1",
        "config": config.as_dict(),
        "landmark_names": list(truth.landmark_names),
        "attribute_names": chosen,
        "world": {"type": "synth-faces", "resolution": resolution, "world_seed": world_seed, "latent_dim": 128},
        "training": {"steps": steps, "batch_size": batch_size, "lr": lr, "truncation": truncation,
                     "truncation_max": truncation_max, "data_seed": data_seed, "attribute_weight": attribute_weight,
                     "dataset_samples": dataset_samples,
                     "threads": threads, "torch": torch.__version__, "python": platform.python_version()},
        "command": command or "",
        "heldout": report,
    }
    save_weights(output, module_tensors(net), meta)
    return report
