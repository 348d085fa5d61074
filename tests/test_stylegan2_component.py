"""The ``stylegan2`` component: registration, params, weights lookup, latent-space contract."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sgfkit.errors import ComponentError, ParamError, WeightsError
from sgfkit.latents import Latents
from sgfkit_stylegan2.generator import StyleGAN2Generator, layer_groups_for

FIXTURE = Path(__file__).parent / "fixtures" / "stylegan2" / "G_ema_state_dict.npz"


def test_registered_as_generator_with_known_weights():
    from sgfkit import api

    assert api.component_class("generator", "stylegan2") is StyleGAN2Generator
    weights = {w["name"]: w for w in api.list_weights() if w["plugin"] == "sgfkit_stylegan2"}
    assert {"stylegan2-ffhq-1024", "stylegan2-ada-ffhq-1024", "stylegan2-ffhq-config-f-rosinality",
            "stylegan2-anime-portraits", "stylegan2-flowers"} <= set(weights)
    ffhq = weights["stylegan2-ffhq-1024"]
    assert ffhq["file_name"] == "stylegan2-ffhq-1024x1024.pkl" and ffhq["component"] == "stylegan2"
    assert "api.ngc.nvidia.com" in ffhq["source"] and ffhq["sha256"] is None   # no digest invented


def test_missing_known_checkpoint_says_what_to_download(no_weight_dirs):
    with pytest.raises(WeightsError) as err:
        StyleGAN2Generator(checkpoint="stylegan2-ffhq-1024x1024.pkl")
    msg = str(err.value)
    assert "not found" in msg and str(no_weight_dirs / "home" / "weights") in msg
    assert "Download stylegan2-ffhq-1024x1024.pkl" in msg and "api.ngc.nvidia.com" in msg and "licence" in msg


def test_checkpoint_is_found_in_sgfkit_home(no_weight_dirs):
    home = no_weight_dirs / "home" / "weights"
    home.mkdir(parents=True)
    (home / "mine.npz").write_bytes(FIXTURE.read_bytes())
    g = StyleGAN2Generator(checkpoint="mine.npz")
    assert g.checkpoint_path == home / "mine.npz" and g.versions()["sha256"]


def test_checkpoint_relative_to_the_recipe_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    g = StyleGAN2Generator(checkpoint=FIXTURE.name, base_dir=FIXTURE.parent)
    assert g.checkpoint_path == FIXTURE


def test_params_are_validated_with_clear_messages():
    with pytest.raises(ParamError, match="checkpoint: required parameter is missing"):
        StyleGAN2Generator()
    with pytest.raises(ParamError, match="noise_mode: 'randon' is not one of .* did you mean 'random'"):
        StyleGAN2Generator(checkpoint=None, noise_mode="randon")
    with pytest.raises(ParamError, match="fromat: unknown parameter. did you mean 'format'"):
        StyleGAN2Generator(checkpoint=None, fromat="auto")


def test_random_init_params_with_a_checkpoint_are_reported():
    with pytest.raises(ParamError, match="resolution: applies only with checkpoint: null"):
        StyleGAN2Generator(checkpoint=str(FIXTURE), resolution=64)
    problems = StyleGAN2Generator.check_recipe({"checkpoint": "x.pkl", "z_dim": 512}, {})
    assert problems == [("z_dim", "applies only with checkpoint: null (random weights); the checkpoint fixes "
                                  "the architecture")]
    assert StyleGAN2Generator.check_recipe({"checkpoint": None, "z_dim": 512}, {}) == []
    resolved = {k: p.default for k, p in StyleGAN2Generator.all_params().items()} | {"checkpoint": "x.pkl"}
    assert StyleGAN2Generator.check_recipe(resolved, {}) == []     # defaults filled in by validation are fine


def test_random_init_builds_the_requested_architecture():
    g = StyleGAN2Generator(checkpoint=None, resolution=16, z_dim=12, w_dim=10, channel_base=128, channel_max=16,
                           mapping_layers=2)
    assert (g.z_dim, g.w_dim, g.resolution, g.num_ws) == (12, 10, 16, 6)
    assert g.net.cfg.channels == {4: 16, 8: 16, 16: 8}
    img = g.synthesize(g.sample_latents(3, seed=0))
    assert img.shape == (3, 3, 16, 16) and bool(torch.isfinite(img).all())
    again = StyleGAN2Generator(checkpoint=None, resolution=16, z_dim=12, w_dim=10, channel_base=128,
                               channel_max=16, mapping_layers=2)
    assert torch.equal(again.synthesize(again.sample_latents(3, seed=0)), img)   # init_seed makes it repeatable


def test_latent_spaces_agree():
    g = StyleGAN2Generator(checkpoint=None, truncation=0.8)
    z = g.sample_z(2, seed=5)
    w = g.to_latents(z, "w")
    wp = g.to_latents(z, "w+")
    from_z, from_w, from_wp = (g.synthesize(x) for x in (Latents(z, "z"), w, wp))
    assert (from_z - from_w).abs().max() < 1e-5 and (from_w - from_wp).abs().max() < 1e-5


def test_bad_latents_are_reported():
    g = StyleGAN2Generator(checkpoint=None)
    with pytest.raises(ComponentError, match=r"expects w\+ of shape \[N, 8, 64\], got \[2, 7, 64\]"):
        g.synthesis(torch.zeros(2, 7, 64))
    with pytest.raises(ComponentError, match=r"expects z of shape \[N, 64\]"):
        g.mapping(torch.zeros(2, 3))
    bad = torch.zeros(3, 64)
    bad[1, 0] = float("nan")
    with pytest.raises(ComponentError, match="NaN or infinite values in 1 of 3 samples"):
        g.synthesize(Latents(bad, "w"))


def test_layer_groups():
    assert layer_groups_for(18)["coarse"] == [0, 1, 2, 3]
    assert layer_groups_for(18)["middle"] == [4, 5, 6, 7]
    assert layer_groups_for(18)["fine"] == list(range(8, 18))
    small = layer_groups_for(8)
    assert sorted(small["coarse"] + small["middle"] + small["fine"]) == list(range(8))
    assert all(small[k] for k in ("coarse", "middle", "fine"))
    g = StyleGAN2Generator(checkpoint=None)
    assert g.resolve_layers("fine") == small["fine"]


def test_unconditional_network_rejects_c_class():
    with pytest.raises(ComponentError, match="unconditional; remove c_class"):
        StyleGAN2Generator(checkpoint=None, c_class=1)
