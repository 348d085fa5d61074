"""The ``optimize`` projector: gradient descent on w / w+ (the StyleGAN2 projector schedule).

Two measured departures from the official projector, both parameters (``init: w_avg`` and
``w_first: 0`` restore it): the start is the nearest of ``init_candidates`` sampled w (and w_avg)
under the distance, and in w+ the first ``w_first`` of the steps keep all layers tied (one w) before
freeing them. On 8 held-out synth-faces (benchmarks/bench_projection.py, 1000 steps, w+) the mean
PSNR went from 27.3 dB (official start) to 41.6 dB and the truth-attribute error from 0.11 to 0.05:
free layers from the start fall into per-layer local minima that no later step leaves.

Per step t = step / steps: Gaussian noise of scale w_std * initial_noise * max(0, 1 - t / noise_ramp)^2
is added to the latents before rendering; the learning rate is lr * ramp with
ramp = min(1, (1 - t) / lr_rampdown) eased by 0.5 - 0.5 cos(pi ramp) and times min(1, t / lr_rampup);
Adam (0.9, 0.999). A generator with per-layer noise inputs (``noise_buffers()``) gets its noise maps
optimised too, with the multi-scale autocorrelation penalty and renormalisation after each step;
images are then projected one at a time (the maps are shared by a batch) and the maps restored
afterwards, since latents carry no noise. Other generators project a whole batch at once: the loss is a
sum of per-image losses and Adam is elementwise, so each image's optimisation is independent.
"""
from __future__ import annotations

import math
import time
from typing import Any

import torch
import torch.nn.functional as F

from sgfkit.components import Generator, Projection, Projector, psnr
from sgfkit.errors import ComponentError
from sgfkit.latents import Latents
from sgfkit_projectors.declarations import OptimizeProjectorDeclaration
from sgfkit_projectors.distances import ImageDistance


def learning_rate(t: float, lr: float, rampdown: float, rampup: float) -> float:
    """The ramped learning rate at progress t in [0, 1]."""
    ramp = min(1.0, (1.0 - t) / rampdown)
    ramp = 0.5 - 0.5 * math.cos(math.pi * ramp)
    return lr * ramp * min(1.0, t / rampup)


def noise_regularization(noises: list[torch.Tensor]) -> torch.Tensor:
    """Sum over maps and scales (down to 8x8) of squared horizontal / vertical autocorrelations."""
    reg = torch.zeros(())
    for noise in noises:
        x = noise[None, None, :, :]
        while True:
            reg = reg + (x * torch.roll(x, 1, dims=3)).mean() ** 2 + (x * torch.roll(x, 1, dims=2)).mean() ** 2
            if x.shape[2] <= 8:
                break
            x = F.avg_pool2d(x, kernel_size=2)
    return reg



