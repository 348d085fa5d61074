"""Hook implementations of the projectors plugin (torch-free: registrations are lazy strings)."""
from __future__ import annotations

from sgfkit import hookimpl


@hookimpl
def sgfkit_register_projectors(register):
    register("optimize", "sgfkit_projectors.optimize:OptimizeProjector",
             declaration="sgfkit_projectors.declarations:OptimizeProjectorDeclaration",
             summary="optimisation from w_avg (StyleGAN2 projector schedule), w or w+; "
                     "pixel + encoder features, or LPIPS-VGG16 with your VGG16 weights")


@hookimpl
def sgfkit_register_weights(register):
    from sgfkit.weights import KnownWeights

    register("torchvision-vgg16", KnownWeights(
        component="optimize",
        file_name="vgg16-397923af.pth",
        description="torchvision VGG16 (ImageNet) state dict: the LPIPS-VGG16 backbone of the optimize "
                    "projector (distance: lpips-vgg16, vgg16_weights: this file)",
        source="https://download.pytorch.org/models/vgg16-397923af.pth",
        license="BSD-3-Clause (torchvision); ImageNet weights for non-commercial research per ImageNet terms",
    ))
