"""Load StyleGAN2 generator weights from the formats users have, into :class:`StyleGAN2Network`.

Formats:
    ``nvlabs-pkl``  NVlabs network snapshot (stylegan2-ada-pytorch or stylegan3's StyleGAN2, or a
                    TensorFlow-era NVlabs/stylegan2 (G, D, Gs) pickle), read by
                    :mod:`sgfkit_stylegan2.nvlabs_pickle` without running its embedded code.
    ``rosinality``  rosinality/stylegan2-pytorch ``.pt`` ({'g_ema': state dict, 'latent_avg': [w_dim]}).
    ``state-dict``  a state dict with the official key names (``.pt``/``.pth`` torch file read with
                    ``weights_only=True``, ``.safetensors`` or ``.npz``), optionally under ``G_ema``.
The architecture comes from the pickle's constructor arguments, or is read off the tensor shapes.
"""
from __future__ import annotations

import argparse
import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sgfkit.bounded_io import check_npz_archive
from sgfkit.errors import WeightsError
from sgfkit.state_dicts import build_checked
from sgfkit.torch_files import load_torch_checkpoint as read_torch_checkpoint
from sgfkit_stylegan2.declarations import FORMATS
from sgfkit_stylegan2.networks import StyleGAN2Config, StyleGAN2Network, channels_from_base
from sgfkit_stylegan2.nvlabs_pickle import PersistentObject, read_network_pickle
from sgfkit_stylegan2.tf_pickle import TFNetwork, convert_tf_generator

#: defaults of the codebase that wrote a pickle (its constructors' defaults, used for missing kwargs)
CODEBASE_DEFAULTS: dict[str, dict[str, Any]] = {
    "stylegan2-ada-pytorch": {"num_fp16_res": 0, "conv_clamp": None},
    "stylegan3": {"num_fp16_res": 4, "conv_clamp": 256},
}
_SYNTHESIS_DEFAULTS = {"channel_base": 32768, "channel_max": 512, "architecture": "skip",
                       "resample_filter": [1, 3, 3, 1], "use_noise": True, "activation": "lrelu", "kernel_size": 3}
_MAPPING_DEFAULTS = {"num_layers": 8, "embed_features": None, "layer_features": None, "activation": "lrelu",
                     "lr_multiplier": 0.01}
#: constructor kwargs that only affect speed or training, never the outputs
_IGNORED_KWARGS = {"channels_last", "fp16_channels_last", "fused_modconv_default", "w_avg_beta", "num_ws",
                   "magnitude_ema_beta"}
_GENERATOR_ARGS = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels")


@dataclass
class LoadedCheckpoint:
    """A generator's architecture and weights, plus where they came from."""

    config: StyleGAN2Config
    state_dict: dict[str, torch.Tensor]
    format: str
    info: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------
# format detection
# ----------------------------------------------------------------------------------------------

def sniff_kind(path: Path) -> str:
    """The container kind from the file's first bytes: pickle | torch-zip | torch-legacy | npz | safetensors."""
    with open(path, "rb") as f:
        head = f.read(16)
    if len(head) < 8:
        raise WeightsError(f"{path}: the file is empty or truncated ({len(head)} bytes)")
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise WeightsError(f"{path}: a damaged zip archive ({exc}); the download may be truncated") from None
        if any(n.endswith("data.pkl") for n in names):
            return "torch-zip"
        if names and all(n.endswith(".npy") for n in names):
            return "npz"
        raise WeightsError(f"{path}: a zip archive that is neither a torch checkpoint nor an .npz")
    header_len = int.from_bytes(head[:8], "little")
    # before the pickle test: a header length whose low byte is 0x80 would look like a pickle
    if head[8:9] == b"{" and 0 < header_len < 100_000_000:
        return "safetensors"
    if head[:1] == b"\x80":
        # torch's legacy format starts with the pickled magic number 0x1950a86a20f9469cfc6c
        return "torch-legacy" if head[2:4] == b"\x8a\x0a" else "pickle"
    raise WeightsError(f"{path}: not a checkpoint format sgfkit reads (an NVlabs .pkl, a torch .pt/.pth, "
                       f".safetensors or .npz); first bytes {head[:8]!r}")


# ----------------------------------------------------------------------------------------------
# NVlabs pickles
# ----------------------------------------------------------------------------------------------

