"""InterFaceGAN and GANSpace on the analytic toy world: fitting, edits, projection, PCA, state."""
import numpy as np
import pytest
import torch

from sgfkit.components import ConditionEncoder, EditRequest
from sgfkit.errors import ComponentError
from sgfkit_manipulators.ganspace import GANSpace, fit_pca
from sgfkit_manipulators.interfacegan import InterFaceGAN, fit_boundary, project_boundary
from toy_world import ToyGenerator, toy_dataset


@pytest.fixture(scope="module")
def world():
    torch.set_num_threads(1)
    return toy_dataset(3000)


def request_for(g, e, dim, n=64, seed=1, layers=None, gen=None):
    lat = (gen or g).sample_latents(n, seed)
    c0 = e.measure(gen or g, lat)
    c1 = c0.clone()
    c1[:, dim] = (c0[:, dim] < 0.5).float()
    return EditRequest(lat, c0, c1, [dim], layers)


# -- InterFaceGAN ---------------------------------------------------------------------------------

def test_svm_boundary_separates_held_out_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 6))
    true = np.array([1.0, -2.0, 0.5, 0, 0, 0]) / np.linalg.norm([1.0, -2.0, 0.5])
    scores = x @ true + 0.1 * rng.normal(size=4000)
    normal, accuracy, _, chosen = fit_boundary(x, scores, ratio=0.05, split=0.7, c=1.0, seed=0)
    assert chosen == 200 and accuracy > 0.97
    assert float(normal @ true) > 0.98 and np.linalg.norm(normal) == pytest.approx(1.0)
    fresh = rng.normal(size=(2000, 6))
    fresh_scores = fresh @ true
    extreme = np.abs(fresh_scores) > 1.0        # held-out samples far from the boundary
    assert ((fresh[extreme] @ normal > 0) == (fresh_scores[extreme] > 0)).mean() > 0.97


@pytest.mark.parametrize("n_conditions", [1, 2, 5])
def test_projection_is_orthogonal_to_every_condition(n_conditions):
    rng = np.random.default_rng(n_conditions)
    conds = [c / np.linalg.norm(c) for c in rng.normal(size=(n_conditions, 12))]
    primal = rng.normal(size=12)
    out = project_boundary(primal / np.linalg.norm(primal), *conds)
    assert np.linalg.norm(out) == pytest.approx(1.0)
    assert np.abs(np.stack(conds) @ out).max() < 1e-9
    assert float(out @ primal) > 0                 # still points the same way
    if n_conditions == 1:                          # InterFaceGAN's closed form for one condition
        p = primal / np.linalg.norm(primal)
        closed = p - (p @ conds[0]) * conds[0]
        assert np.allclose(out, closed / np.linalg.norm(closed))


def test_interfacegan_fits_and_edits_towards_the_target(world, tmp_path):
    g, e, ds = world
    ifg = InterFaceGAN(ratio=0.05)
    report = ifg.fit(ds, g, e)
    assert report["boundaries"]["a0"]["val_accuracy"] > 0.9
    assert torch.allclose(ifg.normals.norm(dim=1), torch.ones(4))
    req = request_for(g, e, dim=0)
    res = ifg.edit(EditRequest(req.latents, req.c0, req.c1, [0], strength=3.0), g, e)
    moved = (e.measure(g, res.latents)[:, 0] - req.c0[:, 0]) * torch.sign(req.c1[:, 0] - req.c0[:, 0])
    assert float((moved > 0).float().mean()) > 0.9
    offset = res.latents.tensor - req.latents.tensor
    assert torch.allclose(offset.norm(dim=1), torch.full((64,), 3.0), atol=1e-4)
    # save / load round trip
    ifg.save(tmp_path / "ifg.safetensors")
    again = InterFaceGAN()
    again.load(tmp_path / "ifg.safetensors")
    assert torch.equal(again.edit(req, g, e).latents.tensor, ifg.edit(req, g, e).latents.tensor)
    assert again.default_strengths == ifg.default_strengths


def test_interfacegan_edits_at_the_middle_of_a_short_recipe_grid(world):
    g, e, ds = world
    ifg = InterFaceGAN(ratio=0.05, strengths=[1.0, 2.0, 4.0])
    ifg.fit(ds, g, e)
    req = request_for(g, e, dim=0)
    offset = ifg.edit(req, g, e).latents.tensor - req.latents.tensor
    assert torch.allclose(offset.norm(dim=1), torch.full((64,), 2.0), atol=1e-4)


def test_interfacegan_conditional_edit_and_layers(world):
    g, e, ds = world
    ifg = InterFaceGAN(ratio=0.05, project_out=["a0"])
    ifg.fit(ds, g, e)
    n1 = ifg.boundary("a1")
    assert abs(float(n1 @ ifg.normals[0])) < 1e-6
    gp = ToyGenerator(space="w+")
    req = request_for(gp, e, dim=2, n=8, layers=[2, 3], gen=gp)
    out = ifg.edit(req, gp, e).latents.tensor
    assert torch.equal(out[:, :2], req.latents.tensor[:, :2])
    assert not torch.equal(out[:, 2:], req.latents.tensor[:, 2:])
    with pytest.raises(ComponentError, match="did you mean 'a1'"):
        ifg.boundary("a11")


