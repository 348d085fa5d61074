"""What the ``stylegan2`` generator declares (parameters, recipe checks), importable without torch."""
from __future__ import annotations

from typing import Any, ClassVar

from sgfkit.declarations import GeneratorDeclaration
from sgfkit.params import REQUIRED, Param

#: checkpoint formats the loader reads
FORMATS = ("auto", "nvlabs-pkl", "rosinality", "state-dict")
#: per-layer noise inputs
NOISE_MODES = ("const", "random", "none")
RESOLUTIONS = tuple(2 ** i for i in range(2, 11))
#: params that describe random weights; a checkpoint fixes the architecture instead
RANDOM_INIT_PARAMS = ("resolution", "z_dim", "w_dim", "c_dim", "mapping_layers", "channel_base", "channel_max",
                      "num_fp16_res", "init_seed")


def stray_random_init_params(given: dict[str, Any]) -> list[tuple[str, str]]:
    """Random-init params set (to a non-default value) together with a checkpoint: they would be ignored."""
    if given.get("checkpoint") is None:
        return []
    defaults = StyleGAN2GeneratorDeclaration.params
    return [(key, "applies only with checkpoint: null (random weights); the checkpoint fixes the architecture")
            for key in RANDOM_INIT_PARAMS if key in given and given[key] != defaults[key].default]


class StyleGAN2GeneratorDeclaration(GeneratorDeclaration):
    """StyleGAN2 (NVlabs architecture) loaded from an NVlabs ``.pkl``, a rosinality ``.pt`` or a state dict."""

    params: ClassVar[dict[str, Param]] = {
        "checkpoint": Param(str, REQUIRED, "checkpoint file (NVlabs .pkl, rosinality .pt, or an official-key "
                            "state dict .pt/.pth/.safetensors/.npz), by path or by a known file name "
                            "(see `sgfkit weights`); null builds random weights from the random-init params",
                            nullable=True, path=True),
        "format": Param(str, "auto", "checkpoint format", choices=FORMATS),
        "noise_mode": Param(str, "const", "per-layer noise: the stored constant maps, fresh random maps, or none",
                            choices=NOISE_MODES),
        "fp32": Param(bool, True, "compute every block in fp32; false runs the checkpoint's fp16 blocks in half "
                      "precision on CUDA like the official code (the CPU always uses fp32)"),
        "clamp": Param(bool, True, "clamp images to [-1, 1] (false: raw generator output)"),
        "c_class": Param(int, None, "class label for a conditional network (c_dim > 0)", nullable=True, min=0),
        "conv_clamp": Param(float, None, "override the conv output clamp (NVlabs training configs use 256; "
                            "state dicts and rosinality files carry none)", nullable=True, min=0.0),
        "verify_sha256": Param(bool, False, "check the file against the published sha256 when one is known"),
        # random-init settings, used only with checkpoint: null (tests, benchmarks)
        "resolution": Param(int, 32, "random init: image size", choices=RESOLUTIONS),
        "z_dim": Param(int, 64, "random init: z size", min=1),
        "w_dim": Param(int, 64, "random init: w size", min=1),
        "c_dim": Param(int, 0, "random init: label size (0 = unconditional)", min=0),
        "mapping_layers": Param(int, 8, "random init: mapping layers", min=1),
        "channel_base": Param(int, 1024, "random init: channels = min(channel_base // res, channel_max) "
                              "(32768 for config-f)", min=1),
        "channel_max": Param(int, 64, "random init: widest layer (512 for the released nets)", min=1),
        "num_fp16_res": Param(int, 0, "random init: highest resolutions flagged fp16", min=0),
        "init_seed": Param(int, 0, "random init: seed"),
    }

    @classmethod
    def check_recipe(cls, params: dict[str, Any], recipe: dict[str, Any]) -> list[tuple[str, str]]:
        return super().check_recipe(params, recipe) + stray_random_init_params(params)
