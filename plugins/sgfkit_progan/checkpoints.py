"""Reading ProGAN checkpoints safely and building the matching network.

Formats:

* ``interfacegan``: InterFaceGAN's converted ``pggan_celebahq.pth``, a plain state dict
  (``lod``, ``layer{k}.conv.weight``, ``layer{k}.wscale.bias``, ``output{k}.*``).
* ``ganzoo``: a facebookresearch/pytorch_GAN_zoo PGAN checkpoint, a dict
  ``{'config': BaseConfig, 'netG', 'netD', 'avgG'}`` (``avgG`` is used), or a bare GNet state dict.

Files are read by :func:`sgfkit.torch_files.load_torch_checkpoint` (``torch.load(weights_only=True)`` after
the archive is checked, or our own bounded reader for legacy files); the zoo's ``models.utils.config.BaseConfig``
is admitted as an inert attribute holder, so its class is never imported and no code from the
file runs. Any other global in the file is refused with a :class:`WeightsError`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from sgfkit.errors import WeightsError
from sgfkit.torch_files import load_torch_checkpoint
from sgfkit.state_dicts import build_checked, load_state_checked
from sgfkit_progan.ganzoo_net import GanZooGNet, config_from_checkpoint, normalize_keys
from sgfkit_progan.interfacegan_net import InterFaceGANProGAN, config_from_state_dict

#: what reading sizes and flags off malformed tensors / settings can raise
MALFORMED_SETTINGS = (IndexError, TypeError, ValueError, AttributeError, OverflowError)


class GanZooConfigStub:
    """Stands in for ``models.utils.config.BaseConfig``: unpickling only fills ``__dict__``."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        if isinstance(state, dict):
            self.__dict__.update({k: v for k, v in state.items() if isinstance(k, str) and not k.startswith("__")})


def read_checkpoint(path: Path) -> Any:
    """The checkpoint as plain data (tensors, containers, the zoo's config as an inert record)."""
    return load_torch_checkpoint(path, records={("models.utils.config", "BaseConfig"): GanZooConfigStub},
                                 what="ProGAN checkpoint (InterFaceGAN .pth or pytorch_GAN_zoo)")


def _settings_of(config: Any) -> dict[str, Any]:
    if config is None:
        return {}
    if isinstance(config, dict):
        return dict(config)
    if isinstance(config, GanZooConfigStub):
        return dict(vars(config))
    raise WeightsError(f"the GAN-zoo 'config' entry is a {type(config).__name__}, not a configuration")


def detect_format(obj: Any) -> str:
    if isinstance(obj, dict):
        if "avgG" in obj or "netG" in obj:
            return "ganzoo"
        keys = [str(k) for k in obj]
        if "layer0.conv.weight" in obj:
            return "interfacegan"
        if any(k.split(".")[0] in ("formatLayer", "module") for k in keys):
            return "ganzoo"
    return "unknown"


def load_progan(path: str | Path, fmt: str = "auto") -> tuple[nn.Module, dict[str, Any]]:
    """Build the network a checkpoint describes and load it. Returns (network in eval mode, info).

    ``info`` holds ``format``, ``z_dim``, ``resolution`` and the config that was read.
    """
    path = Path(path)
    obj = read_checkpoint(path)
    found = detect_format(obj)
    if fmt == "auto":
        fmt = found
    if found == "unknown" or fmt != found:
        keys = list(obj)[:8] if isinstance(obj, dict) else type(obj).__name__
        raise WeightsError(
            f"{path}: not a {'ProGAN' if fmt == 'unknown' else fmt} checkpoint (found {keys}). "
            "Expected InterFaceGAN's pggan_celebahq.pth (a state dict with layer0.conv.weight, ...) or a "
            "pytorch_GAN_zoo PGAN checkpoint (a dict with 'avgG' / 'netG' and 'config').")
    if fmt == "interfacegan":
        state = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
        try:
            config = config_from_state_dict(state)
        except KeyError as exc:
            raise WeightsError(f"{path}: InterFaceGAN ProGAN checkpoint lacks {exc}") from None
        except MALFORMED_SETTINGS as exc:
            raise WeightsError(f"{path}: malformed InterFaceGAN ProGAN tensors ({type(exc).__name__}: {exc})") from None
        net: nn.Module = build_checked(lambda: InterFaceGANProGAN(config), state, path, "InterFaceGAN ProGAN")
        load_state_checked(net, state, path, f"{fmt} ProGAN layout")
        info = {"format": fmt, "z_dim": config.z_dim, "resolution": config.resolution,
                "config": {"channels": list(config.channels), "fused_scale": config.fused_scale},
                "lod": float(state["lod"]) if "lod" in state else 0.0}
    else:
        settings = _settings_of(obj.get("config")) if "avgG" in obj or "netG" in obj else {}
        raw = obj.get("avgG", obj.get("netG")) if ("avgG" in obj or "netG" in obj) else obj
        if not isinstance(raw, dict):
            raise WeightsError(f"{path}: the GAN-zoo generator entry is a {type(raw).__name__}, not a state dict")
        state = normalize_keys({k: v for k, v in raw.items() if isinstance(v, torch.Tensor)})
        try:
            config = config_from_checkpoint(state, settings)
        except KeyError as exc:
            raise WeightsError(f"{path}: GAN-zoo PGAN generator lacks {exc}") from None
        except MALFORMED_SETTINGS as exc:
            raise WeightsError(f"{path}: malformed GAN-zoo PGAN settings or tensors ({type(exc).__name__}: {exc})") from None
        net = build_checked(lambda: GanZooGNet(config), state, path, "GAN-zoo PGAN generator")
        load_state_checked(net, state, path, f"{fmt} ProGAN layout")
        info = {"format": fmt, "z_dim": config.z_dim, "resolution": config.resolution,
                "used": "avgG" if "avgG" in obj else ("netG" if "netG" in obj else "state dict"),
                "config": {"depth_scale0": config.depth_scale0,
                           "depth_other_scales": list(config.depth_other_scales),
                           "tanh_output": config.tanh_output, "alpha": config.alpha}}
    return net.eval(), info
