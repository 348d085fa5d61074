"""What the ``progan`` generator declares (parameters), importable without torch."""
from __future__ import annotations

from typing import ClassVar

from sgfkit.declarations import GeneratorDeclaration
from sgfkit.params import Param

#: the InterFaceGAN CelebA-HQ release, looked up in the weights folders
DEFAULT_CHECKPOINT = "pggan_celebahq.pth"
#: checkpoint formats the loader reads
FORMATS = ("auto", "interfacegan", "ganzoo")


class ProGANGeneratorDeclaration(GeneratorDeclaration):
    """Progressive GAN generator working in Z space only."""

    spaces: ClassVar[tuple[str, ...]] = ("z",)

    params: ClassVar[dict[str, Param]] = {
        "space": Param(str, "z", "latent space (ProGAN has only z)", choices=("z",)),
        "checkpoint": Param(str, DEFAULT_CHECKPOINT,
                            "checkpoint file: InterFaceGAN pggan_celebahq.pth or a pytorch_GAN_zoo PGAN .pth; "
                            "null builds a randomly initialised network (tests, benchmarks)", nullable=True, path=True),
        "format": Param(str, "auto", "checkpoint format", choices=FORMATS),
        "verify_sha256": Param(bool, False, "check the file against the published sha256 when known"),
        "clamp": Param(bool, True, "clamp images to [-1, 1] (InterFaceGAN's postprocessing)"),
        "normalize_z": Param(bool, True, "rescale z to norm sqrt(z_dim) before the network, like InterFaceGAN"),
        # random-init settings, used only with checkpoint: null
        "resolution": Param(int, 32, "random init: image size", choices=(8, 16, 32, 64, 128, 256, 512, 1024)),
        "z_dim": Param(int, 64, "random init: latent size", min=1),
        "channels": Param(list, None, "random init: width per block (4 px first)", nullable=True, item_type=int),
        "architecture": Param(str, "interfacegan", "random init: which layout", choices=("interfacegan", "ganzoo")),
        "init_seed": Param(int, 0, "random init: seed"),
    }
