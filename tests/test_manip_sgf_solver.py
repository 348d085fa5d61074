"""SGF direction: batched Neumann JVPs against the exact dense solve, and the spectral-radius estimate."""
import pytest
import torch

from sgfkit_manipulators.aux_mapping import AuxMapping
from sgfkit_manipulators.sgf_solver import (exact_direction, jacobians, neumann_direction,
                                            per_sample_direction, spectral_radius)


@pytest.fixture(scope="module")
def problem():
    torch.manual_seed(0)
    F = AuxMapping(16, 4, 6, 16).frozen()
    u, c, dc = torch.randn(32, 16), torch.randn(32, 4), 0.2 * torch.randn(32, 4)
    j_u, _ = jacobians(F, u, c)
    rho = torch.linalg.eigvals(j_u).abs().amax(dim=1)
    return F, u, c, dc, rho


def relative_error(a, b):
    return (a - b).norm(dim=1) / b.norm(dim=1)


def test_neumann_converges_to_exact_solve_with_order(problem):
    F, u, c, dc, rho = problem
    exact = exact_direction(F, u, c, dc)
    ok = rho < 0.8                                   # where the series converges at a useful rate
    assert ok.sum() >= 24
    errors = {m: relative_error(neumann_direction(F, u, c, dc, m), exact)[ok] for m in (0, 1, 2, 4, 16)}
    medians = [float(errors[m].median()) for m in (0, 1, 2, 4, 16)]
    assert medians == sorted(medians, reverse=True)  # each extra order helps
    assert medians[1] < 0.1                          # stated tolerance for the default m = 1
    assert float(errors[16].max()) < 1e-2            # high order matches the solve


def test_exact_direction_solves_the_linear_system(problem):
    F, u, c, dc, _ = problem
    x = exact_direction(F, u, c, dc)
    j_u, j_c = jacobians(F, u, c)
    lhs = x - torch.einsum("bij,bj->bi", j_u, x)
    assert torch.allclose(lhs, torch.einsum("bdk,bk->bd", j_c, dc), atol=1e-4)


def test_batched_jvp_equals_per_sample_loop(problem):
    F, u, c, dc, _ = problem
    assert torch.allclose(neumann_direction(F, u, c, dc, 2), per_sample_direction(F, u, c, dc, 2), atol=1e-5)


def test_spectral_radius_estimate_matches_eigenvalues(problem):
    F, u, c, _, rho = problem
    est = spectral_radius(F, u, c, iterations=60)
    rel = (est - rho).abs() / rho
    assert float(rel.median()) < 0.02 and float(rel.max()) < 0.1
