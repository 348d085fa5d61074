"""SGF's fit report on the toy world: step-fidelity fields for SGF and InterFaceGAN side by side, the
fitting options it records, and a PCA-whitened F that survives save / load."""
from __future__ import annotations

import math

import pytest
import torch

from sgfkit.components import EditRequest
from sgfkit.latents import Latents
from sgfkit_manipulators.sgf import SGF
from toy_world import toy_dataset


@pytest.fixture(scope="module")
def fitted():
    torch.set_num_threads(1)
    g, e, ds = toy_dataset(1200)
    sgf = SGF(layers_F=3, train_steps=300, lr=1e-3, max_steps=10, whiten="pca", lr_schedule="cosine",
              fidelity_samples=64)
    return g, e, sgf, sgf.fit(ds, g, e)


def test_step_fidelity_reports_cosine_gain_and_leak_for_sgf_and_interfacegan(fitted):
    *_, report = fitted
    fid = report["step_fidelity"]
    # 120 held-out samples: fidelity takes 60 (asked 64), calibration the other half
    assert fid["samples"] == 60 and fid["step_size"] == 0.2
    assert report["step_scale_samples"] == {"samples": 60, "separate_from_fidelity": True}
    assert set(fid["methods"]) == {"SGF", "InterFaceGAN"}
    for name, stats in fid["methods"].items():
        for field in ("cosine", "gain", "leak"):   # 4 attribute dims, 2 targeted: the leak is defined
            assert isinstance(stats[field], float) and math.isfinite(stats[field]), (name, field, stats)
        assert -1.0 <= stats["cosine"] <= 1.0 and stats["gain"] >= 0.0 and stats["leak"] >= 0.0
        assert stats["samples"] > 0


def test_report_records_the_fitting_options(fitted):
    *_, report = fitted
    assert report["whiten"] == "pca" and report["lr_schedule"] == "cosine"
    assert 1 <= report["condition_axes"] <= 4
    assert report["spectral_radius_max"] < 1.0


def test_pca_whitened_state_round_trips(fitted, tmp_path):
    g, e, sgf, _ = fitted
    path = tmp_path / "sgf.safetensors"
    sgf.save(path)
    loaded = SGF(layers_F=3, max_steps=10)
    loaded.load(path)
    assert "c_proj" in loaded.norm and torch.equal(loaded.norm["c_proj"], sgf.norm["c_proj"])
    lat = g.sample_latents(6, seed=5)
    c0 = e.measure(g, lat)
    c1 = c0.clone()
    c1[:, 0] = 1.0 - c0[:, 0]
    req = EditRequest(lat, c0, c1, [0])
    assert torch.allclose(sgf.edit(req, g, e).latents.tensor, loaded.edit(req, g, e).latents.tensor, atol=1e-5)


@pytest.mark.parametrize(("kind", "expected"), [("attributes", "std"), ("embedding", "pca")])
def test_auto_whitening_is_pca_for_embeddings_only(kind, expected, monkeypatch):
    g, e, ds = toy_dataset(200)
    monkeypatch.setattr(type(e), "condition_kind", kind)
    sgf = SGF(layers_F=2, train_steps=5, fidelity_samples=0, calibrate_step=False)
    assert sgf.fit(ds, g, e)["whiten"] == expected
    assert ("c_proj" in sgf.norm) == (expected == "pca") and ("c_std" in sgf.norm) == (expected == "std")


@pytest.mark.parametrize("n_hold, asked, calibrate, expected", [
    (2000, 512, True, (512, 512)),     # faces: room for both, separate
    (1000, 512, True, (500, 500)),     # flowers: split in halves
    (400, 512, True, (200, 200)),      # anime: split in halves
    (120, 64, True, (60, 60)),
    (400, 0, True, (0, 32)),           # no fidelity report: calibration still gets its 32
    (400, 512, False, (400, 0)),       # no calibration: every held-out sample for the report
])
def test_fidelity_and_calibration_split_the_held_out_samples(n_hold, asked, calibrate, expected):
    from sgfkit_manipulators.sgf import report_samples

    n_fid, n_cal = report_samples(n_hold, asked, calibrate)
    assert (n_fid, n_cal) == expected
    assert n_fid <= asked and (not calibrate or n_fid == 0 or n_fid + n_cal <= n_hold)


def test_a_discrete_reader_leaves_the_step_uncalibrated_and_says_why():
    """One step rarely changes a coarse reading (a captioner's case): the median gain is then 0, which says
    nothing about the step, so the scale must stay 1 instead of jumping to its cap."""
    from sgfkit.dataset import LatentDataset
    from toy_world import ToyAttributes, ToyGenerator

    class CoarseToyAttributes(ToyAttributes):
        def encode(self, images: torch.Tensor) -> torch.Tensor:
            return torch.round(super().encode(images) * 2) / 2     # readings 0, 0.5 or 1

    torch.set_num_threads(1)
    g, e = ToyGenerator(space="w"), CoarseToyAttributes()
    lat = g.sample_latents(600, seed=0)
    ds = LatentDataset(g.sample_z(600, 0), lat.tensor, e.measure(g, lat), e.names, "w")
    sgf = SGF(layers_F=2, train_steps=100, lr=1e-3, fidelity_samples=16)
    with pytest.warns(UserWarning, match="step calibration skipped"):
        report = sgf.fit(ds, g, e)
    assert report["step_scale"] == 1.0 and float(sgf.norm["step_scale"]) == 1.0
    assert any("left the encoder's reading exactly as it was" in w for w in report["warnings"])
    assert report["step_fidelity"]["methods"]["SGF"]["unchanged"] >= 0.5


