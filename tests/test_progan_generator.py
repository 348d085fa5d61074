"""ProGAN: reproduces InterFaceGAN's reference outputs, matches the full-size key layouts, loads
pytorch_GAN_zoo checkpoints without importing their classes, and refuses hostile files."""
from __future__ import annotations

import math
import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sgfkit.errors import ComponentError, WeightsError
from sgfkit.latents import Latents
from sgfkit_progan.checkpoints import load_progan
from sgfkit_progan.ganzoo_net import GanZooConfig, GanZooGNet
from sgfkit_progan.generator import ProGANGenerator, normalize_z, random_network
from sgfkit_progan.interfacegan_net import CELEBAHQ_1024, InterFaceGANProGAN, PGConvBlock

FIX = Path(__file__).parent / "fixtures" / "progan"
torch.set_num_threads(1)


def keylist(name: str) -> dict[str, list[int]]:
    out = {}
    for line in (FIX / name).read_text().splitlines():
        key, shape = line.split("\t")
        out[key] = [int(s) for s in shape.strip("[]").split(",") if s.strip()]
    return out


def shapes_of(module: torch.nn.Module) -> dict[str, list[int]]:
    return {k: list(v.shape) for k, v in module.state_dict().items()}


# -- InterFaceGAN layout ---------------------------------------------------------------------

def test_interfacegan_fixture_outputs_match_to_1e4():
    ref = np.load(FIX / "reference_outputs.npz")
    gen = ProGANGenerator(checkpoint=str(FIX / "generator_state_dict.pth"), clamp=False)
    assert (gen.z_dim, gen.resolution, gen.spaces) == (64, 32, ("z",))
    z = torch.from_numpy(ref["z"])
    np.testing.assert_allclose(normalize_z(z).numpy(), ref["z_preprocessed"], atol=1e-5)
    img = gen.synthesize(Latents(z, "z"))
    assert img.shape == (4, 3, 32, 32)
    np.testing.assert_allclose(img.numpy(), ref["img"], atol=1e-4)
    # without InterFaceGAN's z rescaling the network sees raw z (pixel norm makes it nearly equal)
    raw = ProGANGenerator(checkpoint=str(FIX / "generator_state_dict.pth"), clamp=False, normalize_z=False)
    np.testing.assert_allclose(raw.synthesize(Latents(z, "z")).numpy(), ref["img_from_unnormalized_z"], atol=1e-4)


def test_clamped_output_in_range_and_differentiable():
    gen = ProGANGenerator(checkpoint=str(FIX / "generator_state_dict.pth"))
    z = gen.sample_latents(3, seed=1)
    assert z.space == "z" and z.tensor.shape == (3, 64)
    zt = z.tensor.clone().requires_grad_(True)
    img = gen.synthesize(Latents(zt, "z"), grad=True)
    assert img.min() >= -1 and img.max() <= 1
    img.square().sum().backward()
    assert zt.grad is not None and torch.isfinite(zt.grad).all() and zt.grad.abs().sum() > 0


