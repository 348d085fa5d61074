"""Hook implementations of the stylegan2 plugin (torch-free: registrations are lazy strings)."""
from __future__ import annotations


from sgfkit import hookimpl

_NVIDIA_NC = "NVIDIA Source Code License-NC (non-commercial research use)"

#: registry name -> (file name, description, source page, licence); sha256 unknown for all of them
_KNOWN: dict[str, tuple[str, str, str, str]] = {
    "stylegan2-ffhq-1024": (
        "stylegan2-ffhq-1024x1024.pkl",
        "StyleGAN2 config-f, FFHQ 1024 px; NVIDIA's PyTorch pickle (stylegan3 repo)",
        "https://api.ngc.nvidia.com/v2/models/nvidia/research/stylegan2/versions/1/files/stylegan2-ffhq-1024x1024.pkl",
        _NVIDIA_NC),
    "stylegan2-ada-ffhq-1024": (
        "ffhq.pkl",
        "StyleGAN2-ADA, FFHQ 1024 px; stylegan2-ada-pytorch pickle",
        "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained/ffhq.pkl",
        _NVIDIA_NC),
    "stylegan2-ffhq-config-f": (
        "stylegan2-ffhq-config-f.pkl",
        "StyleGAN2 config-f, FFHQ 1024 px; original TensorFlow pickle (read without TensorFlow)",
        "https://nvlabs-fi-cdn.nvidia.com/stylegan2/networks/stylegan2-ffhq-config-f.pkl",
        _NVIDIA_NC),
    "stylegan2-ffhq-config-f-rosinality": (
        "stylegan2-ffhq-config-f.pt",
        "StyleGAN2 config-f, FFHQ 1024 px; rosinality format (convert_weight.py of the TF pickle)",
        "https://github.com/rosinality/stylegan2-pytorch",
        _NVIDIA_NC + "; converted NVlabs weights"),
    "stylegan2-anime-portraits": (
        "2020-01-11-skylion-stylegan2-animeportraits-networksnapshot-024664.pkl",
        "StyleGAN2 anime portraits 512 px (Gwern/Skylion), TensorFlow pickle; ships .xz-compressed: "
        "decompress it. Whether the SGF paper used it is unverified",
        "https://gwern.net/face#stylegan-2",
        "CC-0 per the author's page"),
    "stylegan2-flowers": (
        "stylegan2-flowers.pkl",
        "StyleGAN2 on Oxford 102 Flowers: no public checkpoint is known; train one with "
        "stylegan2-ada-pytorch on the data set and save the snapshot under this name",
        "https://www.robots.ox.ac.uk/~vgg/data/flowers/102/",
        "your own model (data set: research use)"),
}


@hookimpl
def sgfkit_register_generators(register):
    register("stylegan2", "sgfkit_stylegan2.generator:StyleGAN2Generator",
             declaration="sgfkit_stylegan2.declarations:StyleGAN2GeneratorDeclaration",
             summary="StyleGAN2 (NVlabs .pkl, rosinality .pt or state dict), W / W+ / Z spaces")


@hookimpl
def sgfkit_register_weights(register):
    from sgfkit.weights import KnownWeights

    for name, (fname, description, source, licence) in _KNOWN.items():
        register(name, KnownWeights("stylegan2", fname, description, source, licence))