def _generator_from_pickle(obj: Any, path: Path) -> tuple[PersistentObject, str]:
    if not isinstance(obj, dict):
        raise WeightsError(f"{path}: expected a network snapshot dict with 'G_ema', got {type(obj).__name__}")
    for key in ("G_ema", "G"):
        if isinstance(obj.get(key), PersistentObject):
            return obj[key], key
    raise WeightsError(f"{path}: the pickle holds no generator network ('G_ema' or 'G'); keys: "
                       f"{', '.join(map(str, list(obj)[:10])) or '(none)'}")


def load_tf_pickle(obj: Any, path: Path) -> LoadedCheckpoint:
    """A TensorFlow (G, D, Gs) tuple: convert Gs to the official layout; shapes give the architecture."""
    if len(obj) != 3 or not isinstance(obj[2], TFNetwork):
        raise WeightsError(f"{path}: a pickled tuple that is not a TensorFlow StyleGAN2 (G, D, Gs) snapshot")
    sd, info = convert_tf_generator(obj[2], str(path))
    config = config_from_state_dict(sd, path).with_(
        mapping_lr=info.pop("mapping_lr"), conv_clamp=info.pop("conv_clamp"), num_fp16_res=info.pop("num_fp16_res"))
    return LoadedCheckpoint(config, sd, "nvlabs-pkl", info)


def detect_codebase(generator: PersistentObject, kwargs: dict[str, Any]) -> str:
    """stylegan2-ada-pytorch nests ``synthesis_kwargs``; stylegan3's networks_stylegan2 takes them flat."""
    return "stylegan2-ada-pytorch" if "synthesis_kwargs" in kwargs else "stylegan3"


def config_from_init_kwargs(kwargs: dict[str, Any], codebase: str, path: Path) -> StyleGAN2Config:
    """Build the config from a Generator's constructor kwargs, with the writing codebase's defaults."""
    missing = [k for k in ("z_dim", "w_dim", "img_resolution") if k not in kwargs]
    if missing:
        raise WeightsError(f"{path}: the generator's constructor arguments lack {', '.join(missing)}")
    mapping = {**_MAPPING_DEFAULTS, **dict(kwargs.get("mapping_kwargs") or {})}
    if codebase == "stylegan2-ada-pytorch":
        synthesis_given = dict(kwargs.get("synthesis_kwargs") or {})
    else:
        synthesis_given = {k: v for k, v in kwargs.items() if k not in (*_GENERATOR_ARGS, "mapping_kwargs")}
    synthesis = {**_SYNTHESIS_DEFAULTS, **CODEBASE_DEFAULTS[codebase], **synthesis_given}
    unsupported = []
    checks = [("architecture", synthesis["architecture"], "skip"), ("activation", synthesis["activation"], "lrelu"),
              ("kernel_size", synthesis["kernel_size"], 3), ("use_noise", synthesis["use_noise"], True),
              ("resample_filter", list(synthesis["resample_filter"]), [1, 3, 3, 1]),
              ("mapping activation", mapping["activation"], "lrelu")]
    for name, value, wanted in checks:
        if value != wanted:
            unsupported.append(f"{name}={value!r} (only {wanted!r} is implemented)")
    known = set(_SYNTHESIS_DEFAULTS) | {"num_fp16_res", "conv_clamp"} | _IGNORED_KWARGS
    unknown = sorted(set(synthesis_given) - known) + sorted(set(mapping) - set(_MAPPING_DEFAULTS) - _IGNORED_KWARGS)
    if unknown:
        unsupported.append(f"unknown constructor arguments {', '.join(unknown)}")
    if unsupported:
        raise WeightsError(f"{path}: this generator's settings are not supported: {'; '.join(unsupported)}")
    resolution = int(kwargs["img_resolution"])
    return StyleGAN2Config(
        z_dim=int(kwargs["z_dim"]), w_dim=int(kwargs["w_dim"]), c_dim=int(kwargs.get("c_dim") or 0),
        resolution=resolution, img_channels=int(kwargs.get("img_channels", 3)),
        channels=channels_from_base(int(synthesis["channel_base"]), int(synthesis["channel_max"]), resolution),
        mapping_layers=int(mapping["num_layers"]), mapping_lr=float(mapping["lr_multiplier"]),
        embed_features=mapping["embed_features"], layer_features=mapping["layer_features"],
        num_fp16_res=int(synthesis["num_fp16_res"] or 0),
        conv_clamp=None if synthesis["conv_clamp"] is None else float(synthesis["conv_clamp"]))


