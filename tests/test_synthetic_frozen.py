"""Regression guard for the frozen renderer (plugins/sgfkit_synthetic/RENDERER_FROZEN).

Encoders with shipped weights were trained on these pixels, attributes and captions; any change
that moves these numbers breaks them. Values were recorded at the freeze; tolerances allow only
floating-point noise from another CPU / BLAS.
"""
from __future__ import annotations

import random

import torch

from sgfkit_synthetic import SynthFaces, SynthFacesTruth, SynthFlowers, SynthFlowersTruth, captions


def test_default_synth_faces_output_is_frozen():
    g = SynthFaces()
    lat = g.sample_latents(3, seed=0)
    img = g.synthesize(lat)
    assert torch.allclose(img.mean((1, 2, 3)), torch.tensor([0.1958, 0.40595, 0.30751]), atol=2e-4)
    assert torch.allclose(img.std((1, 2, 3)), torch.tensor([0.49905, 0.40097, 0.46143]), atol=2e-4)
    row = SynthFacesTruth().measure(g, lat)[0]
    expected_attrs = [0.8473, 0.8473, 0.9819, 0.1934, 0.7737, 0.3844, 0.7732, 0.0183, 0.8186, 0.2966, 0.5178,
                      0.2739, 0.049, 0.1974, 0.4744]
    assert torch.allclose(row[:15], torch.tensor(expected_attrs), atol=2e-4)
    assert torch.allclose(row[15:19], torch.tensor([21.5978, 38.5186, 35.821, 36.2489]), atol=2e-3)
    assert torch.allclose(row[-2:], torch.tensor([25.5219, 18.5558]), atol=2e-3)


def test_default_synth_flowers_output_and_captions_are_frozen():
    # synth-flowers v2 (continuous hue, two-tone petals, three shapes), then v2.1 (a shallower notch, a stepped
    # centre size, so that petal count and centre size are readable): re-frozen on purpose each time
    g = SynthFlowers()
    lat = g.sample_latents(4, seed=0)
    img = g.synthesize(lat)
    assert torch.allclose(img.mean((1, 2, 3)), torch.tensor([0.00155, 0.00041, 0.00173, 0.04691]), atol=2e-4)
    assert torch.allclose(img.std((1, 2, 3)), torch.tensor([0.32802, 0.33986, 0.29462, 0.26564]), atol=2e-4)
    facts = SynthFlowersTruth().facts(g, lat)
    assert facts[0] == {"petal_color": "blue", "petal_shape": "round", "petal_size": "medium", "petal_count": 7,
                        "center_color": "black", "center_size": "large", "background": "green",
                        "petal_mix": {"blue": 1.0}}
    assert facts[2]["petal_color"] == ["blue", "purple"]      # a two-tone flower: base, then tip
    assert facts[2]["petal_mix"] == {"blue": 0.5, "purple": 0.5}
    assert [f["petal_shape"] for f in facts] == ["round", "notched", "pointed", "round"]
    assert [f["petal_count"] for f in facts] == [7, 6, 9, 6]
    assert [f["center_size"] for f in facts] == ["large", "medium", "medium", "small"]
    rng = random.Random(0)
    assert [captions.generate_caption(facts[0], rng) for _ in range(3)] == [
        "this flower has 7 blue petals",
        "this blue flower has round petals and a black centre",
        "this flower has seven blue petals and a black middle"]