class OptimizeProjector(OptimizeProjectorDeclaration, Projector):
    """Optimise w / w+ (and noise maps, when the generator has them) to reproduce images."""

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._distance: ImageDistance | None = None

    # -- distance ---------------------------------------------------------------------------
    @property
    def distance_name(self) -> str:
        name = self.params["distance"]
        if name == "auto":
            return "lpips-vgg16" if self.params["vgg16_weights"] else "pixel-features"
        return name

    def distance(self) -> ImageDistance:
        if self._distance is None:
            if self.distance_name == "lpips-vgg16":
                from sgfkit_projectors.lpips_vgg import LpipsVGG16

                if not self.params["vgg16_weights"]:
                    raise ComponentError("optimize: distance lpips-vgg16 needs vgg16_weights: a torchvision VGG16 "
                                         "state dict (vgg16-397923af.pth); see 'sgfkit weights'")
                self._distance = LpipsVGG16.from_files(self.params["vgg16_weights"])
            else:
                from sgfkit.api import get_condition_encoder
                from sgfkit_projectors.distances import PixelFeatureDistance

                if self.params["feature_weight"] == 0:  # plain pixel L2: no CNN needed
                    self._distance = PixelFeatureDistance(None, 0, 0.0)
                else:
                    enc = get_condition_encoder("face-attributes", config="embedded")
                    self._distance = PixelFeatureDistance(enc.net.backbone, int(enc.meta["input_size"]),
                                                          self.params["feature_weight"])
            self._distance.to(self.device)
        return self._distance

    # -- projection -------------------------------------------------------------------------
    def w_stats(self, generator: Generator) -> tuple[torch.Tensor, float]:
        """(w_avg [w_dim], w_std) from ``stats_samples`` mapped z (seed 123, as the official projector)."""
        z = torch.randn(self.params["stats_samples"], generator.z_dim,
                        generator=torch.Generator().manual_seed(123)).to(generator.device)
        with torch.no_grad():
            w = torch.cat([generator.mapping(part) for part in z.split(1024)])
        avg = w.mean(dim=0)
        return avg, float(((w - avg) ** 2).sum(dim=1).mean().sqrt())

    def project(self, images: torch.Tensor, generator: Generator) -> Projection:
        self.check_inputs(images, generator)
        started = time.perf_counter()
        w_avg, w_std = self.w_stats(generator)
        noise_fn = getattr(generator, "noise_buffers", None)
        noises = list(noise_fn()) if callable(noise_fn) else []
        bs = 1 if noises else self.params["batch_size"]
        dist = self.distance()
        outs, curves = [], []
        for start in range(0, len(images), bs):
            w, curve = self._project_batch(images[start:start + bs].to(generator.device), generator,
                                           w_avg, w_std, noises, dist, seed=self.params["seed"] + start)
            outs.append(w)
            curves.append(curve)
        latents = Latents(torch.cat(outs), self.space)
        recon = generator.synthesize(latents)
        losses = [sum(c[i] * len(o) for c, o in zip(curves, outs)) / len(images) for i in range(len(curves[0]))]
        scores = {"psnr": psnr(recon.cpu(), images.cpu()).tolist()}
        with torch.no_grad():
            scores["distance"] = dist(recon, dist.prepare(images.to(recon))).cpu().tolist()
        info = {"projector": "optimize", "distance": self.distance_name, "steps": self.params["steps"],
                "noise_maps": len(noises), "seconds": time.perf_counter() - started,
                "note": ("pixel L2 + features of the shipped face-attributes CNN (trained on synth-faces): "
                         "perceptual only on the synthetic worlds; for photos use lpips-vgg16")
                if self.distance_name == "pixel-features" else "LPIPS-VGG16 (lpips 0.1 linear layers)"}
        return Projection(latents, recon.cpu(), losses, scores, info)

    def _start(self, target: torch.Tensor, generator: Generator, w_avg: torch.Tensor, dist: ImageDistance,
               prepared: object) -> torch.Tensor:
        """Starting w [N, w_dim]: w_avg, or the nearest of sampled candidates under ``dist``."""
        n = len(target)
        if self.params["init"] == "w_avg":
            return w_avg.expand(n, -1)
        z = torch.randn(self.params["init_candidates"], generator.z_dim,
                        generator=torch.Generator().manual_seed(321)).to(generator.device)
        with torch.no_grad():
            cands = torch.cat([w_avg[None], generator.mapping(z)])
            images = generator.synthesize(Latents(cands, "w"))
            best = torch.full((n,), float("inf"))
            pick = torch.zeros(n, dtype=torch.long)
            for k in range(len(cands)):
                d = dist(images[k:k + 1].expand(n, -1, -1, -1), prepared).cpu()
                better = d < best
                best, pick = torch.where(better, d, best), torch.where(better, torch.tensor(k), pick)
        return cands[pick.to(cands.device)]

    def _project_batch(self, target: torch.Tensor, generator: Generator, w_avg: torch.Tensor, w_std: float,
                       noises: list[torch.Tensor], dist: ImageDistance, seed: int) -> tuple[torch.Tensor, list[float]]:
        p = self.params
        n = len(target)
        shape = (n, generator.w_dim) if self.space == "w" else (n, generator.num_ws, generator.w_dim)
        start = self._start(target, generator, w_avg, dist, prepared := dist.prepare(target))
        if self.space == "w+":
            start = start.unsqueeze(1).expand(shape)
        w_opt = start.detach().clone().requires_grad_(True)
        saved = [b.detach().clone() for b in noises]
        for b in noises:
            b.copy_(torch.randn_like(b))
            b.requires_grad_(True)
        opt = torch.optim.Adam([w_opt, *noises], betas=(0.9, 0.999), lr=p["lr"])
        # one noise stream per image (seeded by its index): results do not depend on the batch size
        gens = [torch.Generator().manual_seed(seed + i) for i in range(n)]
        curve: list[float] = []
        try:
            for step in range(p["steps"]):
                t = step / p["steps"]
                scale = w_std * p["initial_noise"] * max(0.0, 1.0 - t / p["noise_ramp"]) ** 2
                for group in opt.param_groups:
                    group["lr"] = learning_rate(t, p["lr"], p["lr_rampdown"], p["lr_rampup"])
                jitter = torch.stack([torch.randn(shape[1:], generator=g) for g in gens]).to(w_opt) * scale
                if self.space == "w+" and t < p["w_first"]:  # tie the layers: their mean moves
                    tied = w_opt.mean(dim=1, keepdim=True).expand_as(w_opt)
                    ws = tied + jitter
                else:
                    ws = Latents(w_opt + jitter, self.space).to_wplus(generator.num_ws).tensor
                per_image = dist(generator.synthesis(ws), prepared)
                loss = per_image.sum()
                if noises and p["noise_weight"]:
                    loss = loss + p["noise_weight"] * noise_regularization(noises)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if self.space == "w+" and t < p["w_first"]:
                    with torch.no_grad():
                        w_opt.copy_(w_opt.mean(dim=1, keepdim=True).expand_as(w_opt))
                curve.append(float(per_image.detach().mean()))
                with torch.no_grad():
                    for b in noises:
                        b.sub_(b.mean()).div_(b.square().mean().sqrt().clamp_min(1e-8))
        finally:
            with torch.no_grad():
                for b, old in zip(noises, saved):
                    b.requires_grad_(False)
                    b.copy_(old)
        return w_opt.detach(), curve
