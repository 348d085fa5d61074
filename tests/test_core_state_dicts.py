"""load_state_checked: a checkpoint that does not fit names the file and every kind of mismatch."""
from __future__ import annotations

import pytest
import torch

from sgfkit.errors import WeightsError
from sgfkit.state_dicts import load_state_checked


def test_a_fitting_state_loads_and_casts_dtypes() -> None:
    net = torch.nn.Linear(3, 2)
    state = {k: torch.full_like(v, 0.5, dtype=torch.float64) for k, v in net.state_dict().items()}
    load_state_checked(net, state, "w.pt", "linear layer")
    assert net.weight.dtype == torch.float32 and torch.all(net.weight == 0.5)


def test_mismatches_are_all_named() -> None:
    net = torch.nn.Linear(3, 2)
    state = {"weight": torch.zeros(2, 4), "extra": torch.zeros(1)}
    with pytest.raises(WeightsError) as err:
        load_state_checked(net, state, "w.pt", "linear layer")
    message = str(err.value)
    assert message.startswith("w.pt: does not fit the linear layer")
    assert "missing keys ['bias']" in message and "unexpected keys ['extra']" in message
    assert "weight: file [2, 4] vs model [2, 3]" in message


def test_optional_suffixes_may_be_missing() -> None:
    net = torch.nn.BatchNorm1d(2)
    state = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    load_state_checked(net, state, "bn.pt", "norm", optional=("num_batches_tracked",))
    with pytest.raises(WeightsError, match="num_batches_tracked"):
        load_state_checked(net, state, "bn.pt", "norm")
