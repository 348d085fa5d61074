"""Hook implementations of the stylegan2 plugin (torch-free: registrations are lazy strings)."""
from __future__ import annotations

from typing import Any

from sgfkit import hookimpl

_NVIDIA_NC = "NVIDIA Source Code License-NC (non-commercial research use)"

#: registry name -> (file name, description, source page, licence); sha256 unknown for all of them
_KNOWN: dict[str, tuple[str, str, str, str]] = {
    "stylegan2-ffhq-1024": (
        "stylegan2-ffhq-1024x1024.pkl",
        "StyleGAN2 config-f trained on FFHQ, 1024 px (the paper's face model), NVIDIA's PyTorch "
        "network pickle from the stylegan3 release",
        "https://catalog.ngc.nvidia.com/orgs/nvidia/teams/research/models/stylegan2 "
        "(file: https://api.ngc.nvidia.com/v2/models/nvidia/research/stylegan2/versions/1/files/"
        "stylegan2-ffhq-1024x1024.pkl)",
        _NVIDIA_NC),
    "stylegan2-ada-ffhq-1024": (
        "ffhq.pkl",
        "StyleGAN2-ADA trained on FFHQ, 1024 px (stylegan2-ada-pytorch network pickle)",
        "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/ffhq.pkl",
        _NVIDIA_NC),
    "stylegan2-ffhq-config-f": (
        "stylegan2-ffhq-config-f.pkl",
        "StyleGAN2 config-f trained on FFHQ, 1024 px: the original TensorFlow release (NVlabs/stylegan2), "
        "read directly without TensorFlow",
        "https://nvlabs-fi-cdn.nvidia.com/stylegan2/networks/stylegan2-ffhq-config-f.pkl "
        "(listed in https://github.com/NVlabs/stylegan2)",
        _NVIDIA_NC),
    "stylegan2-ffhq-config-f-rosinality": (
        "stylegan2-ffhq-config-f.pt",
        "StyleGAN2 config-f FFHQ 1024 px converted to rosinality/stylegan2-pytorch format "
        "(the file GANSpace and most reimplementations use)",
        "https://github.com/rosinality/stylegan2-pytorch (README: converted checkpoint, or run "
        "convert_weight.py on NVlabs' stylegan2-ffhq-config-f.pkl)",
        _NVIDIA_NC + "; weights converted from NVlabs/stylegan2"),
    "stylegan2-anime-portraits": (
        "2020-01-11-skylion-stylegan2-animeportraits-networksnapshot-024664.pkl",
        "StyleGAN2 anime portraits 512 px (Gwern/Skylion, Danbooru2019 portraits), TensorFlow snapshot "
        "(distributed .xz-compressed: decompress it first). The SGF paper's exact anime checkpoint is not identified (unverified)",
        "https://gwern.net/face#stylegan-2",
        "CC-0 per the author's page"),
    "stylegan2-flowers": (
        "stylegan2-flowers.pkl",
        "StyleGAN2 trained on Oxford 102 Flowers (the SGF paper's caption setting). The paper's model "
        "was not published: train one with stylegan2-ada-pytorch and save/rename its snapshot to this name",
        "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/ (data) + "
        "https://github.com/NVlabs/stylegan2-ada-pytorch (training code)",
        "your own model (Oxford 102 images: research use)"),
}


def known_weights_for(file_name: str) -> Any:
    """The KnownWeights entry whose file name is ``file_name``, or None."""
    from sgfkit.weights import KnownWeights

    for name, (fname, description, source, licence) in _KNOWN.items():
        if fname == file_name:
            return KnownWeights("stylegan2", fname, description, source, licence)
    return None


@hookimpl
def sgfkit_register_generators(register):
    register("stylegan2", "sgfkit_stylegan2.generator:StyleGAN2Generator",
             summary="StyleGAN2 (NVlabs .pkl, rosinality .pt or state dict), W / W+ / Z spaces")


@hookimpl
def sgfkit_register_weights(register):
    from sgfkit.weights import KnownWeights

    for name, (fname, description, source, licence) in _KNOWN.items():
        register(name, KnownWeights("stylegan2", fname, description, source, licence))
