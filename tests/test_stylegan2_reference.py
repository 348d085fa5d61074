"""The stylegan2 generator reproduces NVlabs stylegan2-ada-pytorch on the res-32 reference fixture."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sgfkit.latents import Latents
from sgfkit_stylegan2.generator import StyleGAN2Generator
from sgfkit_stylegan2.networks import StyleGAN2Config, channels_from_base, random_network

FIXTURES = Path(__file__).parent / "fixtures" / "stylegan2"
STATE_DICT = FIXTURES / "G_ema_state_dict.npz"
TOL = 1e-4


@pytest.fixture(scope="module")
def ref() -> dict[str, torch.Tensor]:
    with np.load(FIXTURES / "reference_outputs.npz") as data:
        return {k: torch.from_numpy(np.array(data[k])) for k in data.files}


def make(**params) -> StyleGAN2Generator:
    return StyleGAN2Generator(checkpoint=str(STATE_DICT), clamp=False, **params)


def test_architecture_read_from_the_fixture_matches_its_init_kwargs():
    g = make()
    assert (g.z_dim, g.w_dim, g.resolution, g.num_ws) == (64, 64, 32, 8)
    assert g.net.cfg.channels == {4: 64, 8: 64, 16: 64, 32: 32}
    assert g.net.cfg.mapping_layers == 8


@pytest.mark.parametrize("psi, cutoff, key", [(1.0, None, "ws_psi1"), (0.7, None, "ws_psi0.7"),
                                              (0.5, 4, "ws_psi0.5_cutoff4")])
def test_mapping_and_truncation_match_reference_ws(ref, psi, cutoff, key):
    g = make(truncation=psi, truncation_cutoff=cutoff)
    ws = g.to_latents(ref["z"], "w+").tensor
    assert ws.shape == ref[key].shape
    assert (ws - ref[key]).abs().max() < TOL


@pytest.mark.parametrize("ws_key, img_key, noise_mode", [
    ("ws_psi1", "img_psi1_const", "const"), ("ws_psi1", "img_psi1_none", "none"),
    ("ws_psi0.7", "img_psi0.7_const", "const"), ("ws_psi0.7", "img_psi0.7_none", "none"),
    ("ws_psi0.5_cutoff4", "img_psi0.5_cutoff4_const", "const")])
def test_synthesis_matches_reference_images(ref, ws_key, img_key, noise_mode):
    g = make(noise_mode=noise_mode)
    img = g.synthesize(Latents(ref[ws_key], "w+"))
    assert img.shape == (4, 3, 32, 32)
    assert (img - ref[img_key]).abs().max() < TOL


def test_z_latents_are_mapped_and_truncated_inside_synthesize(ref):
    g = make(truncation=0.7)
    img = g.synthesize(Latents(ref["z"], "z"))
    assert (img - ref["img_psi0.7_const"]).abs().max() < TOL


def test_gradient_wrt_ws_matches_reference(ref):
    g = make()
    ws = ref["ws_psi1"].clone().requires_grad_(True)
    (g.synthesis(ws) * ref["grad_R"]).sum().backward()
    expected = ref["grad_ws_of_sum_img_times_R"]
    assert (ws.grad - expected).abs().max() < TOL * max(1.0, float(expected.abs().max()))


def test_noise_modes_differ_and_random_noise_is_fresh(ref):
    ws = Latents(ref["ws_psi1"], "w+")
    const, none = make(noise_mode="const").synthesize(ws), make(noise_mode="none").synthesize(ws)
    rnd = make(noise_mode="random")
    a, b = rnd.synthesize(ws), rnd.synthesize(ws)
    assert (const - none).abs().max() > 1e-2
    assert (a - b).abs().max() > 1e-2
    with torch.no_grad():   # without noise strength, random noise has no effect at all
        for name, p in rnd.net.named_parameters():
            if name.endswith("noise_strength"):
                p.zero_()
    assert (rnd.synthesize(ws) - none).abs().max() < 1e-5


def test_non_fused_modulation_path_agrees_with_the_fused_one(ref):
    from sgfkit_stylegan2 import ops

    torch.manual_seed(0)
    x, weight, styles = torch.randn(3, 8, 6, 6), torch.randn(5, 8, 3, 3), torch.randn(3, 8)
    f = torch.tensor([1.0, 3, 3, 1])
    f = torch.outer(f, f) / 64
    for up in (False, True):
        a = ops.modulated_conv2d(x, weight, styles, up=up, resample_filter=f, fused=True)
        b = ops.modulated_conv2d(x, weight, styles, up=up, resample_filter=f, fused=False)
        assert a.shape == b.shape == (3, 5, 12 if up else 6, 12 if up else 6)
        assert (a - b).abs().max() < 1e-4


def test_half_precision_blocks_stay_close_to_fp32():
    cfg = StyleGAN2Config(z_dim=32, w_dim=32, resolution=32, channels=channels_from_base(1024, 32, 32),
                          num_fp16_res=2, conv_clamp=256)
    net = random_network(cfg, seed=1)
    assert [getattr(net.synthesis, f"b{r}").use_fp16 for r in cfg.block_resolutions] == [False, False, True, True]
    ws = net.mapping(torch.randn(3, 32))[:, None].repeat(1, cfg.num_ws, 1)
    full, half = net.synthesis(ws), net.synthesis(ws, half=True)
    assert half.dtype == torch.float32
    assert 0 < (full - half).abs().max() < 0.05 * full.abs().max()


def test_clamp_param_bounds_images(ref):
    img = StyleGAN2Generator(checkpoint=str(STATE_DICT)).synthesize(Latents(ref["ws_psi1"], "w+"))
    assert img.min() >= -1 and img.max() <= 1 and ref["img_psi1_const"].abs().max() > 1


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_reference_and_half_blocks_stay_close(ref):
    g = make().to("cuda")
    img = g.synthesize(Latents(ref["ws_psi1"], "w+")).cpu()
    assert (img - ref["img_psi1_const"]).abs().max() < 1e-3     # TF32/cuDNN rounding allowed
    cfg = StyleGAN2Config(z_dim=32, w_dim=32, resolution=32, channels=channels_from_base(1024, 32, 32),
                          num_fp16_res=2, conv_clamp=256)
    net = random_network(cfg, seed=1).cuda()
    ws = net.mapping(torch.randn(3, 32, device="cuda"))[:, None].repeat(1, cfg.num_ws, 1)
    full, half = net.synthesis(ws), net.synthesis(ws, half=True)
    assert (full - half).abs().max() < 0.05 * full.abs().max()
