"""SGF manipulator on the analytic toy world: fitting report, Algorithm 1, stopping, guards, state."""
import pytest
import torch

from sgfkit.components import EditRequest
from sgfkit.dataset import LatentDataset
from sgfkit.errors import ComponentError, ParamError
from sgfkit.latents import Latents
from sgfkit_manipulators.aux_mapping import FrozenAuxMapping
from sgfkit_manipulators.sgf import SGF
from sgfkit_manipulators.sgf_training import diagnose
from toy_world import ToyAttributes, ToyGenerator


class CountingEncoder(ToyAttributes):
    """Counts the rows it is asked to measure (to check that stopped samples are not re-rendered)."""

    def __init__(self, **params):
        super().__init__(**params)
        self.rows: list[int] = []

    def measure(self, generator, latents, batch_size=64):
        self.rows.append(len(latents))
        return super().measure(generator, latents, batch_size)


@pytest.fixture(scope="module")
def world():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    g, e = ToyGenerator(space="w"), ToyAttributes()
    lat = g.sample_latents(1500, seed=0)
    ds = LatentDataset(g.sample_z(1500, 0), lat.tensor, e.measure(g, lat), e.names, "w")
    sgf = SGF(layers_F=4, train_steps=500, lr=1e-3, max_steps=30)
    report = sgf.fit(ds, g, e)
    return g, e, sgf, report, ds


def test_paper_F_is_kept_and_warns_when_not_contractive(world):
    g, e, _, _, ds = world
    sgf = SGF(F="paper", layers_F=4, train_steps=500, lr=1e-3)
    with pytest.warns(UserWarning, match="spectral radius"):   # the toy paper-F has rho >= 1 somewhere
        report = sgf.fit(ds, g, e)
    assert report["F"] == "paper" and report["spectral_radius_max"] >= 1.0


def test_contractive_F_has_radius_below_kappa_on_every_heldout_sample(world):
    _, _, sgf, report, _ = world
    assert report["F"] == "contractive"
    assert report["spectral_radius_samples"] == report["heldout_samples"]
    kappa = sgf.params["contraction"]
    assert report["spectral_radius_max"] < report["lipschitz_bound"] + 1e-4 <= kappa + 2e-4
    # the bound holds far from the data too: latents 10x the training spread, random conditions
    torch.manual_seed(3)
    u, c = torch.randn(256, sgf.F.latent_dim) * 10, torch.randn(256, sgf.F.cond_dim) * 10
    from sgfkit_manipulators.sgf_solver import spectral_radius
    with torch.enable_grad():
        assert float(spectral_radius(sgf.F, u, c).max()) < kappa + 1e-4


def smile_request(g, e, n=32, seed=1, dim=0, layers=None, space_latents=None):
    lat = space_latents if space_latents is not None else g.sample_latents(n, seed)
    c0 = e.measure(g, lat)
    c1 = c0.clone()
    c1[:, dim] = (c0[:, dim] < 0.5).float()
    return EditRequest(lat, c0, c1, [dim], layers)


def test_fit_reports_reconstruction_dependence_and_radius(world):
    _, _, _, report, _ = world
    assert 0.5 < report["reconstruction_r2"] <= 1.0
    assert report["condition_dependence"] > 0.05 and not any("ignores" in w for w in report["warnings"])
    assert report["spectral_radius_max"] >= report["spectral_radius_median"] > 0
    assert report["layers_F"] == 4 and report["width"] == 8
    assert report["loss_curve"][-1] < report["loss_curve"][0]


def test_degenerate_mapping_is_detected():
    torch.manual_seed(0)
    tensors = {}
    for i, (din, dout) in enumerate([(8, 8), (8, 8)]):
        tensors[f"blocks.{i}.style.weight"] = torch.zeros(2 * din, 4)   # c has no effect
        tensors[f"blocks.{i}.style.bias"] = torch.randn(2 * din) * 0.1
        tensors[f"blocks.{i}.linear.weight"] = torch.randn(dout, din) * 0.3
        tensors[f"blocks.{i}.linear.bias"] = torch.zeros(dout)
    report = diagnose(FrozenAuxMapping(tensors, 2), torch.randn(64, 8), torch.randn(64, 4))
    assert report["condition_dependence"] < 1e-6
    assert any("ignores the conditions" in w for w in report["warnings"])


