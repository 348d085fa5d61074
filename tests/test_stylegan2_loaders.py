"""Checkpoint loaders: NVlabs pickles (ADA and stylegan3 defaults), rosinality .pt, plain state dicts."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
import torch

from sgfkit.errors import WeightsError
from sgfkit.latents import Latents
from sgfkit_stylegan2.checkpoints import build_network, load_checkpoint
from sgfkit_stylegan2.generator import StyleGAN2Generator
from sgfkit_stylegan2.networks import StyleGAN2Config, StyleGAN2Network, channels_from_base, random_network
from nvlabs_snapshots import write_snapshot

FIXTURES = Path(__file__).parent / "fixtures" / "stylegan2"
ADA_KWARGS = dict(z_dim=64, c_dim=0, w_dim=64, img_resolution=32, img_channels=3,
                  mapping_kwargs=dict(num_layers=8),
                  synthesis_kwargs=dict(channel_base=1024, channel_max=64, num_fp16_res=0, conv_clamp=None))
SOURCE = "# networks.py stand-in\nclass Generator: pass\n"


@pytest.fixture(scope="module")
def ref() -> dict[str, torch.Tensor]:
    with np.load(FIXTURES / "reference_outputs.npz") as data:
        return {k: torch.from_numpy(np.array(data[k])) for k in data.files}


@pytest.fixture(scope="module")
def state_dict() -> dict[str, torch.Tensor]:
    with np.load(FIXTURES / "G_ema_state_dict.npz") as data:
        return {k: torch.from_numpy(np.array(data[k])) for k in data.files}


@pytest.fixture(scope="module")
def fixture_net(state_dict) -> StyleGAN2Network:
    net = StyleGAN2Network(StyleGAN2Config(z_dim=64, w_dim=64, resolution=32,
                                           channels=channels_from_base(1024, 64, 32)))
    net.load_state_dict(state_dict)
    return net.eval()


def render(path: Path, ref, **params) -> torch.Tensor:
    g = StyleGAN2Generator(checkpoint=str(path), clamp=False, **params)
    return g.synthesize(Latents(ref["ws_psi1"], "w+"))


# -- NVlabs pickles -------------------------------------------------------------------------------

def test_ada_pickle_loads_and_reproduces_reference(tmp_path, fixture_net, ref):
    path = write_snapshot(tmp_path / "network-snapshot-000000.pkl", fixture_net, ADA_KWARGS, SOURCE)
    loaded = load_checkpoint(path)
    assert loaded.format == "nvlabs-pkl" and loaded.info["codebase"] == "stylegan2-ada-pytorch"
    assert loaded.config.conv_clamp is None and loaded.config.num_fp16_res == 0
    assert (render(path, ref) - ref["img_psi1_const"]).abs().max() < 1e-4


def test_ada_pickle_defaults_apply_when_kwargs_are_absent(tmp_path, fixture_net):
    kwargs = dict(ADA_KWARGS, synthesis_kwargs=dict(channel_base=1024, channel_max=64))
    loaded = load_checkpoint(write_snapshot(tmp_path / "a.pkl", fixture_net, kwargs, SOURCE))
    assert loaded.config.conv_clamp is None and loaded.config.num_fp16_res == 0


def test_stylegan3_repo_pickle_gets_its_own_defaults(tmp_path, fixture_net, ref):
    # stylegan3's networks_stylegan2.Generator takes synthesis kwargs flat; its defaults are
    # num_fp16_res=4 and conv_clamp=256 (its train.py omits them unless --fp32)
    kwargs = dict(z_dim=64, c_dim=0, w_dim=64, img_resolution=32, img_channels=3,
                  mapping_kwargs=dict(num_layers=8), channel_base=1024, channel_max=64)
    path = write_snapshot(tmp_path / "sg3.pkl", fixture_net, kwargs, SOURCE)
    loaded = load_checkpoint(path)
    assert loaded.info["codebase"] == "stylegan3"
    assert loaded.config.conv_clamp == 256 and loaded.config.num_fp16_res == 4
    # the fixture's activations stay inside +-256, so the clamp leaves the output unchanged
    assert (render(path, ref) - ref["img_psi1_const"]).abs().max() < 1e-4


def test_conv_clamp_override_changes_the_output(ref):
    clamped = render(FIXTURES / "G_ema_state_dict.npz", ref, conv_clamp=0.5)
    assert (clamped - ref["img_psi1_const"]).abs().max() > 1e-2


def test_pickle_with_inconsistent_kwargs_reports_shape_mismatch(tmp_path, fixture_net):
    kwargs = dict(ADA_KWARGS, synthesis_kwargs=dict(channel_base=2048, channel_max=128))
    path = write_snapshot(tmp_path / "bad.pkl", fixture_net, kwargs, SOURCE)
    with pytest.raises(WeightsError) as err:
        build_network(load_checkpoint(path), path)
    msg = str(err.value)
    assert "bad.pkl" in msg and "synthesis.b4.const has shape [64, 4, 4], the architecture needs [128, 4, 4]" in msg


def test_unsupported_architecture_is_named(tmp_path, fixture_net):
    kwargs = dict(ADA_KWARGS, synthesis_kwargs=dict(ADA_KWARGS["synthesis_kwargs"], architecture="resnet"))
    with pytest.raises(WeightsError, match="architecture='resnet'"):
        load_checkpoint(write_snapshot(tmp_path / "r.pkl", fixture_net, kwargs, SOURCE))


def test_conditional_pickle_uses_c_class(tmp_path):
    cfg = StyleGAN2Config(z_dim=16, w_dim=16, c_dim=5, resolution=16, channels=channels_from_base(256, 16, 16),
                          mapping_layers=2)
    net = random_network(cfg, seed=3)
    kwargs = dict(z_dim=16, c_dim=5, w_dim=16, img_resolution=16, img_channels=3, mapping_kwargs=dict(num_layers=2),
                  synthesis_kwargs=dict(channel_base=256, channel_max=16))
    path = write_snapshot(tmp_path / "cond.pkl", net, kwargs, SOURCE)
    with pytest.raises(Exception, match="conditional .*c_dim=5.*set c_class"):
        StyleGAN2Generator(checkpoint=str(path))
    z = torch.randn(2, 16)
    w2 = StyleGAN2Generator(checkpoint=str(path), c_class=2).mapping(z)
    w3 = StyleGAN2Generator(checkpoint=str(path), c_class=3).mapping(z)
    expected = net.mapping(z, torch.nn.functional.one_hot(torch.tensor([2, 2]), 5).float())
    assert (w2 - expected).abs().max() < 1e-5 and (w2 - w3).abs().max() > 1e-3
    with pytest.raises(Exception, match="c_class 7 is out of range"):
        StyleGAN2Generator(checkpoint=str(path), c_class=7)


# -- rosinality -----------------------------------------------------------------------------------

def to_rosinality(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Official -> rosinality names (checkpoints.md section 2), written independently of the loader."""
    out: dict[str, torch.Tensor] = {}
    layer = {"synthesis.b4.conv1": "conv1", "synthesis.b4.torgb": "to_rgb1"}
    noise = {"synthesis.b4.conv1": "noises.noise_0"}
    for k, res in enumerate([8, 16, 32]):
        layer[f"synthesis.b{res}.conv0"], layer[f"synthesis.b{res}.conv1"] = f"convs.{2 * k}", f"convs.{2 * k + 1}"
        layer[f"synthesis.b{res}.torgb"] = f"to_rgbs.{k}"
        noise[f"synthesis.b{res}.conv0"], noise[f"synthesis.b{res}.conv1"] = \
            f"noises.noise_{2 * k + 1}", f"noises.noise_{2 * k + 2}"
    for key, value in sd.items():
        if key.startswith("mapping.fc"):
            i, kind = key[len("mapping.fc"):].split(".")
            out[f"style.{int(i) + 1}.{kind}"] = value
        elif key == "synthesis.b4.const":
            out["input.input"] = value[None]
        elif key.endswith("resample_filter") or key == "mapping.w_avg":
            continue
        else:
            base, _, leaf = key.rpartition(".")
            if leaf == "noise_const":
                out[noise[base]] = value[None, None]
                continue
            if base.endswith(".affine"):
                out[f"{layer[base[:-7]]}.conv.modulation.{leaf}"] = value
            elif leaf == "weight":
                out[f"{layer[base]}.conv.weight"] = value[None]
            elif leaf == "noise_strength":
                out[f"{layer[base]}.noise.weight"] = value.reshape(1)
            elif leaf == "bias" and "torgb" in base:
                out[f"{layer[base]}.bias"] = value.reshape(1, 3, 1, 1)
            elif leaf == "bias":
                out[f"{layer[base]}.activate.bias"] = value
            else:
                raise AssertionError(key)
    out["convs.0.conv.blur.kernel"] = torch.ones(4, 4)
    return out


