"""The synthetic plugin registers its components through the sgfkit entry points, torch-free."""
from __future__ import annotations


from sgfkit.api import component_class, get_condition_encoder, get_generator, list_components


def test_components_are_listed_and_resolve():
    names = {(c["kind"], c["name"]) for c in list_components()}
    assert {("generator", "synth-faces"), ("generator", "synth-flowers"),
            ("condition-encoder", "synth-faces-truth"), ("condition-encoder", "synth-flowers-truth"),
            ("generator", "synth-faces-entangled"), ("condition-encoder", "synth-faces-entangled-truth"),
            ("metric", "caption-success")} <= names
    from sgfkit_synthetic import SynthFaces, SynthFlowersTruth

    assert component_class("generator", "synth-faces") is SynthFaces
    g = get_generator("synth-flowers", resolution=32, latent_dim=32, num_ws=8)
    truth = get_condition_encoder("synth-flowers-truth")
    assert isinstance(truth, SynthFlowersTruth)
    assert truth.measure(g, g.sample_latents(2, seed=0)).shape == (2, len(truth.names))


def test_layer_control_figure_renders_a_png():
    from sgfkit_synthetic import SynthFaces, SynthFacesTruth
    from sgfkit_synthetic.figures import _face_labels, layer_control_grid

    png = layer_control_grid(SynthFaces(latent_dim=32, num_ws=8, resolution=32), SynthFacesTruth(),
                             _face_labels, columns=2)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