def test_edit_moves_target_towards_c1_and_stops_per_sample(world):
    g, _, sgf, _, _ = world
    e = CountingEncoder()
    req = smile_request(g, e)
    e.rows.clear()
    res = sgf.edit(req, g, e)
    after = ToyAttributes().measure(g, res.latents)
    before_err = (req.c1[:, 0] - req.c0[:, 0]).abs()
    after_err = (req.c1[:, 0] - after[:, 0]).abs()
    assert float(after_err.mean()) < 0.3 * float(before_err.mean())
    conv = [i for i, s in enumerate(res.status) if s == "converged"]
    assert len(conv) >= 24
    assert torch.all(after_err[conv] <= sgf.params["tolerance"] + 1e-6)
    assert len(set(res.steps[conv].tolist())) > 1            # samples stop on their own
    # each running sample is measured once per step it took; stopped samples never again
    assert sum(e.rows) == int(res.steps.sum())
    assert e.rows == sorted(e.rows, reverse=True)
    assert len(res.path) == sgf.params["max_steps"] + 1
    assert torch.equal(res.path[0].tensor, req.latents.tensor)


def test_sweep_is_one_run_with_frozen_stopped_samples(world):
    g, e, sgf, _, _ = world
    req = smile_request(g, e, n=16, seed=2)
    sweep = sgf.edit_sweep(req, [0, 2, 5, 30], g, e)
    assert torch.equal(sweep[0].tensor, req.latents.tensor)
    full = sgf.edit(EditRequest(req.latents, req.c0, req.c1, [0], strength=30), g, e)
    assert torch.allclose(sweep[-1].tensor, full.latents.tensor)
    early = [i for i in range(16) if full.steps[i] <= 5 and full.status[i] == "converged"]
    assert early and torch.equal(sweep[2].tensor[early], sweep[3].tensor[early])


def test_fast_mode_runs_one_over_eta_steps_without_measuring(world):
    g, _, sgf, _, _ = world
    fast = SGF(mode="fast", step_size=0.25, layers_F=4)
    fast.load_state(sgf.state_tensors(), sgf.state_meta())
    e = CountingEncoder()
    req = smile_request(g, e, n=8)
    e.rows.clear()
    res = fast.edit(req, g, e)
    assert res.steps.tolist() == [4] * 8 and set(res.status) == {"done"}
    assert e.rows == [8]                                    # one render at the end only
    assert fast.default_strengths == [1.0, 2.0, 3.0, 4.0]


def test_exact_mode_matches_neumann_for_small_radius(world):
    g, e, sgf, _, _ = world
    req = smile_request(g, e, n=6, seed=3)
    exact = SGF(mode="exact", layers_F=4, max_steps=1)
    exact.load_state(sgf.state_tensors(), sgf.state_meta())
    high = SGF(neumann_order=40, layers_F=4, max_steps=1)
    high.load_state(sgf.state_tensors(), sgf.state_meta())
    rho = sgf.spectral_radius(req.latents.tensor, req.c0)
    ok = rho < 0.7   # every sample, for a contractive F with kappa 0.5
    a, b = exact.edit(req, g, e).latents.tensor, high.edit(req, g, e).latents.tensor
    assert ok.all()
    assert torch.allclose(a[ok], b[ok], atol=1e-3)


def test_non_finite_latents_stop_that_sample_only(world, monkeypatch):
    g, e, sgf, _, _ = world
    req = smile_request(g, e, n=4, seed=4)
    original = SGF.direction
    victim = req.latents.tensor[0]

    def poisoned(self, latents, conditions, dc, exact=False):
        step = original(self, latents, conditions, dc, exact)
        step[(latents - victim).abs().sum(1) < 1e-6] = float("nan")   # sample 0 blows up
        return step

    monkeypatch.setattr(SGF, "direction", poisoned)
    res = sgf.edit(req, g, e)
    assert res.status[0] == "non-finite" and res.steps[0] == 0
    assert torch.equal(res.latents.tensor[0], victim)           # keeps its last finite value
    assert "non-finite" not in res.status[1:]
    assert torch.isfinite(res.latents.tensor).all()


