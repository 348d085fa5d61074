"""The leak-decomposition benchmark reads each recipe's own SGF settings (it must not drift from the recipes)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_leak_decomposition",
                                                  ROOT / "benchmarks" / "bench_leak_decomposition.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("recipe", ["recipes/faces_attributes.yaml", "recipes/faces_attributes_z.yaml",
                                    "recipes/anime_keypoints.yaml"])
def test_recipe_setup_takes_the_recipes_fit_options_and_drops_edit_only_ones(recipe):
    spec = yaml.safe_load((ROOT / recipe).read_text())
    first_sgf = next(m for m in spec["manipulators"] if m["type"] == "sgf")
    setup = _bench().recipe_setup(recipe)
    assert setup["samples"] == spec["dataset"]["samples"]
    assert setup["generator"] == spec["generator"] and setup["encoder"] == spec["encoder"]
    assert setup["sgf"]["train_steps"] == first_sgf["train_steps"]
    assert not {"type", "label", "max_steps", "reaim", "tolerance"} & set(setup["sgf"])
    from sgfkit.api import get_manipulator

    built = get_manipulator("sgf", **setup["sgf"])   # every kept option is a real SGF parameter
    assert all(built.params[k] == v for k, v in setup["sgf"].items())


def test_table_prints_learned_and_truth_columns_per_direction():
    row = {"learned": {"cosine": 0.9, "gain": 1.0, "leak": 0.4}, "truth": {"cosine": 1.0, "gain": 1.1, "leak": 0.2}}
    text = _bench().table({"tables": {"0.2": {"SGF (m = 1)": row}}}, "0.2")
    assert "| SGF (m = 1) | 0.900 / 1.000 / 0.400 | 1.000 / 1.100 / 0.200 |" in text


def test_probe_regression_recovers_the_min_norm_step_of_a_linear_black_box():
    import torch

    torch.manual_seed(0)
    d, k = 24, 3
    A = torch.randn(d, k)

    class LinearC:   # C(G(z)) = z A, measured only through measure() (a black box)
        def measure(self, generator, latents):
            return latents.tensor @ A

    lat = torch.randn(5, d)
    c = lat @ A
    step = _bench()._probe_regression(LinearC(), None, lat, c, "z", probes=400, seed=0, ridge=1e-6)
    dc = torch.randn(5, k)
    dz = step(dc)
    assert torch.allclose(dz @ A, dc, atol=0.05 * float(dc.abs().max()))          # reaches the asked change
    min_norm = dc @ torch.linalg.pinv(A)
    assert torch.allclose(dz, min_norm, atol=0.25 * float(min_norm.abs().max()))   # and nothing else, to noise
