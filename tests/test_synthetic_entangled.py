"""synth-faces-entangled: the documented curved couplings hold in the truth; determinism; its truth encoder.

The couplings (plugins/sgfkit_synthetic/README.md, "synth-faces-entangled") are checked on samples:
a slope that is small for young faces and large for old ones, a gate, a product. synth-faces itself
is guarded by tests/test_synthetic_frozen.py.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sgfkit.errors import ComponentError
from sgfkit_synthetic import SynthFaces, SynthFacesEntangled, SynthFacesEntangledTruth, SynthFacesTruth
from sgfkit_synthetic.faces import FACE_ATTRIBUTES

TINY = {"latent_dim": 32, "num_ws": 8, "resolution": 32}


@pytest.fixture(scope="module")
def world() -> tuple[SynthFacesEntangled, dict[str, np.ndarray]]:
    g, truth = SynthFacesEntangled(latent_dim=64, num_ws=8, resolution=32), SynthFacesEntangledTruth()
    c = truth.measure(g, g.sample_latents(4000, seed=3)).numpy()
    return g, {n: c[:, i] for i, n in enumerate(truth.names)}


def _slope(x: np.ndarray, y: np.ndarray, mask: np.ndarray) -> float:
    """Least-squares slope of y on x over the masked samples."""
    return float(np.polyfit(x[mask], y[mask], 1)[0])


def test_truth_names_ranges_and_shapes(world):
    _, a = world
    truth = SynthFacesEntangledTruth()
    assert truth.names == [*FACE_ATTRIBUTES, "grey_hair"] and truth.condition_kind == "attributes"
    assert truth.keypoint_indices() == []  # no landmarks, unlike synth-faces' truth
    for name, v in a.items():
        assert v.min() >= 0 and v.max() <= 1, name
        assert v.std() > 0.05, f"{name} barely varies"


def test_age_greys_the_hair_little_when_young_fast_past_middle_age(world):
    _, a = world
    young, old = a["age"] < 0.4, a["age"] > 0.6
    assert _slope(a["age"], a["grey_hair"], old) > 3 * max(_slope(a["age"], a["grey_hair"], young), 0.02)
    assert a["grey_hair"][young].mean() < 0.2 < 0.5 < a["grey_hair"][a["age"] > 0.85].mean()
    # grey hair is not black: among dark-pigmented hair, greying removes the black
    assert np.corrcoef(a["grey_hair"], a["black_hair"])[0, 1] < -0.2


def test_hair_thins_with_age_mostly_in_men_and_bald_and_beard_rise_together(world):
    _, a = world
    old = a["age"] > 0.6
    bearded, beardless = a["beard"] > 0.5, a["beard"] < 0.05   # the beard gate marks male / female faces
    assert _slope(a["age"], a["bald"], old & bearded) > 2 * _slope(a["age"], a["bald"], old & beardless)
    assert _slope(a["age"], a["bald"], a["age"] < 0.4) < 0.5 * _slope(a["age"], a["bald"], old & bearded)
    assert np.corrcoef(a["bald"], a["beard"])[0, 1] > 0.4
    assert np.corrcoef(a["hair_length"], a["beard"])[0, 1] < -0.3


def test_a_beard_grows_on_male_faces_only():
    g = SynthFacesEntangled(**TINY)
    ws = g.to_latents(g.sample_z(3000, seed=5), "w+").tensor
    f, beard = g.factors(ws), g.scene(ws)["beard"]
    feminine, masculine = f["coarse.masculinity"] < -1, f["coarse.masculinity"] > 1
    assert beard[feminine].max() < 0.2                           # whatever the beard factor says
    hairy = f["coarse.beard"] > 0
    assert beard[masculine & hairy].mean() > 0.75 > 0.5 > beard[masculine & ~hairy].mean()


def test_a_broad_smile_narrows_the_eyes_and_glasses_come_with_the_years(world):
    _, a = world
    slight, broad = a["smile"] < 0.4, a["smile"] > 0.6
    assert _slope(a["smile"], a["eyes_open"], broad) < 2 * _slope(a["smile"], a["eyes_open"], slight) < 0
    assert a["glasses"][a["age"] > 0.8].mean() > 2 * a["glasses"][a["age"] < 0.3].mean()


def test_the_right_edit_direction_depends_on_where_the_sample_is():
    """Curved: the gradient of grey_hair in w has a different share along the age gradient for young
    and old faces, so no single linear direction raises age alone everywhere."""
    g, truth = SynthFacesEntangled(**TINY), SynthFacesEntangledTruth()
    w = g.to_latents(g.sample_z(400, seed=4), "w").tensor.requires_grad_(True)
    s = g.scene(w.unsqueeze(1).expand(-1, g.num_ws, -1))
    grads = {n: torch.autograd.grad(s[n].sum(), w, retain_graph=True)[0] for n in ("age", "grey_hair")}
    along = (grads["grey_hair"] * grads["age"]).sum(1) / grads["age"].pow(2).sum(1)   # d grey per d age
    age = s["age"].detach()
    assert along[age > 0.7].mean() > 4 * along[age < 0.3].mean() > 0


def test_deterministic_and_a_distinct_world_with_the_same_renderer():
    a, b = SynthFacesEntangled(**TINY), SynthFacesEntangled(**TINY)
    lat = a.sample_latents(4, seed=7)
    img = a.synthesize(lat)
    assert torch.equal(img, b.synthesize(b.sample_latents(4, seed=7)))
    assert img.shape == (4, 3, 32, 32) and img.min() >= -1 and img.max() <= 1
    plain = SynthFaces(**TINY)
    assert not torch.equal(img, plain.synthesize(plain.sample_latents(4, seed=7)))
    # synth-faces-truth reads this world's 15 shared attributes too (same scene shape)
    c15 = SynthFacesTruth().measure(a, lat)[:, :15]
    assert torch.allclose(c15, SynthFacesEntangledTruth().measure(a, lat)[:, :15])


def test_grey_hair_is_drawn():
    g = SynthFacesEntangled(**TINY)
    ws = g.to_latents(g.sample_z(2, seed=1), "w+").tensor
    s = g.scene(ws)
    light, grey = dict(s), dict(s)
    light["grey_hair"], grey["grey_hair"] = torch.zeros(2), torch.ones(2)
    diff = (g.render(light) - g.render(grey)).abs().amax(1)   # [2, R, R]
    assert (diff > 0.1).float().mean() > 0.02                 # the hair (a visible area) changed colour


def test_truth_refuses_pixels_and_plain_synth_faces():
    truth = SynthFacesEntangledTruth()
    with pytest.raises(ComponentError, match="cannot encode images"):
        truth.encode(torch.zeros(1, 3, 32, 32))
    plain = SynthFaces(**TINY)
    with pytest.raises(ComponentError, match="synth-faces-entangled"):
        truth.measure(plain, plain.sample_latents(2, seed=0))


def test_the_age_figure_moves_the_age_factor_alone(tmp_path):
    from sgfkit_synthetic.figures import factor_sweep_grid, set_factor

    g = SynthFacesEntangled(**TINY)
    w = g.to_latents(g.sample_z(3, seed=2), "w").tensor
    moved = set_factor(g, w, "age", 1.5)
    plus = lambda x: x.unsqueeze(1).expand(-1, g.num_ws, -1)  # noqa: E731
    before, after = g.factors(plus(w)), g.factors(plus(moved))
    for key in before:
        if key.endswith(".age"):
            assert torch.allclose(after[key], torch.full((3,), 1.5), atol=1e-4), key
        else:
            assert torch.allclose(after[key], before[key], atol=1e-4), key
    png = factor_sweep_grid(g, SynthFacesEntangledTruth(), "age", [-1.0, 2.0], ["age", "grey_hair"], columns=2)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
