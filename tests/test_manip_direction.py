"""The direction manipulator on files in InterFaceGAN / GANSpace / e4e layouts, and exports that it reads back."""
import numpy as np
import pytest
import torch

from sgfkit.components import EditRequest
from sgfkit.errors import ComponentError
from sgfkit_manipulators.direction import Direction
from sgfkit_manipulators.ganspace import GANSpace
from sgfkit_manipulators.interfacegan import InterFaceGAN
from toy_world import ToyGenerator
from test_manip_linear import request_for as request, world  # noqa: F401  (the same toy world and requests)


def loaded(tmp_path, world, **params):
    g, e, ds = world
    d = Direction(base_dir=tmp_path, **params)
    d.fit(ds, g, e)
    return d


def test_an_interfacegan_boundary_file_edits_like_the_fitted_method(world, tmp_path):
    g, e, ds = world
    ifg = InterFaceGAN(ratio=0.05)
    ifg.fit(ds, g, e)
    files = ifg.export_files("interfacegan", tmp_path)
    assert [f.name for f in files] == ["boundary_a0.npy", "boundary_a1.npy", "boundary_a2.npy", "boundary_a3.npy"]
    saved = np.load(files[2])
    assert saved.shape == (1, 8) and saved.dtype == np.float32  # InterFaceGAN's layout
    assert np.linalg.norm(saved) == pytest.approx(1.0, abs=1e-6)

    d = loaded(tmp_path, world, file="boundary_a2.npy", condition="a2")
    assert d.report["format"] == "interfacegan"
    req = request(g, e, dim=2)
    ours = d.edit(EditRequest(req.latents, req.c0, req.c1, [2], strength=2.0), g, e).latents.tensor
    theirs = ifg.edit(EditRequest(req.latents, req.c0, req.c1, [2], strength=2.0), g, e).latents.tensor
    assert torch.allclose(ours, theirs, atol=1e-5)
    moved = (e.measure(g, d.edit(req, g, e).latents)[:, 2] - req.c0[:, 2]) * torch.sign(req.c1[:, 2] - req.c0[:, 2])
    assert float((moved > 0).float().mean()) > 0.9


def test_a_ganspace_cache_moves_by_standard_deviations_on_chosen_layers(world, tmp_path):
    g, e, ds = world
    gs = GANSpace(components=6, samples=2000, std_samples=500, selection="correlation", label="pca space")
    gs.fit(ds, g, e)
    (file,) = gs.export_files("ganspace", tmp_path)
    assert file.name == "pca_space_components.npz"
    with np.load(file) as npz:
        assert npz["lat_comp"].shape == (6, 1, 8) and npz["lat_stdev"].shape == (6,)
        assert npz["lat_mean"].shape == (1, 8)
    d = loaded(tmp_path, world, file=str(file), component=3, layers="fine")
    assert d.report["format"] == "ganspace"
    gp = ToyGenerator(space="w+")
    req = request(gp, e, dim=0, n=5, gen=gp)
    out = d.edit(EditRequest(req.latents, req.c0, req.c1, [0], strength=1.5), gp, e).latents.tensor
    assert torch.equal(out[:, :2], req.latents.tensor[:, :2])  # coarse layers untouched
    expected = req.latents.tensor[:, 2:] + 1.5 * gs.stdev[3] * gs.comps[3]
    assert torch.allclose(out[:, 2:], expected, atol=1e-5)
    with pytest.raises(ComponentError, match="component 9 does not exist.*holds 6"):
        loaded(tmp_path, world, file=str(file), component=9)


def test_an_e4e_style_tensor_and_the_target_sign(world, tmp_path):
    g, e, _ = world
    vector = torch.linspace(-1, 1, 8)[None]  # e4e ships [1, 512] tensors; here [1, 8]
    torch.save(vector, tmp_path / "age.pt")
    d = loaded(tmp_path, world, file="age.pt", condition="a1")
    assert d.report["format"] == "vector"
    req = request(g, e, dim=1, n=16)
    out = d.edit(EditRequest(req.latents, req.c0, req.c1, [1], strength=0.5), g, e).latents.tensor
    sign = torch.sign(req.c1[:, 1] - req.c0[:, 1])
    assert torch.allclose(out - req.latents.tensor, 0.5 * sign[:, None] * vector, atol=1e-6)
    plain = loaded(tmp_path, world, file="age.pt")  # no condition: always +direction
    out = plain.edit(EditRequest(req.latents, req.c0, req.c1, [1], strength=0.5), g, e).latents.tensor
    assert torch.allclose(out - req.latents.tensor, 0.5 * vector.expand(16, -1), atol=1e-6)
    again = Direction(file="age.pt", base_dir=tmp_path)
    again.load_state(d.state_tensors(), d.state_meta())
    assert torch.equal(again.vector, d.vector)


def test_bad_direction_files_get_clear_errors(world, tmp_path):
    np.save(tmp_path / "wide.npy", np.ones((1, 5), np.float32))
    with pytest.raises(ComponentError, match="has 5 values but this generator's w latents have 8"):
        loaded(tmp_path, world, file="wide.npy")
    np.save(tmp_path / "zero.npy", np.zeros((1, 8), np.float32))
    with pytest.raises(ComponentError, match="norm 0.0"):
        loaded(tmp_path, world, file="zero.npy")
    np.save(tmp_path / "many.npy", np.ones((3, 8), np.float32))
    with pytest.raises(ComponentError, match=r"one direction \[d\] or \[1, d\], got shape \[3, 8\]"):
        loaded(tmp_path, world, file="many.npy")
    with pytest.raises(ComponentError, match="not found"):
        loaded(tmp_path, world, file="missing.npy")
    np.save(tmp_path / "ok.npy", np.ones((1, 8), np.float32))
    with pytest.raises(ComponentError, match="did you mean 'a1'"):
        loaded(tmp_path, world, file="ok.npy", condition="a11")
    with pytest.raises(ComponentError, match="exports only --format ganspace"):
        GANSpace().export_files("interfacegan", tmp_path)


def test_the_cache_key_follows_the_file_bytes(tmp_path):
    np.save(tmp_path / "b.npy", np.ones((1, 8), np.float32))
    first = Direction(file="b.npy", base_dir=tmp_path).fit_params()
    assert Direction(file="b.npy", base_dir=tmp_path, strength=1.0).fit_params() == first
    np.save(tmp_path / "b.npy", -np.ones((1, 8), np.float32))
    assert Direction(file="b.npy", base_dir=tmp_path).fit_params() != first