def test_linear_methods_refuse_embedding_targets():
    class Embedder(ConditionEncoder):
        condition_kind = "embedding"
        names = ["e0", "e1"]

        def encode(self, images):
            return torch.zeros(len(images), 2)

    for method in (InterFaceGAN(), GANSpace()):
        with pytest.raises(ComponentError, match="cannot edit towards embedding conditions.*use sgf"):
            method.check_target(Embedder())
    from sgfkit_manipulators.sgf import SGF
    SGF().check_target(Embedder())                 # SGF edits towards any condition kind
    with pytest.raises(ComponentError, match="not fitted"):
        InterFaceGAN().edit(EditRequest(None, torch.zeros(1, 4), torch.ones(1, 4), [0]), None, None)


# -- GANSpace -------------------------------------------------------------------------------------

def test_pca_matches_scikit_learn_up_to_sign():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(0)
    x = rng.normal(size=(6000, 10)) * np.linspace(3, 0.5, 10) @ np.linalg.qr(rng.normal(size=(10, 10)))[0]
    ref = PCA(n_components=5).fit(x)
    for estimator in ("ipca", "pca"):
        comps, mean, ratio = fit_pca(x, 5, estimator)
        cos = np.abs(np.sum(comps * ref.components_, axis=1))
        assert cos.min() > 0.999, estimator
        assert np.allclose(mean, ref.mean_, atol=1e-6)
        assert np.allclose(ratio, ref.explained_variance_ratio_, atol=1e-3)


def test_ganspace_fits_selects_components_and_edits(world, tmp_path):
    g, e, ds = world
    gs = GANSpace(components=8, samples=4000, std_samples=1000, selection_components=8, selection_samples=64)
    report = gs.fit(ds, g, e)
    assert torch.allclose(gs.comps.norm(dim=1), torch.ones(8), atol=1e-5)
    fresh = g.mapping(g.sample_z(3000, 99))
    coords = (fresh - gs.mean) @ gs.comps.T
    assert torch.allclose(coords.std(0), gs.stdev, rtol=0.1)
    assert set(report["chosen"]) == {"a0", "a1", "a2", "a3"}
    # the chosen component for a0 moves a0 the intended way for most samples
    req = request_for(g, e, dim=0)
    res = gs.edit(EditRequest(req.latents, req.c0, req.c1, [0], strength=3.0), g, e)
    moved = (e.measure(g, res.latents)[:, 0] - req.c0[:, 0]) * torch.sign(req.c1[:, 0] - req.c0[:, 0])
    assert float((moved > 0).float().mean()) > 0.8
    i, sign = gs.component_for(0)
    offset = res.latents.tensor - req.latents.tensor
    assert torch.allclose(offset.norm(dim=1), torch.full((64,), 3.0 * float(gs.stdev[i])), rtol=1e-4)
    gs.save(tmp_path / "gs.safetensors")
    again = GANSpace()
    again.load(tmp_path / "gs.safetensors")
    assert torch.equal(again.edit(req, g, e).latents.tensor, gs.edit(req, g, e).latents.tensor)
    assert again.component_for(0) == (i, sign)


def test_ganspace_correlation_selection_and_layer_range(world):
    g, e, ds = world
    gs = GANSpace(components=8, samples=3000, std_samples=500, selection="correlation", layers="fine")
    gs.fit(ds, g, e)
    assert len(gs.chosen) == 4 and set(gs.signs) <= {1.0, -1.0}
    gp = ToyGenerator(space="w+")
    req = request_for(gp, e, dim=2, n=8, gen=gp)
    out = gs.edit(req, gp, e).latents.tensor      # layers from the 'layers' param: fine = [2, 3]
    assert torch.equal(out[:, :2], req.latents.tensor[:, :2])
    assert not torch.equal(out[:, 2:], req.latents.tensor[:, 2:])
    forced = GANSpace(component=99)
    forced.load_state(gs.state_tensors(), gs.state_meta())
    with pytest.raises(ComponentError, match="component 99 does not exist"):
        forced.edit(req, gp, e)


def test_ganspace_layers_key_the_fit_only_when_the_selection_edits_on_them():
    """selection: edit pushes along each component on ``layers`` to choose it, so a fit cached for one
    layer range must not serve another; with selection: correlation the layers only matter when editing."""
    edit = [GANSpace(layers=layers).fit_params() for layers in ("coarse", "fine")]
    assert edit[0] != edit[1] and edit[0]["layers"] == "coarse"
    corr = [GANSpace(selection="correlation", layers=layers).fit_params() for layers in ("coarse", "fine")]
    assert corr[0] == corr[1] and "layers" not in corr[0]
    assert GANSpace(component=2).fit_params() == GANSpace(component=5).fit_params()