def test_wplus_layer_restricted_edit_leaves_other_layers_untouched(world):
    g, e, sgf, _, _ = world
    g_plus = ToyGenerator(space="w+")
    lat = g_plus.sample_latents(8, seed=5)
    req = smile_request(g_plus, e, space_latents=lat, dim=2, layers=[2, 3])
    res = sgf.edit(req, g_plus, e)
    assert torch.equal(res.latents.tensor[:, :2], lat.tensor[:, :2])
    assert not torch.equal(res.latents.tensor[:, 2:], lat.tensor[:, 2:])
    assert torch.equal(res.latents.tensor[:, 2], res.latents.tensor[:, 3])


def test_save_load_round_trip(world, tmp_path):
    g, e, sgf, _, _ = world
    path = tmp_path / "sgf.safetensors"
    sgf.save(path)
    loaded = SGF(layers_F=4, max_steps=30)
    loaded.load(path)
    req = smile_request(g, e, n=8, seed=6)
    assert torch.allclose(sgf.edit(req, g, e).latents.tensor, loaded.edit(req, g, e).latents.tensor, atol=1e-5)
    assert loaded.report["reconstruction_r2"] == pytest.approx(sgf.report["reconstruction_r2"])


def test_clear_errors(world):
    g, e, sgf, _, _ = world
    req = smile_request(g, e, n=2)
    with pytest.raises(ComponentError, match="not fitted"):
        SGF().edit(req, g, e)
    with pytest.raises(ComponentError, match="fitted on 8-d latents"):
        sgf.edit(EditRequest(Latents(torch.zeros(2, 5), "w"), req.c0, req.c1, [0]), g, e)
    with pytest.raises(ComponentError, match="c0 and c1 of shape"):
        sgf.edit(EditRequest(req.latents, req.c0[:, :2], req.c1[:, :2], [0]), g, e)
    bad = req.latents.tensor.clone()
    bad[1, 0] = float("inf")
    with pytest.raises(ComponentError, match="NaN or infinite"):
        sgf.edit(EditRequest(Latents(bad, "w"), req.c0, req.c1, [0]), g, e)


def test_step_fidelity_sgf_and_interfacegan_side_by_side(world):
    _, _, _, report, _ = world
    fid = report["step_fidelity"]
    assert set(fid["methods"]) == {"SGF", "InterFaceGAN"}
    sgf = fid["methods"]["SGF"]
    assert sgf["samples"] > 0 and sgf["cosine"] >= 0.8 and sgf["gain"] > 0.1


def test_step_fidelity_scores_a_wrong_step_as_wrong(world):
    from sgfkit_manipulators.step_fidelity import step_fidelity
    g, e, sgf, _, ds = world
    lat, c = ds.latents[:64], ds.conditions[:64]
    right = lambda z, cc, dc: sgf.direction(z, cc, dc)
    res = step_fidelity({"right": right, "reversed": lambda z, cc, dc: -right(z, cc, dc),
                         "still": lambda z, cc, dc: torch.zeros_like(z)}, g, e, lat, "w", c, 0.2)
    assert res["right"]["cosine"] > 0.8 and res["reversed"]["cosine"] < -0.8
    assert res["still"]["gain"] == 0.0


def _feed(errors, patience=4, smoothing=0.5, tolerance=0.05):
    """Run one sample through the loop with scripted errors; z after t steps is [t], c is [t] too."""
    from sgfkit_manipulators.sgf_loop import EditSettings, run_edit
    from sgfkit_manipulators.sgf_stopping import StopRule

    settings = EditSettings(0.2, len(errors) - 1, True, False, StopRule(tolerance, smoothing, patience))
    trace = run_edit(torch.zeros(1, 1), torch.zeros(1, 1), torch.ones(1, 1), [0], torch.tensor([errors[0]]), settings,
                     direction=lambda z, c, dc: torch.ones_like(z),
                     measure=lambda rows, z: z.clone(),
                     distance=lambda rows, c: torch.tensor([errors[int(c[0, 0])]]))
    return trace


def test_noisy_readings_do_not_stop_a_sample_that_is_getting_there():
    # two noisy readings in a row (the old rule "error rose twice" stopped here as diverging)
    trace = _feed([0.5, 0.6, 0.7, 0.3, 0.2, 0.04])
    assert trace.status == ["converged"] and int(trace.steps[0]) == 5 and float(trace.final.z[0, 0]) == 5.0