def test_lod_renders_lower_resolution_upsampled():
    net, _ = load_progan(FIX / "generator_state_dict.pth")
    z = torch.randn(2, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        x = z.view(2, 64, 1, 1)
        for b in range(1, 4):                       # blocks 4, 8, 16 px
            x = getattr(net, f"layer{2 * b - 1}")(getattr(net, f"layer{2 * b - 2}")(x))
        low = net.output2(x)
        net.lod.fill_(1.0)
        out = net(z)
    assert out.shape == (2, 3, 32, 32)
    torch.testing.assert_close(out, F.interpolate(low, scale_factor=2, mode="nearest"))


def test_fused_scale_equals_nearest_upsample_then_conv():
    """The 4x4 box-summed stride-2 transposed conv is the fused form of upsample + 3x3 conv."""
    torch.manual_seed(0)
    fused, plain = PGConvBlock(4, 5, upsample=True, fused_scale=True), PGConvBlock(4, 5, upsample=True)
    with torch.no_grad():
        fused.weight.normal_()
        fused.wscale.bias.normal_()
        plain.conv.weight.copy_(fused.weight.permute(3, 2, 0, 1).flip(2, 3))
        plain.wscale.bias.copy_(fused.wscale.bias)
        x = torch.randn(2, 4, 6, 6)
        torch.testing.assert_close(fused(x), plain(x), atol=1e-5, rtol=1e-5)


def test_full_size_interfacegan_layout_matches_keylist():
    with torch.device("meta"):
        net = InterFaceGANProGAN(CELEBAHQ_1024)
    assert shapes_of(net) == keylist("interfacegan_pggan_celebahq_1024.txt")
    assert CELEBAHQ_1024.resolution == 1024


def test_random_init_default_channels_follow_celebahq_table():
    net = random_network("interfacegan", 16, 8, None, seed=0)
    assert [list(v.shape) for k, v in net.state_dict().items() if k.endswith("conv.weight")][:2] == \
        [[512, 8, 4, 4], [512, 512, 3, 3]]


# -- pytorch_GAN_zoo layout ------------------------------------------------------------------

def test_full_size_ganzoo_layout_matches_keylist():
    with torch.device("meta"):
        net = GanZooGNet(GanZooConfig(z_dim=512, depth_scale0=512, depth_other_scales=(512, 512, 512, 256, 128, 64)))
    assert shapes_of(net) == keylist("gan_zoo_pgan_GNet_256_default_depths.txt")
    assert net.config.resolution == 256


def reference_gnet(sd: dict[str, torch.Tensor], z: torch.Tensor, scales: int, alpha: float, tanh: bool) -> torch.Tensor:
    """The GNet maths written out with functional ops (equalised LR scales output and bias)."""
    def pn(x):
        return x * torch.rsqrt(x.pow(2).mean(1, keepdim=True) + 1e-8)

    def eq(x, name, conv=True):
        w, b = sd[f"{name}.module.weight"], sd[f"{name}.module.bias"]
        c = math.sqrt(2.0 / w[0].numel())
        y = F.conv2d(x, w, b, padding=w.shape[-1] // 2) if conv else F.linear(x, w, b)
        return y * c

    def up(x):
        return x.repeat_interleave(2, 2).repeat_interleave(2, 3)

    x = pn(z)
    x = pn(F.leaky_relu(eq(x, "formatLayer", conv=False), 0.2).view(len(z), -1, 4, 4))
    x = pn(F.leaky_relu(eq(x, "groupScale0.0"), 0.2))
    prev = None
    for s in range(scales):
        if s == scales - 1:
            prev = up(eq(x, f"toRGBLayers.{s}"))
        x = up(x)
        for i in range(2):
            x = pn(F.leaky_relu(eq(x, f"scaleLayers.{s}.{i}"), 0.2))
    out = eq(x, f"toRGBLayers.{scales}")
    if alpha > 0:
        out = alpha * prev + (1 - alpha) * out
    return torch.tanh(out) if tanh else out


def make_ganzoo_file(path: Path, cfg_fields: dict, old_keys: bool = False, legacy: bool = False) -> dict[str, torch.Tensor]:
    """Write a GAN-zoo style checkpoint whose ``config`` is a models.utils.config.BaseConfig object
    (``legacy``: the pre-1.6 non-zip torch format of the 2019 release files)."""
    net = random_network("ganzoo", 16, 8, [16, 12, 8], seed=3)
    sd = {k: v.clone() for k, v in net.state_dict().items()}
    saved = {k.replace(".module.", ".") if old_keys else k: v for k, v in sd.items()}
    mod = types.ModuleType("models.utils.config")

    class BaseConfig:
        pass

    BaseConfig.__module__ = "models.utils.config"
    BaseConfig.__qualname__ = "BaseConfig"
    mod.BaseConfig = BaseConfig
    cfg = BaseConfig()
    cfg.__dict__.update(cfg_fields)
    names = ["models", "models.utils", "models.utils.config"]
    old = {n: sys.modules.get(n) for n in names}
    sys.modules.update({"models": types.ModuleType("models"), "models.utils": types.ModuleType("models.utils"),
                        "models.utils.config": mod})
    try:
        torch.save({"config": cfg, "netG": {k: v * 0 for k, v in saved.items()}, "netD": {},
                    "avgG": saved}, path, _use_new_zipfile_serialization=not legacy)
    finally:
        for n, m in old.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m
    return sd


@pytest.mark.parametrize("loss,alpha,old_keys,legacy", [("WGANGP", 0.0, False, False), ("DCGAN", 0.3, True, True)])
def test_ganzoo_checkpoint_loads_avgG_with_config(tmp_path, loss, alpha, old_keys, legacy):
    path = tmp_path / "pgan.pth"
    sd = make_ganzoo_file(path, {"lossCriterion": loss, "alpha": alpha, "leakyReluLeak": 0.2,
                                 "perChannelNormalization": True, "depthScale0": 16}, old_keys, legacy)
    assert "models.utils.config" not in sys.modules
    gen = ProGANGenerator(checkpoint=str(path), clamp=False, normalize_z=False)
    assert gen.info["used"] == "avgG" and gen.resolution == 16 and gen.z_dim == 8
    assert gen.info["config"]["tanh_output"] == (loss == "DCGAN")
    z = torch.randn(3, 8, generator=torch.Generator().manual_seed(5))
    out = gen.synthesize(Latents(z, "z"))
    torch.testing.assert_close(out, reference_gnet(sd, z, 2, alpha, loss == "DCGAN"), atol=1e-5, rtol=1e-4)


# -- errors ----------------------------------------------------------------------------------

class _Payload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_hostile_checkpoint_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"config": _Payload(marker), "avgG": {}}, path)
    with pytest.raises(WeightsError, match="refused.*never runs code"):
        ProGANGenerator(checkpoint=str(path))
    assert not marker.exists()


