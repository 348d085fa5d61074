"""MDC / MDS arithmetic on hand-made curves, including the SGF paper's Table 3 rows."""
import numpy as np
import pytest

from sgfkit.mdc import accumulated_mds, best_operating_point, harmonic_mean, mdc_points, mds

# Table 3 of the SGF paper (gender on FFHQ): (accuracy, disentanglement) in strength order.
SGF_GENDER = [(0.18, 0.986), (0.48, 0.915), (0.79, 0.890), (0.93, 0.872), (0.99, 0.859), (0.98, 0.842)]
IFG_GENDER = [(0.13, 0.993), (0.32, 0.942), (0.41, 0.883), (0.55, 0.822), (0.85, 0.612), (0.99, 0.469),
              (1.00, 0.398)]


def test_paper_table3_sgf_gender_is_0919():
    assert mds(SGF_GENDER) == pytest.approx(0.919, abs=5e-4)
    # the accumulated column of the paper, row by row (before the accuracy step back)
    paper = [0.179, 0.464, 0.744, 0.867, 0.919]
    assert accumulated_mds(SGF_GENDER)[:5] == pytest.approx(paper, abs=1.5e-3)


def test_paper_table3_interfacegan_gender_is_0808():
    assert mds(IFG_GENDER) == pytest.approx(0.808, abs=2.5e-3)


def test_perfect_and_useless_curves():
    assert mds([(1.0, 1.0)]) == pytest.approx(1.0)
    assert mds([(0.0, 1.0), (0.0, 0.5)]) == 0.0           # never succeeds: no area
    assert mds([(1.0, 0.0)]) == pytest.approx(0.5)         # one trapezoid from (0, 1)
    assert mds([]) == 0.0


def test_accuracy_step_back_adds_nothing():
    rising = [(0.5, 0.9), (0.8, 0.8)]
    assert mds(rising + [(0.6, 0.1)]) == pytest.approx(mds(rising))
    # hand computation: 0.5*(1+0.9)/2 + 0.3*(0.9+0.8)/2
    assert mds(rising) == pytest.approx(0.475 + 0.255)


def test_best_operating_point_uses_harmonic_mean():
    best = best_operating_point(SGF_GENDER)
    assert best["index"] == 4 and best["harmonic"] == pytest.approx(0.920, abs=1e-3)
    assert harmonic_mean(0.5, 0.5) == pytest.approx(0.5)
    assert best_operating_point([])["index"] == -1


def test_mdc_points_counts_direction_and_other_attributes():
    before = np.zeros((4, 3))
    direction = np.array([1, 1, -1, -1])
    after = before.copy()
    after[0, 0] = 0.5            # succeeds, others still
    after[1, 0] = -0.5           # wrong direction
    after[2, 0] = -0.5           # succeeds (direction -1)
    after[2, 1] = 0.3            # one other attribute moved
    after[3, 0] = -0.1           # below delta: no success
    after[3, 1:] = [0.3, -0.4]   # both others moved
    (acc, dis), = mdc_points(before, after, 0, direction, delta=0.2)
    assert acc == pytest.approx(0.5)
    assert dis == pytest.approx((1 + 1 + 0.5 + 0) / 4)


def test_mdc_points_per_strength_and_shape_errors():
    before = np.zeros((2, 2))
    after = np.stack([before, before + 1.0])
    pts = mdc_points(before, after, 1, np.array([1, 1]), delta=0.2)
    assert pts == [(0.0, 1.0), (1.0, 0.0)]
    with pytest.raises(ValueError, match="after"):
        mdc_points(before, np.zeros((2, 3, 2)), 0, np.ones(2), 0.2)
    with pytest.raises(ValueError, match="target_index"):
        mdc_points(before, after, 5, np.ones(2), 0.2)