def test_a_sample_that_keeps_getting_worse_stops_as_diverging_and_rolls_back_to_its_best_step():
    trace = _feed([0.5, 0.4, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3])
    assert trace.status == ["diverging"] and int(trace.steps[0]) < 9
    assert float(trace.final.z[0, 0]) == 1.0 and float(trace.errors[0]) == pytest.approx(0.4)   # step 1 was best
    assert float(trace.final.c[0, 0]) == 1.0 and trace.result_steps.tolist() == [1]
    # the sweep's snapshot at the stopping step is the rolled-back result, and it stays there
    stop = int(trace.steps[0])
    assert all(float(s[0, 0]) == 1.0 for s in trace.snapshots[stop:])


def test_out_of_steps_also_returns_to_the_best_step():
    trace = _feed([0.5, 0.2, 0.3, 0.25])
    assert trace.status == ["max_steps"] and float(trace.final.z[0, 0]) == 1.0


def _noisy(trend, noise, seed, steps=40):
    gen = torch.Generator().manual_seed(seed)
    return [max(0.0, float(trend(t) + noise * torch.randn(1, generator=gen))) for t in range(steps)]


def test_noisy_improving_readings_are_never_called_diverging():
    # a detector that jitters by +-0.02 (0.4 px at 20 px per unit) over an error that falls from 0.5
    # to a floor of 0.15 (the target is out of reach): never "diverging", always back to a good step
    for seed in range(20):
        errors = _noisy(lambda t: max(0.15, 0.5 - 0.04 * t), 0.02, seed)
        trace = _feed(errors, tolerance=0.05)
        assert trace.status[0] in ("rolled-back", "max_steps"), (seed, errors)
        assert float(trace.errors[0]) == pytest.approx(min(errors[: int(trace.steps[0]) + 1]))
        assert float(trace.errors[0]) < 0.2


def test_noisy_improving_readings_that_reach_the_tolerance_converge():
    for seed in range(20):
        errors = _noisy(lambda t: 0.5 * 0.85 ** t, 0.015, seed)
        trace = _feed(errors, tolerance=0.05)
        assert trace.status == ["converged"], (seed, errors)
        assert float(trace.errors[0]) <= 0.05


def test_noisy_readings_that_truly_diverge_are_called_diverging():
    for seed in range(20):
        errors = _noisy(lambda t: 0.3 + 0.05 * t, 0.02, seed)
        trace = _feed(errors)
        assert trace.status == ["diverging"], (seed, errors)
        assert int(trace.steps[0]) <= 10                                 # stops early, not at the budget
        assert float(trace.errors[0]) == pytest.approx(min(errors[: int(trace.steps[0]) + 1]))


def test_a_step_that_is_not_finite_stops_that_sample_where_it_was():
    from sgfkit_manipulators.sgf_loop import EditSettings, run_edit
    from sgfkit_manipulators.sgf_stopping import StopRule

    settings = EditSettings(0.2, 5, True, False, StopRule(0.05))
    step = torch.tensor([[1.0], [float("nan")]])
    trace = run_edit(torch.zeros(2, 1), torch.zeros(2, 1), torch.ones(2, 1), [0], torch.tensor([0.5, 0.5]), settings,
                     direction=lambda z, c, dc: step[: len(z)] if len(z) == 2 else torch.ones_like(z),
                     measure=lambda rows, z: z.clone(), distance=lambda rows, c: 0.5 - 0.1 * c[:, 0])
    assert trace.status == ["converged", "non-finite"] and trace.steps.tolist() == [5, 0]
    assert float(trace.final.z[1, 0]) == 0.0 and torch.isfinite(trace.final.z).all()


def test_the_stopping_rule_never_mutates_its_input():
    from sgfkit_manipulators.sgf_stopping import StopRule

    rule = StopRule(0.05, 0.5, 2)
    track = rule.start(0.5)
    after = rule.observe(track, 0.3)
    assert track.step == 0 and track.err == 0.5 and after.step == 1 and after.best_err == 0.3


def _spy_on_dc(monkeypatch):
    """Record the dc [B, k] of every SGF step (a list that fills as the edit runs)."""
    seen = []
    original = SGF.direction

    def spy(self, latents, conditions, dc, exact=False):
        seen.append(dc.clone())
        return original(self, latents, conditions, dc, exact)

    monkeypatch.setattr(SGF, "direction", spy)
    return seen