def load_nvlabs_pickle(path: Path) -> LoadedCheckpoint:
    obj = read_network_pickle(path)
    if isinstance(obj, (tuple, list)):
        return load_tf_pickle(obj, path)
    generator, key = _generator_from_pickle(obj, path)
    synthesis = generator.children.get("synthesis")
    markers = generator.source_markers
    if "SynthesisInput" in markers or (isinstance(synthesis, PersistentObject) and "input" in synthesis.children):
        raise WeightsError(f"{path}: this is a StyleGAN3 (alias-free, -t/-r) generator, a different "
                           "architecture; sgfkit's stylegan2 plugin reads StyleGAN2 networks only")
    if generator.class_name != "Generator":
        raise WeightsError(f"{path}: '{key}' is a {generator.class_name!r}, not a StyleGAN2 Generator")
    kwargs = generator.init_kwargs()
    args = generator.init_args()
    kwargs.update({name: value for name, value in zip(_GENERATOR_ARGS, args)})
    codebase = detect_codebase(generator, kwargs)
    config = config_from_init_kwargs(kwargs, codebase, path)
    return LoadedCheckpoint(config, generator.state_dict(), "nvlabs-pkl",
                            {"codebase": codebase, "network": key, "source_sha256": generator.source_sha256})


# ----------------------------------------------------------------------------------------------
# torch files: rosinality and plain state dicts
# ----------------------------------------------------------------------------------------------

def _torch_load(path: Path) -> Any:
    # rosinality training checkpoints pickle their argparse options; a Namespace is plain data
    return read_torch_checkpoint(path, records={("argparse", "Namespace"): argparse.Namespace},
                                 what="torch checkpoint")


#: what np.load(allow_pickle=False) raises on a malformed archive or .npy header (object arrays: ValueError)
NPZ_ERRORS = (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile, SyntaxError, MemoryError)