def test_rosinality_checkpoint_reproduces_reference(tmp_path, state_dict, ref):
    path = tmp_path / "stylegan2-test.pt"
    torch.save({"g_ema": to_rosinality(state_dict), "latent_avg": state_dict["mapping.w_avg"]}, path)
    loaded = load_checkpoint(path)
    assert loaded.format == "rosinality"
    assert (render(path, ref) - ref["img_psi1_const"]).abs().max() < 1e-4
    g = StyleGAN2Generator(checkpoint=str(path), truncation=0.7)
    assert (g.to_latents(ref["z"], "w+").tensor - ref["ws_psi0.7"]).abs().max() < 1e-4
    with pytest.raises(WeightsError, match="this is a rosinality checkpoint .*use format 'rosinality'"):
        load_checkpoint(path, "state-dict")


def test_rosinality_training_checkpoint_without_latent_avg(tmp_path, state_dict, fixture_net):
    path = tmp_path / "000100.pt"
    torch.save({"g_ema": to_rosinality(state_dict), "args": argparse.Namespace(size=32, n_mlp=8)}, path)
    g = StyleGAN2Generator(checkpoint=str(path), format="rosinality")
    assert g.info["w_avg"].startswith("estimated")
    expected = fixture_net.mapping(torch.randn(10_000, 64, generator=torch.Generator().manual_seed(0))).mean(0)
    assert (g.w_avg - expected).abs().max() < 1e-5
    assert (g.w_avg - state_dict["mapping.w_avg"]).abs().max() > 1e-3  # not secretly the stored one