def test_reaim_steps_at_the_remaining_change_on_targeted_dims_only(world, monkeypatch):
    g, e, sgf, _, _ = world
    req = smile_request(g, e, n=16, seed=5)
    seen = _spy_on_dc(monkeypatch)
    reaim = SGF(layers_F=4, max_steps=30, reaim=True)
    reaim.load_state(sgf.state_tensors(), sgf.state_meta())
    res = reaim.edit(req, g, e)
    assert len(seen) > 1 and torch.count_nonzero(torch.cat(seen)[:, 1:]) == 0   # only the smile dim moves
    assert not torch.allclose(seen[1][0, 0], seen[0][0, 0])                    # re-aimed after step 1
    after = ToyAttributes().measure(g, res.latents)
    assert float((req.c1[:, 0] - after[:, 0]).abs().mean()) < 0.3 * float((req.c1[:, 0] - req.c0[:, 0]).abs().mean())


def test_a_plateau_of_identical_readings_is_not_divergence():
    # a captioner repeats its caption (same error) until the image has changed enough
    trace = _feed([0.5] + [0.4] * 10 + [0.3, 0.04])
    assert trace.status == ["converged"] and int(trace.steps[0]) == 12


def test_follow_coupling_moves_tied_dims_with_the_targeted_ones_and_keeps_held_ones():
    from sgfkit_manipulators.sgf_loop import follow_coupling

    gen = torch.Generator().manual_seed(0)
    a, b, noise = (torch.randn(4000, generator=gen) for _ in range(3))
    # dim 1 is read from dim 0 (a score read from a point), dim 2 is independent, dim 3 is held
    c = torch.stack([a, 2.0 * a + 0.05 * noise, b, 0.5 * b + 0.3 * a], dim=1)
    couple = follow_coupling(torch.cov(c.T), [0, 3])
    dc = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    out = couple(dc)
    assert out[0, 0] == 1.0 and out[0, 3] == 0.0                       # asked and held dims as asked
    assert out[0, 1] == pytest.approx(2.0, abs=0.05)                   # the tied score follows
    assert out[0, 2] == pytest.approx(-0.6, abs=0.05)                  # E[b | a, 0.5 b + 0.3 a fixed]
    assert torch.equal(dc, torch.tensor([[1.0, 0.0, 0.0, 0.0]]))      # input untouched


def test_untargeted_follow_is_a_fit_option_and_hold_keeps_the_fit_key(world):
    g, e, sgf, _, _ = world
    hold, follow = SGF(layers_F=4, train_steps=500, lr=1e-3), SGF(layers_F=4, train_steps=500, lr=1e-3, untargeted="follow")
    assert "untargeted" not in hold.fit_params() and follow.fit_params()["untargeted"] == "follow"
    asks = SGF(layers_F=4, max_steps=30, untargeted="follow")
    asks.load_state(sgf.state_tensors(), sgf.state_meta())
    with pytest.raises(ComponentError, match="fit it again with untargeted: follow"):
        asks.edit(smile_request(g, e, n=2), g, e)


def test_untargeted_follow_asks_f_for_the_tied_change_and_still_reaches_the_target(world, monkeypatch):
    g, e, sgf, _, ds = world
    follow = SGF(layers_F=4, max_steps=30, reaim=True, untargeted="follow")
    follow.load_state({**sgf.state_tensors(), "norm.c_cov": torch.cov(ds.conditions.float().T)}, sgf.state_meta())
    seen = _spy_on_dc(monkeypatch)
    req = smile_request(g, e, n=16, seed=7)
    res = follow.edit(req, g, e)
    assert torch.count_nonzero(seen[0][:, 1:]) > 0                      # untargeted dims are asked to follow
    after = ToyAttributes().measure(g, res.latents)
    assert float((req.c1[:, 0] - after[:, 0]).abs().mean()) < 0.3 * float((req.c1[:, 0] - req.c0[:, 0]).abs().mean())


