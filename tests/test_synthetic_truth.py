"""Truth encoders: names, ranges, w+ layer control, correlations, landmarks on the drawn features."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sgfkit.errors import ComponentError
from sgfkit.latents import Latents
from sgfkit_synthetic import SynthFaces, SynthFacesTruth, SynthFlowers, SynthFlowersTruth
from sgfkit_synthetic.truth import facts_from_conditions

TINY = {"latent_dim": 32, "num_ws": 8, "resolution": 32}
GEOMETRY = ["smile", "mouth_open", "eyes_open", "bald", "beard", "glasses", "age", "head_yaw", "head_roll",
            "hair_length", "brows_raised"]
COLOUR = ["black_hair", "hair_hue", "skin_tone", "background_hue"]


def test_face_truth_names_and_ranges():
    g, truth = SynthFaces(**TINY), SynthFacesTruth()
    assert len(truth.attribute_names) >= 12 and len(truth.landmark_names) >= 10
    assert set(GEOMETRY + COLOUR) == set(truth.attribute_names)
    assert truth.names[len(truth.attribute_names):][:2] == ["left_eye_x", "left_eye_y"]
    c = truth.measure(g, g.sample_latents(200, seed=0))
    k = len(truth.attribute_names)
    assert c.shape == (200, k + 2 * len(truth.landmark_names))
    assert c[:, :k].min() >= 0 and c[:, :k].max() <= 1
    assert c[:, k:].min() > 0 and c[:, k:].max() < 32
    assert (c[:, :k].std(0) > 0.05).all()  # every attribute varies
    assert truth.keypoint_indices() == [(k + 2 * i, k + 2 * i + 1) for i in range(len(truth.landmark_names))]
    assert SynthFlowersTruth().keypoint_columns() == []  # flowers have no landmarks (the default)


def test_truth_encoders_refuse_pixels_and_other_worlds():
    with pytest.raises(ComponentError, match="scores latents only"):
        SynthFacesTruth().encode(torch.zeros(1, 3, 32, 32))
    with pytest.raises(ComponentError, match="scores latents only"):
        SynthFlowersTruth().encode(torch.zeros(1, 3, 32, 32))
    flowers = SynthFlowers(**TINY)
    with pytest.raises(ComponentError, match="synth-faces latents only"):
        SynthFacesTruth().measure(flowers, flowers.sample_latents(1, seed=0))


def _swap_layers(g, layers, seed_a=1, seed_b=2, n=64):
    a = g.to_latents(g.sample_z(n, seed_a), "w+").tensor
    b = g.to_latents(g.sample_z(n, seed_b), "w+").tensor
    mixed = a.clone()
    mixed[:, layers] = b[:, layers]
    return Latents(a, "w+"), Latents(mixed, "w+")


@pytest.mark.parametrize("group,changed,kept", [("fine", COLOUR, GEOMETRY), ("coarse", ["bald", "beard", "head_yaw", "head_roll", "hair_length"], COLOUR)])
def test_face_layer_groups_control_only_their_attributes(group, changed, kept):
    g, truth = SynthFaces(**TINY), SynthFacesTruth()
    before, after = _swap_layers(g, g.layer_groups[group])
    cb, ca = truth.measure(g, before), truth.measure(g, after)
    idx = lambda names: [truth.index_of(n) for n in names]  # noqa: E731
    assert torch.equal(cb[:, idx(kept)], ca[:, idx(kept)])
    assert ((cb[:, idx(changed)] - ca[:, idx(changed)]).abs().mean(0) > 0.05).all()
    k = len(truth.attribute_names)
    if group == "fine":  # colour-only edits leave every landmark where it was
        assert torch.equal(cb[:, k:], ca[:, k:])
        assert not torch.equal(g.synthesize(before), g.synthesize(after))
    else:
        assert (cb[:, k:] - ca[:, k:]).abs().max() > 1.0


def test_flower_layer_groups_control_only_their_facts():
    g, truth = SynthFlowers(**TINY), SynthFlowersTruth()
    before, after = _swap_layers(g, g.layer_groups["fine"], n=100)
    fb, fa = truth.facts(g, before), truth.facts(g, after)
    geometry = ["petal_shape", "petal_size", "petal_count", "center_size"]
    assert all(x[k] == y[k] for x, y in zip(fb, fa) for k in geometry)
    assert sum(x["petal_color"] != y["petal_color"] for x, y in zip(fb, fa)) > 50
    before, after = _swap_layers(g, g.layer_groups["coarse"], n=100)
    fb, fa = truth.facts(g, before), truth.facts(g, after)
    assert all(x[k] == y[k] for x, y in zip(fb, fa) for k in ("petal_color", "center_color", "background"))
    assert sum(x["petal_count"] != y["petal_count"] for x, y in zip(fb, fa)) > 40


def test_documented_face_correlations_are_present():
    g, truth = SynthFaces(latent_dim=64, num_ws=8, resolution=32), SynthFacesTruth()
    c = truth.measure(g, g.sample_latents(3000, seed=9))[:, :len(truth.attribute_names)].numpy()
    corr = np.corrcoef(c.T)
    r = lambda a, b: corr[truth.index_of(a), truth.index_of(b)]  # noqa: E731
    assert r("bald", "beard") > 0.35 and r("bald", "age") > 0.25 and r("beard", "age") > 0.25
    assert r("hair_hue", "background_hue") > 0.5
    assert r("hair_length", "bald") < -0.2
    others = [n for n in truth.attribute_names if n not in ("smile", "mouth_open")]
    assert max(abs(r("smile", n)) for n in others) < 0.1  # smile is nearly independent


def test_landmarks_land_on_the_drawn_features():
    g, truth = SynthFaces(latent_dim=64, num_ws=8, resolution=128), SynthFacesTruth()
    lat = g.sample_latents(40, seed=3)
    c = truth.measure(g, lat)
    img = (g.synthesize(lat) + 1) / 2
    lum = img.mean(1)  # [N, R, R]
    k = len(truth.attribute_names)
    open_eyes = c[:, truth.index_of("eyes_open")] > 0.6
    assert open_eyes.sum() > 10
    dark_hits = cheek_dark = 0
    for i in torch.nonzero(open_eyes).flatten().tolist():
        for point in ("left_eye", "right_eye"):
            j = k + 2 * truth.landmark_names.index(point)
            x, y = int(round(float(c[i, j]))), int(round(float(c[i, j + 1])))
            dark_hits += int(float(lum[i, y - 3:y + 4, x - 3:x + 4].min()) < 0.2)  # pupil / iris
            cheek_dark += int(float(lum[i, y + 15:y + 22, x - 3:x + 4].min()) < 0.2)  # control: below the eye
    assert dark_hits >= 0.95 * 2 * int(open_eyes.sum())
    assert cheek_dark <= 0.2 * 2 * int(open_eyes.sum())
    # mouth landmarks enclose the mouth: the pixel between top and bottom is redder than skin
    mt, mb = k + 2 * truth.landmark_names.index("mouth_top"), k + 2 * truth.landmark_names.index("mouth_bottom")
    redder = 0
    for i in range(40):
        x = int(round(float(c[i, mt])))
        y = int(round(float((c[i, mt + 1] + c[i, mb + 1]) / 2)))
        r, gch = img[i, 0, y, x], img[i, 1, y, x]
        redder += int(float(r - gch) > 0.2) or int(float(img[i, :, y, x].mean()) < 0.35)
    assert redder >= 36


def test_flower_truth_vector_facts_and_captions_agree():
    g, truth = SynthFlowers(**TINY), SynthFlowersTruth()
    lat = g.sample_latents(300, seed=5)
    c = truth.measure(g, lat)
    assert c.shape == (300, len(truth.names)) and c.min() >= 0 and c.max() <= 1
    for group in ("petal_", "center_", "background_"):
        cols = [i for i, n in enumerate(truth.names) if n.startswith(group) and n.split("_", 1)[1]
                in ("red orange yellow pink purple blue white" if group == "petal_" else
                    "yellow brown black green" if group == "center_" else "green blue dark beige").split()]
        assert torch.allclose(c[:, cols].sum(1), torch.ones(300), atol=1e-4)
    facts = truth.facts(g, lat)
    assert facts == facts_from_conditions(c)
    assert {f["petal_count"] for f in facts} == {5, 6, 7, 8, 9}
    single = {f["petal_color"] for f in facts if isinstance(f["petal_color"], str)}
    mixes = [f for f in facts if isinstance(f["petal_color"], list)]
    assert len(single) == 7 and {f["petal_shape"] for f in facts} == {"round", "pointed", "notched"}
    assert {f["petal_size"] for f in facts} == {"small", "medium", "large"}
    # about one flower in five is two-tone; its colour list is exactly the visible shares
    assert 0.1 < len(mixes) / len(facts) < 0.35
    assert all(len(f["petal_mix"]) == 2 and min(f["petal_mix"].values()) >= 0.2
               and set(f["petal_mix"]) == set(f["petal_color"]) for f in mixes)
    from sgfkit_synthetic.captions import caption_matches, parse_caption

    for text, f in zip(truth.describe(c[:50]), facts[:50]):
        named, matched = caption_matches(f, parse_caption(text))
        assert named >= 1 and matched == named, text
    assert truth.describe(c[:5]) == truth.describe(c[:5])


def test_flower_truth_accepts_caption_targets():
    g, truth = SynthFlowers(**TINY), SynthFlowersTruth()
    c0 = truth.measure(g, g.sample_latents(3, seed=1))
    spec = {"caption": "a flower with pointed red petals"}
    c1 = truth.target(spec, c0)
    dims = truth.target_dims(spec)
    assert c1[:, truth.index_of("petal_red")].eq(1).all() and c1[:, truth.index_of("petal_blue")].eq(0).all()
    assert c1[:, truth.index_of("petal_pointed")].eq(1).all()
    assert truth.index_of("petal_pointed") in dims and truth.index_of("center_size") not in dims
    # the truth target already keeps unnamed dims at c0, so keep: true gives the same target
    assert torch.equal(truth.target({**spec, "keep": True}, c0), c1)
    assert truth.target_dims({**spec, "keep": True}) == dims
    with pytest.raises(ComponentError, match="names no flower fact"):
        truth.target({"caption": "a lovely picture"}, c0)
