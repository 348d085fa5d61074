"""TensorFlow-era StyleGAN2 pickles (NVlabs/stylegan2 ``*.pkl``: a (G, D, Gs) tuple of tflib Networks).

Each ``dnnlib.tflib.network.Network`` pickles its state as a plain dict: ``static_kwargs``,
``components`` (nested Networks: ``mapping``, ``synthesis``), ``variables`` [(name, ndarray)] and the
TF build source (never executed, never even imported here). The variables of ``Gs`` are renamed to
the official PyTorch layout with the transforms NVlabs' conversion uses: dense weights transposed,
conv weights [kh, kw, I, O] -> [O, I, kh, kw] (``Conv0_up`` flipped spatially first), ``mod_bias + 1``
(TF adds the 1 at run time), noise maps ``noise{k}`` assigned by layer index.
"""
from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import torch

from sgfkit.errors import WeightsError


class TFNetwork:
    """Stand-in for ``dnnlib.tflib.network.Network``: keeps the pickled state dict, nothing else."""

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict):
            raise WeightsError("a TensorFlow Network in this pickle has a malformed state")
        self.state = state

    def collect_variables(self, prefix: str = "") -> dict[str, np.ndarray]:
        """Every variable of this network and its components, named ``component/.../name``."""
        out: dict[str, np.ndarray] = {}
        for item in self.state.get("variables") or []:
            name, value = item
            out[prefix + str(name)] = np.asarray(value)
        for name, comp in dict(self.state.get("components") or {}).items():
            if isinstance(comp, TFNetwork):
                out.update(comp.collect_variables(f"{prefix}{name}/"))
        return out


#: static kwargs that do not change the generator's forward maths (or that the tensor shapes carry)
_HARMLESS_KWARGS = {"num_channels", "resolution", "label_size", "fmap_base", "fmap_decay", "fmap_min", "fmap_max",
                    "latent_size", "dlatent_size", "mapping_layers", "mapping_fmaps", "mapping_lrmul",
                    "mapping_nonlinearity", "nonlinearity", "truncation_psi", "truncation_cutoff",
                    "truncation_psi_val", "truncation_cutoff_val", "dlatent_avg_beta", "style_mixing_prob",
                    "randomize_noise", "is_template_graph", "components", "dtype", "fused_modconv",
                    "use_noise", "architecture", "resample_kernel", "is_training", "return_dlatents",
                    "num_fp16_res", "conv_clamp", "structure", "label_fmaps", "w_avg_beta"}


#: TF layer scope -> official layer name inside a block ("Conv" is the 4x4 block's only conv)
_TF_LAYERS = {"Conv": "conv1", "Conv0_up": "conv0", "Conv1": "conv1", "ToRGB": "torgb"}


def _layer_of_noise(k: int) -> str:
    if k == 0:
        return "synthesis.b4.conv1"
    res = 2 ** ((k + 5) // 2)
    return f"synthesis.b{res}.conv{0 if k % 2 == 1 else 1}"


def convert_tf_generator(gs: TFNetwork, source: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Gs -> (official state dict, info). Raises for architectures other than config-e/f 'skip'."""
    kwargs = dict(gs.state.get("static_kwargs") or {})
    tf = gs.collect_variables()
    problems = []
    if any("ToRGB_lod" in k for k in tf) or kwargs.get("architecture", "skip") != "skip":
        problems.append(f"architecture {kwargs.get('architecture', 'orig')!r} (only 'skip' is implemented)")
    if any("/Skip/" in k for k in tf):
        problems.append("a resnet generator (only 'skip' is implemented)")
    if int(kwargs.get("label_size") or 0) > 0:
        problems.append("a conditional TensorFlow generator (label_size > 0)")
    if kwargs.get("mapping_nonlinearity", "lrelu") != "lrelu" or kwargs.get("nonlinearity", "lrelu") != "lrelu":
        problems.append("a non-lrelu activation")
    if kwargs.get("normalize_latents", True) is not True:
        problems.append("normalize_latents=False (the latent pixel norm is always applied here)")
    if list(kwargs.get("resample_kernel", [1, 3, 3, 1])) != [1, 3, 3, 1]:
        problems.append(f"resample_kernel {kwargs['resample_kernel']}")
    unknown = sorted(set(kwargs) - _HARMLESS_KWARGS - {"normalize_latents"})
    if unknown:
        problems.append(f"unknown settings {', '.join(unknown)}")
    if problems:
        raise WeightsError(f"{source}: this TensorFlow StyleGAN2 generator is not supported: {'; '.join(problems)}")

    def t(x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.array(x, dtype=np.float32, order="C"))  # copies flipped views, keeps 0-d

    sd: dict[str, torch.Tensor] = {}
    for name, value in tf.items():
        if name in ("lod", "synthesis/lod") or name.endswith("/lod"):
            continue
        if name == "dlatent_avg":
            sd["mapping.w_avg"] = t(value)
        elif m := re.fullmatch(r"mapping/Dense(\d+)/(weight|bias)", name):
            sd[f"mapping.fc{m.group(1)}.{m.group(2)}"] = t(value.T if m.group(2) == "weight" else value)
        elif name == "synthesis/4x4/Const/const":
            sd["synthesis.b4.const"] = t(value[0])
        elif m := re.fullmatch(r"synthesis/noise(\d+)", name):
            sd[f"{_layer_of_noise(int(m.group(1)))}.noise_const"] = t(value[0, 0])
        elif m := re.fullmatch(r"synthesis/(\d+)x\1/(Conv|Conv0_up|Conv1|ToRGB)/(\w+)", name):
            res, layer, leaf = int(m.group(1)), m.group(2), m.group(3)
            base = f"synthesis.b{res}." + _TF_LAYERS[layer]
            if leaf == "weight":
                w = value[::-1, ::-1] if layer == "Conv0_up" else value
                sd[f"{base}.weight"] = t(w.transpose(3, 2, 0, 1))
            elif leaf == "mod_weight":
                sd[f"{base}.affine.weight"] = t(value.T)
            elif leaf == "mod_bias":
                sd[f"{base}.affine.bias"] = t(value + 1)
            elif leaf in ("bias", "noise_strength"):
                sd[f"{base}.{leaf}"] = t(value)
            else:
                raise WeightsError(f"{source}: unexpected TensorFlow variable {name!r}")
        else:
            raise WeightsError(f"{source}: unexpected TensorFlow variable {name!r}; not a StyleGAN2 generator")
    clamp = kwargs.get("conv_clamp")
    info = {"codebase": "stylegan2 (TensorFlow)", "network": "Gs",
            "mapping_lr": float(kwargs.get("mapping_lrmul", 0.01)),    # stylegan2-ada's TF code also has:
            "conv_clamp": None if clamp is None else float(clamp), "num_fp16_res": int(kwargs.get("num_fp16_res") or 0)}
    if "resolution" in kwargs and "synthesis.b4.const" in sd:
        expected = int(kwargs["resolution"])
        got = max(int(k.split(".")[1][1:]) for k in sd if k.startswith("synthesis.b"))
        if got != expected or expected != 2 ** int(math.log2(expected)):
            raise WeightsError(f"{source}: the pickle says resolution {expected} but its layers reach {got} px")
    return sd, info