# -- state dicts ----------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_state_dict_files_load(tmp_path, state_dict, ref, suffix):
    path = tmp_path / f"G{suffix}"
    if suffix == ".pt":
        torch.save({"G_ema": state_dict}, path)
    else:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in state_dict.items()}, str(path))
    assert load_checkpoint(path).format == "state-dict"
    assert (render(path, ref) - ref["img_psi1_const"]).abs().max() < 1e-4


# -- bad files ------------------------------------------------------------------------------------

def test_wrong_kind_of_file(tmp_path):
    path = tmp_path / "notes.pkl"
    path.write_text('{"this": "is json"}\n')
    with pytest.raises(WeightsError, match=r"notes\.pkl: not a checkpoint format"):
        load_checkpoint(path)


def test_format_mismatch_is_explained(tmp_path, state_dict):
    path = tmp_path / "sd.pt"
    torch.save(state_dict, path)
    with pytest.raises(WeightsError, match="format 'nvlabs-pkl' expects a pickle.*torch-zip"):
        load_checkpoint(path, "nvlabs-pkl")
    with pytest.raises(WeightsError, match="no 'g_ema' entry, so not a rosinality checkpoint"):
        load_checkpoint(path, "rosinality")


def test_other_network_state_dict_is_rejected(tmp_path):
    path = tmp_path / "resnet.pt"
    torch.save({"conv1.weight": torch.zeros(8, 3, 7, 7), "fc.bias": torch.zeros(10)}, path)
    with pytest.raises(WeightsError, match=r"resnet\.pt: holds no StyleGAN2 generator"):
        load_checkpoint(path)


@pytest.mark.parametrize("kind", ["pkl", "pt"])
def test_truncated_files(tmp_path, fixture_net, state_dict, kind):
    full = tmp_path / f"full.{kind}"
    if kind == "pkl":
        write_snapshot(full, fixture_net, ADA_KWARGS, SOURCE)
    else:
        torch.save(state_dict, full)
    cut = tmp_path / f"cut.{kind}"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(WeightsError) as err:
        StyleGAN2Generator(checkpoint=str(cut))
    assert f"cut.{kind}" in str(err.value)
    assert any(word in str(err.value) for word in ("truncated", "incomplete", "damaged"))


def test_shape_mismatch_in_state_dict_names_the_tensor(tmp_path, state_dict):
    bad = dict(state_dict)
    bad["synthesis.b16.conv1.affine.weight"] = torch.zeros(64, 32)
    path = tmp_path / "bad.pt"
    torch.save(bad, path)
    with pytest.raises(WeightsError, match=r"bad\.pt: .*synthesis\.b16\.conv1\.affine\.weight has shape \[64, 32\], "
                                           r"the architecture needs \[64, 64\]"):
        StyleGAN2Generator(checkpoint=str(path))


def test_missing_tensors_are_listed(tmp_path, state_dict):
    path = tmp_path / "partial.pt"
    torch.save({k: v for k, v in state_dict.items() if "b16.conv0" not in k}, path)
    with pytest.raises(WeightsError, match=r"partial\.pt: .*missing .*synthesis\.b16\.conv0"):
        StyleGAN2Generator(checkpoint=str(path))


def test_non_finite_weights_are_rejected(tmp_path, state_dict):
    bad = dict(state_dict)
    bad["mapping.fc3.bias"] = torch.full((64,), float("nan"))
    path = tmp_path / "nan.pt"
    torch.save(bad, path)
    with pytest.raises(WeightsError, match=r"nan\.pt: tensor mapping\.fc3\.bias holds NaN"):
        StyleGAN2Generator(checkpoint=str(path))
