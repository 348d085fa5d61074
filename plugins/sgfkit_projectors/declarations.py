"""What the ``optimize`` projector declares (parameters), importable without torch."""
from __future__ import annotations

from typing import ClassVar

from sgfkit.declarations import ProjectorDeclaration
from sgfkit.params import Param


class OptimizeProjectorDeclaration(ProjectorDeclaration):
    """Optimise w / w+ (and noise maps, when the generator has them) to reproduce images."""

    params: ClassVar[dict[str, Param]] = {
        "steps": Param(int, 1000, "optimisation steps (as the official projector)", min=1),
        "lr": Param(float, 0.1, "peak learning rate", min=0.0),
        "lr_rampdown": Param(float, 0.25, "fraction of the run over which the rate eases to 0", min=1e-6, max=1.0),
        "lr_rampup": Param(float, 0.05, "fraction of the run over which the rate ramps up", min=1e-6, max=1.0),
        "initial_noise": Param(float, 0.05, "latent noise at the start, in units of w_std", min=0.0),
        "noise_ramp": Param(float, 0.75, "fraction of the run over which latent noise fades out", min=1e-6),
        "noise_weight": Param(float, 1e5, "weight of the noise-map regularisation (generators with noise)", min=0.0),
        "distance": Param(str, "auto", "auto (lpips-vgg16 when vgg16_weights is set, else pixel-features), "
                          "pixel-features (pixel L2 + the shipped face-attributes CNN features), lpips-vgg16",
                          choices=("auto", "pixel-features", "lpips-vgg16")),
        "feature_weight": Param(float, 0.05, "pixel-features: weight of the feature term", min=0.0),
        "vgg16_weights": Param(str, None, "lpips-vgg16: torchvision VGG16 state dict (vgg16-397923af.pth)",
                               nullable=True, path=True),
        "stats_samples": Param(int, 10000, "mapped z samples for w_avg / w_std", min=2),
        "batch_size": Param(int, 16, "images optimised together", min=1),
        "seed": Param(int, 0, "seed of the latent noise"),
        "init": Param(str, "nearest", "start: w_avg (official) or nearest: the closest of init_candidates "
                      "sampled w (and w_avg) under the distance, which escapes local minima far from w_avg",
                      choices=("w_avg", "nearest")),
        "init_candidates": Param(int, 256, "init nearest: sampled w to choose from", min=1),
        "w_first": Param(float, 0.3, "w+ only: fraction of the steps spent in w (one code for every layer) "
                         "before the layers are freed; coarse structure first avoids per-layer local minima",
                         min=0.0, max=1.0),
    }
