"""Known public checkpoints are found by file name through the registry, for every component."""
from __future__ import annotations

import pytest

from sgfkit.errors import WeightsError
from sgfkit.registry import get_registry
from sgfkit.weights import locate_weights


def test_registry_finds_a_declared_checkpoint_by_file_name():
    registry = get_registry()
    for entry in registry.weights:
        assert registry.known_weights(entry.weights.file_name) is not None
    assert registry.known_weights("no-such-file.pkl") is None


@pytest.mark.parametrize("file_name", ["pggan_celebahq.pth", "senet50_ft_weight.pkl", "stylegan2-ffhq-1024x1024.pkl"])
def test_a_missing_known_file_gets_download_help_without_the_caller_naming_it(file_name, tmp_path, monkeypatch):
    monkeypatch.setenv("SGFKIT_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    known = get_registry().known_weights(file_name)
    with pytest.raises(WeightsError) as err:
        locate_weights(file_name)
    assert f"Download {file_name}" in str(err.value) and known.source in str(err.value)
