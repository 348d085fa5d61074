"""The plugin's own tests: run them with `pytest tests` after `pip install -e .`."""
import pytest
import torch

import sgfkit
from sgfkit_plugin_example.region_colour import RegionColour


def test_plugin_is_installed():
    names = {c["name"] for c in sgfkit.list_components("condition-encoder")}
    assert "region-colour" in names


def test_measures_only_the_region():
    images = -torch.ones(2, 3, 8, 8)
    images[0, 0, 2:6, 2:6] = 1.0  # a red centre in the first image only
    c = RegionColour(region=[0.25, 0.25, 0.75, 0.75]).encode(images)
    assert c.shape == (2, 3)
    assert torch.allclose(c[0], torch.tensor([1.0, 0.0, 0.0]))
    assert torch.allclose(c[1], torch.zeros(3))


def test_rejects_a_region_outside_the_image():
    with pytest.raises(sgfkit.ParamError, match="not a rectangle inside the image"):
        RegionColour(region=[0.5, 0.0, 0.2, 1.0])