def _load_tensors(path: Path, kind: str) -> dict[str, Any]:
    if kind in ("torch-zip", "torch-legacy"):
        obj = _torch_load(path)
    elif kind == "npz":
        check_npz_archive(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                obj = {k: torch.from_numpy(np.array(data[k])) for k in data.files}
        except NPZ_ERRORS as exc:
            raise WeightsError(f"{path}: not a readable .npz ({type(exc).__name__}: {exc})") from None
    elif kind == "safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            obj = load_file(str(path))
        except (SafetensorError, OSError, ValueError, TypeError) as exc:
            raise WeightsError(f"{path}: not a readable .safetensors file ({type(exc).__name__}: {exc})") from None
    else:
        raise WeightsError(f"{path}: a plain pickle is not a state dict; use format 'nvlabs-pkl' for "
                           "NVlabs network snapshots")
    if not isinstance(obj, dict):
        raise WeightsError(f"{path}: expected a dict of tensors, got {type(obj).__name__}")
    return obj


#: rosinality layer sub-key -> official sub-key
_ROSINALITY_SUFFIXES = {"conv.weight": "weight", "conv.modulation.weight": "affine.weight",
                        "conv.modulation.bias": "affine.bias", "noise.weight": "noise_strength",
                        "activate.bias": "bias", "bias": "bias"}


def rosinality_to_official(g_ema: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a rosinality ``g_ema`` state dict to the official layout (without w_avg / filters)."""
    sd: dict[str, torch.Tensor] = {}
    layer_names = {"conv1": "synthesis.b4.conv1", "to_rgb1": "synthesis.b4.torgb"}
    for key in g_ema:
        m = re.match(r"^(convs|to_rgbs)\.(\d+)\.", key)
        if m:
            idx = int(m.group(2))
            if m.group(1) == "convs":
                layer_names[f"convs.{idx}"] = f"synthesis.b{2 ** (idx // 2 + 3)}.conv{idx % 2}"
            else:
                layer_names[f"to_rgbs.{idx}"] = f"synthesis.b{2 ** (idx + 3)}.torgb"
    for key, value in g_ema.items():
        if m := re.match(r"^style\.(\d+)\.(weight|bias)$", key):
            sd[f"mapping.fc{int(m.group(1)) - 1}.{m.group(2)}"] = value
        elif key == "input.input":
            sd["synthesis.b4.const"] = value[0]
        elif m := re.match(r"^noises\.noise_(\d+)$", key):
            i = int(m.group(1))
            layer = "synthesis.b4.conv1" if i == 0 else f"synthesis.b{2 ** ((i - 1) // 2 + 3)}.conv{(i - 1) % 2}"
            sd[f"{layer}.noise_const"] = value[0, 0]
        elif key.endswith(("blur.kernel", "upsample.kernel")):
            continue  # the [1, 3, 3, 1] filters; the network has its own
        elif m := re.match(r"^(conv1|to_rgb1|convs\.\d+|to_rgbs\.\d+)\.(.+)$", key):
            base, rest = m.groups()
            target = _ROSINALITY_SUFFIXES.get(rest)
            if target is None or base not in layer_names:
                raise KeyError(key)
            if target == "weight":
                value = value[0]                      # [1, O, I, k, k] -> [O, I, k, k]
            elif target in ("noise_strength", "bias"):
                value = value.reshape([]) if target == "noise_strength" else value.reshape(-1)
            sd[f"{layer_names[base]}.{target}"] = value
        else:
            raise KeyError(key)
    return sd


def config_from_state_dict(sd: dict[str, torch.Tensor], path: Path) -> StyleGAN2Config:
    """Read the architecture off an official-layout state dict's shapes."""
    try:
        fc_ids = sorted(int(m.group(1)) for k in sd if (m := re.match(r"^mapping\.fc(\d+)\.weight$", k)))
        resolutions = sorted({int(m.group(1)) for k in sd if (m := re.match(r"^synthesis\.b(\d+)\.", k))})
        if not fc_ids or not resolutions:
            raise KeyError("mapping.fc0.weight / synthesis.b4.*")
        w_dim = int(sd[f"mapping.fc{fc_ids[-1]}.weight"].shape[0])
        in0 = int(sd["mapping.fc0.weight"].shape[1])
        c_dim = embed = 0
        if "mapping.embed.weight" in sd:
            embed, c_dim = (int(s) for s in sd["mapping.embed.weight"].shape)
        channels = {r: int(sd[f"synthesis.b{r}.conv1.weight"].shape[0]) for r in resolutions}
        resolution = resolutions[-1]
        img_channels = int(sd[f"synthesis.b{resolution}.torgb.weight"].shape[0])
    except KeyError as exc:
        raise WeightsError(f"{path}: not a StyleGAN2 generator state dict: missing {exc.args[0]!s} "
                           f"(first keys: {', '.join(list(sd)[:5])})") from None
    if resolutions != [2 ** i for i in range(2, int(math.log2(resolution)) + 1)]:
        raise WeightsError(f"{path}: synthesis blocks {resolutions} are not the full 4..{resolution} ladder")
    return StyleGAN2Config(
        z_dim=in0 - embed, w_dim=w_dim, c_dim=c_dim, resolution=resolution, img_channels=img_channels,
        channels=channels, mapping_layers=len(fc_ids), embed_features=embed or None,
        layer_features=int(sd["mapping.fc0.weight"].shape[0]) if len(fc_ids) > 1 else None,
        use_noise=any(k.endswith("noise_strength") for k in sd))


def load_torch_checkpoint(path: Path, kind: str, fmt: str) -> LoadedCheckpoint:
    obj = _load_tensors(path, kind)
    if fmt in ("auto", "rosinality") and "g_ema" in obj:
        try:
            sd = rosinality_to_official(dict(obj["g_ema"]))
        except KeyError as exc:
            raise WeightsError(f"{path}: unexpected key {exc.args[0]!r} in 'g_ema'; not a rosinality "
                               "stylegan2-pytorch generator") from None
        info: dict[str, Any] = {"codebase": "rosinality"}
        if isinstance(obj.get("latent_avg"), torch.Tensor):
            sd["mapping.w_avg"] = obj["latent_avg"].reshape(-1)
        return LoadedCheckpoint(config_from_state_dict(sd, path), sd, "rosinality", info)
    if fmt == "rosinality":
        raise WeightsError(f"{path}: no 'g_ema' entry, so not a rosinality checkpoint; keys: "
                           f"{', '.join(map(str, list(obj)[:10]))}")
    for key in ("G_ema", "g_ema_official", "state_dict"):
        if isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    sd = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if "g_ema" in obj:
        raise WeightsError(f"{path}: this is a rosinality checkpoint ('g_ema'); use format 'rosinality' or 'auto'")
    if not any(k.startswith("mapping.") for k in sd):
        raise WeightsError(f"{path}: holds no StyleGAN2 generator (expected official keys such as "
                           f"'mapping.fc0.weight' or a rosinality 'g_ema'); keys: "
                           f"{', '.join(map(str, list(obj)[:10]))}")
    return LoadedCheckpoint(config_from_state_dict(sd, path), sd, "state-dict", {"codebase": "official keys"})


#: what reading a well-formed container with malformed contents (wrong types, shapes, sizes) can raise
MALFORMED_CHECKPOINT_ERRORS = (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError,
                               RecursionError, RuntimeError)


def load_checkpoint(path: str | Path, fmt: str = "auto") -> LoadedCheckpoint:
    """Read ``path`` in format ``fmt`` (or detect it). Errors name the file and the problem."""
    path = Path(path)
    if fmt not in FORMATS:
        raise WeightsError(f"unknown checkpoint format {fmt!r}; use one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    kind = sniff_kind(path)
    try:
        if fmt == "nvlabs-pkl" or (fmt == "auto" and kind == "pickle"):
            if kind != "pickle":
                raise WeightsError(f"{path}: format 'nvlabs-pkl' expects a pickle, but this is a {kind} file; "
                                   "use format 'rosinality' or 'state-dict' (or 'auto')")
            return load_nvlabs_pickle(path)
        return load_torch_checkpoint(path, kind, fmt)
    except MALFORMED_CHECKPOINT_ERRORS as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise WeightsError(f"{path}: a malformed StyleGAN2 checkpoint ({type(exc).__name__}: {first}); the "
                           "settings or tensors it holds are not what its format defines") from None


# ----------------------------------------------------------------------------------------------
# building the network
# ----------------------------------------------------------------------------------------------

def estimate_w_avg(net: StyleGAN2Network, samples: int = 10_000, seed: int = 0) -> torch.Tensor:
    """Mean of mapping(z) over seeded z ~ N(0, I) (for files without a stored w_avg; unconditional)."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(samples, net.cfg.z_dim, generator=gen)
    with torch.no_grad():
        return net.mapping(z).mean(dim=0)


def build_network(loaded: LoadedCheckpoint, path: str | Path) -> StyleGAN2Network:
    """Instantiate the config and copy the weights in, checking every key and shape.

    The [1, 3, 3, 1] filter buffers may be absent; a missing ``mapping.w_avg`` is estimated from
    10,000 samples (recorded in ``loaded.info``). Anything else missing, extra or mis-shaped raises.
    """
    net = build_checked(lambda: StyleGAN2Network(loaded.config), loaded.state_dict, path, "StyleGAN2 generator")
    expected = net.state_dict()
    given = dict(loaded.state_dict)
    problems = []
    missing = [k for k in expected if k not in given and not k.endswith("resample_filter") and k != "mapping.w_avg"]
    unexpected = [k for k in given if k not in expected]
    if missing:
        more = " ..." if len(missing) > 5 else ""
        problems.append(f"missing {len(missing)} tensors ({', '.join(missing[:5])}{more})")
    if unexpected:
        problems.append(f"unexpected tensors ({', '.join(unexpected[:5])}{' ...' if len(unexpected) > 5 else ''})")
    for key, value in given.items():
        if key in expected and tuple(value.shape) != tuple(expected[key].shape):
            problems.append(f"{key} has shape {list(value.shape)}, the architecture needs {list(expected[key].shape)}")
    if problems:
        raise WeightsError(f"{path}: the weights do not fit the StyleGAN2 architecture they describe "
                           f"({loaded.config.resolution} px, z {loaded.config.z_dim}, w {loaded.config.w_dim}): "
                           + "; ".join(problems[:6]))
    with torch.no_grad():
        for key, value in given.items():
            expected[key].copy_(value.to(expected[key].dtype))
    net.load_state_dict(expected)
    if "mapping.w_avg" not in given:
        if loaded.config.c_dim == 0:
            net.mapping.w_avg.copy_(estimate_w_avg(net))
        loaded.info["w_avg"] = "estimated from 10000 samples"
    for name, tensor in list(net.named_parameters()) + list(net.named_buffers()):
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise WeightsError(f"{path}: tensor {name} holds NaN or infinite values; the file is corrupt")
    return net.eval().requires_grad_(False)
