"""Full-size architectures match the key/shape lists of the released checkpoints (built on 'meta': no memory)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

from sgfkit_stylegan2.checkpoints import config_from_state_dict, rosinality_to_official
from sgfkit_stylegan2.networks import StyleGAN2Config, StyleGAN2Network, channels_from_base

KEYLISTS = Path(__file__).parent / "fixtures" / "stylegan2" / "keylists"


def keylist(name: str) -> dict[str, tuple[int, ...]]:
    out = {}
    for line in (KEYLISTS / name).read_text().splitlines():
        key, shape = line.split("\t")
        out[key] = tuple(ast.literal_eval(shape))
    return out


def shapes_of(cfg: StyleGAN2Config) -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        net = StyleGAN2Network(cfg)
    return {k: tuple(v.shape) for k, v in net.state_dict().items()}


@pytest.mark.parametrize("name, resolution, channel_base", [("nvlabs_sg2ada_G_1024_configf.txt", 1024, 32768),
                                                             ("nvlabs_sg2ada_G_256_paper256.txt", 256, 16384)])
def test_official_layouts(name, resolution, channel_base):
    cfg = StyleGAN2Config(z_dim=512, w_dim=512, resolution=resolution,
                          channels=channels_from_base(channel_base, 512, resolution))
    assert shapes_of(cfg) == keylist(name)
    assert cfg.num_ws == {1024: 18, 256: 14}[resolution]


def test_rosinality_1024_maps_onto_config_f():
    ros = {k: torch.empty(shape, device="meta") for k, shape in keylist("rosinality_G_1024_cm2.txt").items()}
    official = rosinality_to_official(ros)
    cfg = config_from_state_dict(official, Path("rosinality_G_1024.pt"))
    assert cfg == StyleGAN2Config(z_dim=512, w_dim=512, resolution=1024, channels=channels_from_base(32768, 512, 1024),
                                  mapping_layers=8, layer_features=512)
    expected = shapes_of(cfg)
    got = {k: tuple(v.shape) for k, v in official.items()}
    # rosinality files carry neither w_avg (separate latent_avg) nor the filter buffers
    assert got == {k: s for k, s in expected.items() if not k.endswith("resample_filter") and k != "mapping.w_avg"}
