"""synth-faces / synth-flowers as generators: shapes, ranges, determinism, spaces, truncation, errors."""
from __future__ import annotations

import pytest
import torch

from sgfkit.errors import ComponentError, ParamError
from sgfkit.latents import Latents
from sgfkit_synthetic import SynthFaces, SynthFacesEntangled, SynthFlowers

TINY = {"latent_dim": 32, "num_ws": 8, "resolution": 32}
WORLDS = [SynthFaces, SynthFacesEntangled, SynthFlowers]


@pytest.mark.parametrize("world", WORLDS)
def test_shapes_ranges_and_layer_groups(world):
    g = world(**TINY)
    assert (g.z_dim, g.w_dim, g.num_ws, g.resolution) == (32, 32, 8, 32)
    for space in ("z", "w", "w+"):
        lat = g.to_latents(g.sample_z(5, seed=1), space)
        img = g.synthesize(lat)
        assert img.shape == (5, 3, 32, 32) and img.dtype == torch.float32
        assert img.min() >= -1 and img.max() <= 1 and torch.isfinite(img).all()
        assert img.std() > 0.1  # a picture, not a flat colour
    groups = g.layer_groups
    assert groups["coarse"] + groups["middle"] + groups["fine"] == list(range(8))
    assert all(groups[k] for k in ("coarse", "middle", "fine"))
    assert g.resolve_layers("fine") == groups["fine"]


@pytest.mark.parametrize("world", WORLDS)
def test_deterministic_same_seed_same_bits(world):
    a, b = world(**TINY), world(**TINY)
    img_a = a.synthesize(a.sample_latents(4, seed=7))
    img_b = b.synthesize(b.sample_latents(4, seed=7))
    assert torch.equal(img_a, img_b)
    other = world(**TINY, world_seed=1)
    assert not torch.equal(img_a, other.synthesize(other.sample_latents(4, seed=7)))
    assert not torch.equal(img_a, a.synthesize(a.sample_latents(4, seed=8)))


@pytest.mark.parametrize("world", WORLDS)
def test_z_latents_render_like_their_truncated_w(world):
    g = world(**TINY, truncation=0.7)
    z = g.sample_z(3, seed=2)
    from_z = g.synthesize(Latents(z, "z"))
    from_w = g.synthesize(g.to_latents(z, "w"))
    assert torch.allclose(from_z, from_w, atol=1e-5)


@pytest.mark.parametrize("world", WORLDS)
def test_render_chunks_match_one_batch(world):
    g = world(latent_dim=32, num_ws=8, resolution=32)
    ws = g.to_latents(g.sample_z(300, seed=3), "w+").tensor  # > one render chunk at 32 px
    whole = g.synthesis(ws)
    parts = torch.cat([g.synthesis(ws[:150]), g.synthesis(ws[150:])])
    # bit-identical for a given batch; across batch splits only BLAS rounding may differ
    assert torch.allclose(whole, parts, atol=1e-4)


def test_truncation_psi_zero_gives_the_average_image_and_cutoff_keeps_late_layers():
    g = SynthFaces(**TINY, truncation=0.0, space="w")
    img = g.synthesize(g.sample_latents(3, seed=4))
    avg = g.synthesis(g.w_avg.view(1, 1, -1).expand(1, g.num_ws, -1))
    assert torch.allclose(img, avg.expand(3, -1, -1, -1), atol=1e-6)

    coarse = g.layer_groups["coarse"]
    cut = SynthFaces(**TINY, truncation=0.0, truncation_cutoff=len(coarse), space="w+")
    ws = cut.sample_latents(3, seed=4).tensor
    assert torch.allclose(ws[:, coarse], g.w_avg.expand(3, len(coarse), -1), atol=1e-6)
    assert not torch.allclose(ws[:, -1], g.w_avg.expand(3, -1), atol=1e-3)


def test_w_avg_is_the_mean_of_mapped_z():
    g = SynthFlowers(**TINY)
    w = g.mapping(g.sample_z(4000, seed=11))
    assert torch.allclose(w.mean(0), g.w_avg, atol=0.1 * float(w.std()))


def test_renderer_is_differentiable():
    g = SynthFaces(**TINY)
    lat = g.sample_latents(2, seed=5)
    lat = Latents(lat.tensor.clone().requires_grad_(True), "w")
    img = g.synthesize(lat, grad=True)
    img.mean().backward()
    assert lat.tensor.grad is not None and lat.tensor.grad.abs().sum() > 0


def test_bad_params_and_inputs_get_clear_errors():
    with pytest.raises(ParamError, match="latent_dim"):
        SynthFaces(latent_dim=16)
    with pytest.raises(ParamError, match="resolution"):
        SynthFlowers(resolution=512)
    g = SynthFaces(**TINY)
    with pytest.raises(ComponentError, match=r"w\+ of shape \[N, 8, 32\]"):
        g.synthesis(torch.zeros(1, 8, 64))
    with pytest.raises(ComponentError, match="z of shape"):
        g.mapping(torch.zeros(1, 64))
    bad = g.sample_latents(2, seed=0).tensor.clone()
    bad[1, 0] = float("nan")
    with pytest.raises(ComponentError, match="NaN"):
        g.synthesize(Latents(bad, "w"))
