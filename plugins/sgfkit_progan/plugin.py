"""Hook implementations of the progan plugin (torch-free: registrations are lazy strings)."""
from __future__ import annotations

from sgfkit import hookimpl
from sgfkit.weights import KnownWeights

KNOWN_WEIGHTS: dict[str, KnownWeights] = {
    "progan-celebahq-1024-interfacegan": KnownWeights(
        component="progan",
        file_name="pggan_celebahq.pth",
        description="ProGAN CelebA-HQ 1024 px: NVIDIA's karras2018iclr-celebahq-1024x1024.pkl "
                    "(github.com/tkarras/progressive_growing_of_gans) as converted by InterFaceGAN, "
                    "which writes this plain state dict on first use",
        source="https://github.com/genforce/interfacegan",
        license="CC BY-NC 4.0 (NVIDIA network weights)",
    ),
    "progan-celebahq-256-ganzoo": KnownWeights(
        component="progan",
        file_name="celebaHQ_s6_i80000-6196db68.pth",
        description="pytorch_GAN_zoo PGAN CelebA-HQ 256 px (torch.hub 'celebAHQ-256'; avgG is used)",
        source="https://dl.fbaipublicfiles.com/gan_zoo/PGAN/celebaHQ_s6_i80000-6196db68.pth",
        license="BSD-3-Clause (pytorch_GAN_zoo)",
    ),
    "progan-celebahq-512-ganzoo": KnownWeights(
        component="progan",
        file_name="celebaHQ16_december_s7_i96000-9c72988c.pth",
        description="pytorch_GAN_zoo PGAN CelebA-HQ 512 px (torch.hub 'celebAHQ-512'; avgG is used)",
        source="https://dl.fbaipublicfiles.com/gan_zoo/PGAN/celebaHQ16_december_s7_i96000-9c72988c.pth",
        license="BSD-3-Clause (pytorch_GAN_zoo)",
    ),
}


@hookimpl
def sgfkit_register_generators(register):
    register("progan", "sgfkit_progan.generator:ProGANGenerator",
             declaration="sgfkit_progan.declarations:ProGANGeneratorDeclaration",
             summary="ProGAN (Z space): InterFaceGAN pggan_celebahq.pth or pytorch_GAN_zoo PGAN checkpoints")


@hookimpl
def sgfkit_register_weights(register):
    for name, known in KNOWN_WEIGHTS.items():
        register(name, known)
