"""sgfkit export: a run's fitted InterFaceGAN / GANSpace directions in their tools' layouts, used again
through the direction manipulator in a second run."""
from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import sgfkit
from sgfkit.cli import cli
from sgfkit.errors import SgfkitError
from sgfkit.export import export_run


def _recipe(manipulators):
    return {"name": "export", "seed": 0, "device": "cpu",
            "generator": {"type": "synth-faces", "space": "w", "latent_dim": 32, "resolution": 32},
            "encoder": {"type": "synth-faces-truth"},
            "dataset": {"samples": 300, "batch_size": 100},
            "manipulators": manipulators,
            "edits": {"seeds": [0, 1, 2, 3], "path_steps": 0, "targets": [{"target": {"smile": 1.0}, "label": "smile"}]},
            "output": {"dir": "runs", "cache_dir": "cache"}}


def test_exported_boundaries_edit_like_the_method_that_fitted_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first = sgfkit.run(_recipe([{"type": "interfacegan", "label": "IFG", "ratio": 0.1},
                                {"type": "ganspace", "label": "GS", "components": 6, "samples": 600,
                                 "std_samples": 200, "selection": "correlation"}]))
    result = CliRunner().invoke(cli, ["export", str(first.run_dir), "--format", "interfacegan"])
    assert result.exit_code == 0, result.output
    boundary = first.run_dir / "export-interfacegan" / "boundary_smile.npy"
    assert f"wrote {boundary}" in result.output and np.load(boundary).shape == (1, 32)
    (cache_file,) = export_run(first.run_dir, "ganspace", tmp_path / "gs")
    with np.load(cache_file) as npz:
        assert npz["lat_comp"].shape == (6, 1, 32) and npz["lat_stdev"].shape == (6,)

    assert json.loads((first.run_dir / "metrics.json").read_text())["edits"][0]["method"] == "IFG"
    second = sgfkit.run(_recipe([{"type": "direction", "file": str(boundary), "condition": "smile",
                                  "strength": 1.5}]))
    ours = np.load(second.run_dir / "latents.npz")["00_direction_smile_results"]
    before = np.load(second.run_dir / "latents.npz")["00_direction_smile_sources"]
    # each source moves 1.5 along the exported unit normal, the way its smile target asks
    moved = ours - before
    unit = np.load(boundary)[0]
    np.testing.assert_allclose(moved, 1.5 * np.ones((4, 1)) * unit[None], atol=1e-5)  # smile 1.0: always up
    smile_before = second.edits[0].before[:, second.edits[0].names.index("smile")]
    smile_after = second.edits[0].after[:, second.edits[0].names.index("smile")]
    assert (smile_after > smile_before).sum() >= 3  # the loaded boundary raises the smile it was fitted on


def test_export_errors_are_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SgfkitError, match="not a run folder"):
        export_run(tmp_path, "interfacegan")
    run = sgfkit.run(_recipe([{"type": "interfacegan", "ratio": 0.1}]))
    with pytest.raises(SgfkitError, match=r"exported as ganspace \(it has interfacegan \(interfacegan\)\)"):
        export_run(run.run_dir, "ganspace")
    monkeypatch.chdir(tmp_path / "runs")
    with pytest.raises(SgfkitError, match="not in the cache"):
        export_run(tmp_path / run.run_dir, "interfacegan")