def test_truncated_and_foreign_files_name_the_problem(tmp_path):
    good = (FIX / "generator_state_dict.pth").read_bytes()
    cut = tmp_path / "cut.pth"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(WeightsError, match=r"cut\.pth.*(truncated|not a readable)"):
        ProGANGenerator(checkpoint=str(cut))
    other = tmp_path / "other.pth"
    torch.save({"mapping.fc0.weight": torch.zeros(2, 2)}, other)
    with pytest.raises(WeightsError, match=r"other\.pth: not a ProGAN checkpoint"):
        ProGANGenerator(checkpoint=str(other))


def test_shape_mismatch_names_the_key(tmp_path):
    sd = torch.load(FIX / "generator_state_dict.pth", weights_only=True)
    sd["layer3.conv.weight"] = torch.zeros(64, 64, 5, 5)
    del sd["output3.wscale.bias"]
    path = tmp_path / "bad.pth"
    torch.save(sd, path)
    with pytest.raises(WeightsError) as err:
        ProGANGenerator(checkpoint=str(path))
    msg = str(err.value)
    assert "bad.pth" in msg and "layer3.conv.weight" in msg and "[64, 64, 5, 5]" in msg
    assert "output3.wscale.bias" in msg


def test_missing_weights_say_what_to_download_and_where(no_weight_dirs):
    with pytest.raises(WeightsError) as err:
        ProGANGenerator()
    msg = str(err.value)
    assert "pggan_celebahq.pth" in msg and "github.com/genforce/interfacegan" in msg
    assert str(no_weight_dirs / "home" / "weights") in msg


def test_weights_found_in_sgfkit_home(no_weight_dirs):
    home = no_weight_dirs / "home" / "weights"
    home.mkdir(parents=True)
    (home / "pggan_celebahq.pth").write_bytes((FIX / "generator_state_dict.pth").read_bytes())
    gen = ProGANGenerator()
    assert gen.resolution == 32 and gen.versions()["checkpoint"] == str(home / "pggan_celebahq.pth")


def test_bad_params_are_reported():
    with pytest.raises(Exception, match="space"):
        ProGANGenerator(checkpoint=None, space="w")
    with pytest.raises(ComponentError, match="truncation"):
        ProGANGenerator(checkpoint=None, truncation=0.7)
    gen = ProGANGenerator(checkpoint=None, resolution=8, z_dim=4, channels=[8, 8])
    with pytest.raises(ComponentError, match=r"\[N, 4\]"):
        gen.synthesize_z(torch.zeros(2, 5))


def test_registered_with_its_known_weights():
    from sgfkit.registry import get_registry

    registry = get_registry()
    assert any(w.weights.file_name == "pggan_celebahq.pth" for w in registry.weights)
    assert registry.resolve("generator", "progan") is ProGANGenerator