def test_an_ensemble_F_is_the_mean_of_its_members_and_stays_contractive(world, tmp_path):
    g, e, single, _, ds = world
    sgf = SGF(layers_F=4, train_steps=500, lr=1e-3, max_steps=30, ensemble=3)
    report = sgf.fit(ds, g, e)
    members = sgf.F.members
    assert len(members) == 3 and report["ensemble"]["size"] == 3
    # member 0 is the single fit (same seed): the ensemble adds seeds, it does not change the first F
    torch.manual_seed(4)
    u, c = torch.randn(64, sgf.F.latent_dim), torch.randn(64, sgf.F.cond_dim)
    assert torch.allclose(members[0](u, c), single.F(u, c), atol=1e-6)
    assert not torch.allclose(members[0](u, c), members[1](u, c), atol=1e-3)   # other seeds, other F
    assert torch.allclose(sgf.F(u, c), sum(m(u, c) for m in members) / 3, atol=1e-6)
    kappa = sgf.params["contraction"]
    assert report["lipschitz_bound"] <= kappa + 2e-4 and report["spectral_radius_max"] < kappa + 1e-4
    # the mean's squared error is at most the members' mean squared error (Jensen): the report agrees
    member_r2 = report["ensemble"]["member_r2"]
    assert len(member_r2) == 3 and report["reconstruction_r2"] >= sum(member_r2) / 3 - 1e-6
    # a different fit (cache key), and single fits keep the keys they always had
    assert sgf.fit_params()["ensemble"] == 3 and "ensemble" not in single.fit_params()
    path = tmp_path / "ensemble.safetensors"
    sgf.save(path)
    loaded = SGF(layers_F=4, max_steps=30)
    loaded.load(path)
    req = smile_request(g, e, n=8, seed=6)
    assert torch.allclose(sgf.edit(req, g, e).latents.tensor, loaded.edit(req, g, e).latents.tensor, atol=1e-5)
    broken = {k: v for k, v in sgf.state_tensors().items() if not k.startswith("F.m2.")}
    with pytest.raises(ComponentError, match="no tensors for ensemble member 2"):
        SGF().load_state(broken, sgf.state_meta())


def _plateau_run(growth, steps=4, reader=lambda rows, z: 4 * torch.floor(z / 4), moves=True):
    """Re-aimed steps from 0 towards 10 with a scripted reader (default: it changes only every 4 latent units,
    a captioner's repeated reading); returns the dc of each step. ``moves=False``: steps never move z."""
    from sgfkit_manipulators.sgf_loop import EditSettings, run_edit
    from sgfkit_manipulators.sgf_stopping import StopRule

    seen = []

    def direction(z, c, dc):
        seen.append(round(float(dc[0, 0]), 4))
        return dc.clone() if moves else torch.zeros_like(z)   # one latent unit per condition unit

    settings = EditSettings(0.2, steps, True, True, StopRule(0.001, 0.5, 2 * steps), growth)
    run_edit(torch.zeros(1, 1), torch.zeros(1, 1), torch.full((1, 1), 10.0), [0], torch.tensor([1.0]), settings,
             direction=direction, measure=reader, distance=lambda rows, c: (c[:, 0] - 10).abs() / 10)
    return seen


def test_a_repeated_reading_lengthens_the_next_reaimed_step_and_a_new_reading_resets_it():
    from sgfkit_manipulators.sgf_loop import MAX_PLATEAU_BOOST

    # z 0 -> 2 (reads 0 again: x2) -> 6 (reads 4: reset) -> 7.2 (reads 4 again: x2) -> 9.6
    assert _plateau_run(2.0) == [2.0, 4.0, 1.2, 2.4]
    # off: a repeated reading repeats the same step (z 0 -> 2 -> 4 -> 5.2 -> 6.4)
    assert _plateau_run(1.0) == [2.0, 2.0, 1.2, 1.2]
    # the growth stops at MAX_PLATEAU_BOOST base steps (a sample that never moves reads the same forever)
    seen = _plateau_run(4.0, steps=8, reader=lambda rows, z: z.clone(), moves=False)
    assert seen[:4] == [2.0, 8.0, 2.0 * MAX_PLATEAU_BOOST, 2.0 * MAX_PLATEAU_BOOST]


def test_plateau_growth_is_an_edit_option_not_a_fit_option():
    sgf = SGF(plateau_growth=2.0, train_steps=10)
    assert "plateau_growth" not in sgf.fit_params() and sgf.settings(10).plateau_growth == 2.0
    with pytest.raises(ParamError, match="plateau_growth"):
        SGF(plateau_growth=0.5)
