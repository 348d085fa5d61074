"""synth-flowers v2: continuous hue with named ranges, visible two-tone mixes, three shapes, three sizes."""
from __future__ import annotations

import torch

from sgfkit_synthetic import SynthFlowers, SynthFlowersTruth
from sgfkit_synthetic.flowers import HUE_PATH, _HUE_RGB, hue_name, hue_rgb, petal_color_fact, petal_mix_fact

TINY = dict(latent_dim=32, num_ws=8, resolution=64)


def test_hue_is_continuous_and_names_are_ranges():
    p = torch.linspace(0, 6, 601)
    rgb = hue_rgb(p)
    assert (rgb[1:] - rgb[:-1]).abs().max() < 0.05                      # no jumps along the path
    assert torch.allclose(hue_rgb(torch.tensor([3.0])), _HUE_RGB[3:4])
    assert [hue_name(x) for x in (0.0, 2.6, 3.0, 3.49, 3.51, 6.0)] == ["white", "red", "red", "red", "pink", "blue"]
    assert set(HUE_PATH) == set(SynthFlowersTruth().names[i].split("_")[1] for i in range(7))


def test_colour_fact_is_a_list_only_for_a_visible_two_tone_mix():
    red, purple = HUE_PATH.index("red"), HUE_PATH.index("purple")
    assert petal_color_fact(red, purple, 0.48) == ["red", "purple"]
    assert petal_mix_fact(red, purple, 0.48) == {"red": 0.52, "purple": 0.48}
    assert petal_color_fact(red, purple, 0.1) == "red"                  # a thin tip is no mix
    assert petal_color_fact(red, red + 0.2, 0.5) == "red"               # two tones of one name


def _scene(g, n=64, seed=0):
    with torch.no_grad():
        return g.scene(g.ws_of(g.sample_latents(n, seed=seed)))


def _petal_mask(g, s):
    """Petal pixels [N, R, R] (bool): render on a dark background with a black centre."""
    s = {**s, "bg_mix": torch.zeros_like(s["bg_mix"]), "center_mix": torch.zeros_like(s["center_mix"])}
    s["bg_mix"][:, 2] = 1.0                                           # "dark"
    s["center_mix"][:, 2] = 1.0                                       # "black"
    img = (g.render(s) + 1) / 2
    return img.max(1).values > 0.45


def _petal_area(g, s):
    """Share of pixels that are petal [N]."""
    return _petal_mask(g, s).float().mean((1, 2))


def test_the_three_shapes_and_sizes_are_geometrically_distinct():
    g = SynthFlowers(**TINY)
    s = _scene(g)
    s["hue"] = torch.zeros_like(s["hue"])                             # white petals: easy to segment
    s["tip_share"] = torch.zeros_like(s["tip_share"])
    mask = {}
    for k in range(3):
        shape = torch.zeros_like(s["shape_mix"])
        shape[:, k] = 1.0
        mask[k] = _petal_mask(g, {**s, "shape_mix": shape})
    area = {k: m.float().mean((1, 2)) for k, m in mask.items()}
    assert (area[1] < 0.8 * area[0]).float().mean() > 0.9            # pointed petals are narrow
    for a, b in ((0, 1), (1, 2)):                                     # pointed differs from both broad shapes
        iou = (mask[a] & mask[b]).float().sum((1, 2)) / (mask[a] | mask[b]).float().sum((1, 2))
        assert (iou < 0.8).float().mean() > 0.9, (a, b, iou)
    # round and notched are both broad: a notched petal is a fan (flat, wide tip) with a V cut into it, shallow
    # enough that it stays one petal, so per petal the two silhouettes differ by a few pixels at the tip
    petals = g.geometry(s)["k"]
    differ = ((mask[0] ^ mask[2]).float().sum((1, 2)) / petals)
    assert (differ > 2.0).float().mean() > 0.9, differ
    sizes = [_petal_area(g, {**s, "petal_size": torch.full_like(s["petal_size"], v)}) for v in (0.0, 0.5, 1.0)]
    assert ((sizes[1] > 1.4 * sizes[0]) & (sizes[2] > 1.3 * sizes[1])).float().mean() > 0.9


def test_a_two_tone_flower_shows_both_colours():
    g = SynthFlowers(latent_dim=32, num_ws=8, resolution=128)
    s = _scene(g, n=8, seed=1)
    red, purple = HUE_PATH.index("red"), HUE_PATH.index("purple")
    s = {**s, "hue": torch.full_like(s["hue"], float(red)), "tip_hue": torch.full_like(s["hue"], float(purple)),
         "tip_share": torch.full_like(s["hue"], 0.5)}
    s["shape_mix"] = torch.zeros_like(s["shape_mix"])
    s["shape_mix"][:, 0] = 1.0
    img = ((g.render(s) + 1) / 2).permute(0, 2, 3, 1)                 # [N, R, R, 3]
    for anchor in (_HUE_RGB[red], _HUE_RGB[purple]):
        # shaded petals are 0.74-1.0 of the anchor colour: compare chromaticity
        near = ((img / img.sum(-1, keepdim=True).clamp_min(1e-3)) - anchor / anchor.sum()).norm(dim=-1) < 0.05
        assert (near.float().mean((1, 2)) > 0.01).all()
    facts = g.facts(s)
    assert all(f["petal_color"] == ["red", "purple"] for f in facts)


def test_the_centre_size_sits_on_three_steps_of_clearly_different_discs():
    g = SynthFlowers(**TINY)
    s = _scene(g, n=400)
    # a stepped value: most flowers sit near 0, 0.5 or 1, so a size name is rarely on a boundary
    off_step = (s["center_size"] * 2 - (s["center_size"] * 2).round()).abs()
    assert (off_step < 0.1).float().mean() > 0.85
    assert {f["center_size"] for f in g.facts(s)} == {"small", "medium", "large"}
    radius = [float(g.geometry({**s, "center_size": torch.full_like(s["center_size"], v)})["center_r"][0])
              for v in (0.0, 0.5, 1.0)]
    pixels = [r * g.resolution / 2 for r in radius]
    assert pixels[1] - pixels[0] > 1.4 and pixels[2] - pixels[1] > 1.4   # radii > 1.4 px apart at 64 px