def test_a_continuous_reader_is_calibrated_and_always_changes(fitted):
    *_, report = fitted
    assert report["step_fidelity"]["methods"]["SGF"]["unchanged"] == 0.0
    assert 1.0 <= report["step_scale"] <= 10.0
    assert not any("step calibration skipped" in w for w in report["warnings"])


def test_the_neumann_order_calibrates_its_own_step_so_it_is_part_of_the_fit_key():
    """The step scale is measured with the recipe's Neumann order (order 0 shortens one step), so a fit
    cached for order 1 must not serve order 0: same data and seed, their calibrations differ."""
    torch.set_num_threads(1)
    g, e, ds = toy_dataset(800)
    options = dict(layers_F=3, train_steps=200, lr=1e-3, fidelity_samples=32)
    first, zeroth = SGF(**options), SGF(neumann_order=0, **options)
    scales = [sgf.fit(ds, g, e)["step_scale"] for sgf in (first, zeroth)]
    assert scales[1] > scales[0] * 1.05, scales   # order 0 realises less of dc per raw step
    assert "neumann_order" not in first.fit_params()           # order 1 keeps the keys fits always had
    assert zeroth.fit_params()["neumann_order"] == 0 and zeroth.fit_params() != first.fit_params()


def _stepped_reader():
    """A discrete reader on the toy world: every score read as 0, 0.5 or 1; its smallest change is one attribute
    moved by one step."""
    from toy_world import ToyAttributes

    class Stepped(ToyAttributes):
        def encode(self, images: torch.Tensor) -> torch.Tensor:
            return torch.round(super().encode(images) * 2) / 2

        def smallest_changes(self, c: torch.Tensor, seed: int) -> list[dict]:
            gen = torch.Generator().manual_seed(seed)
            picks = torch.randint(0, len(self.names), (c.shape[0],), generator=gen).tolist()
            return [{self.names[j]: float(c[i, j]) + (0.5 if float(c[i, j]) < 1.0 else -0.5)}
                    for i, j in enumerate(picks)]
    return Stepped()


def test_smallest_change_fidelity_counts_aspects_exactly():
    """Known steps give known counts: no step changes nothing; a step straight along the latent axes that the
    asked attribute alone reads moves the asked aspect and no other."""
    from sgfkit_manipulators.step_fidelity import aspect_step_fidelity
    from toy_world import ToyGenerator

    torch.set_num_threads(1)
    g, e = ToyGenerator(space="w"), _stepped_reader()
    lat = g.sample_latents(200, seed=3).tensor
    # a2 = sigmoid(2 w_2) reads only latent dim 2 (layers 2-3 of a w code, which repeats w on every layer)
    a2_only = torch.zeros(g.w_dim)
    a2_only[2] = 1.0

    def along_a2(z: torch.Tensor, c: torch.Tensor, dc: torch.Tensor) -> torch.Tensor:
        return 3.0 * torch.sign(dc[:, 2:3]) * a2_only.expand(len(z), -1)

    stats = aspect_step_fidelity({"none": lambda z, c, dc: torch.zeros_like(z), "a2": along_a2}, g, e, lat, "w",
                                 e.measure(g, Latents(lat, "w")), seed=1)
    none = stats["none"]
    assert none["unchanged"] == 1.0 and none["asked_changed"] == 0.0 and none["exact"] == 0.0
    assert none["other_aspects"] == 0.0 and none["leak"] is None
    a2 = stats["a2"]
    c = e.measure(g, Latents(lat, "w"))
    asked_a2 = sum(1 for spec in e.smallest_changes(c, 1) if "a2" in spec) / len(lat)
    # only a2 moves, so nothing else changes, and a2 changes exactly where it was asked (and could move)
    assert a2["other_aspects"] == 0.0 and a2["leak"] == 0.0
    assert 0.0 < a2["asked_changed"] <= asked_a2 + 1e-9
    assert a2["exact"] <= a2["asked_changed"]


def test_a_discrete_reader_gets_a_smallest_change_report_and_a_continuous_one_none(fitted):
    *_, report = fitted
    assert "smallest_change" not in report["step_fidelity"]          # ToyAttributes: continuous scores
    from sgfkit.dataset import LatentDataset
    from toy_world import ToyGenerator

    torch.set_num_threads(1)
    g, e = ToyGenerator(space="w"), _stepped_reader()
    lat = g.sample_latents(600, seed=0)
    ds = LatentDataset(g.sample_z(600, 0), lat.tensor, e.measure(g, lat), e.names, "w")
    sgf = SGF(layers_F=2, train_steps=200, lr=1e-3, fidelity_samples=32, calibrate_step=False)
    smallest = sgf.fit(ds, g, e)["step_fidelity"]["smallest_change"]["methods"]
    assert set(smallest) == {"SGF", "InterFaceGAN"}
    for stats in smallest.values():
        assert 0.0 <= stats["exact"] <= stats["asked_changed"] <= 1.0 and stats["other_aspects"] >= 0.0
    assert smallest["SGF"]["asked_changed"] > 0.3, smallest                 # SGF's step moves what was asked
