"""edits.video: every edit path (and a loop through the sources) as an mp4 / gif that decodes."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sgfkit
from sgfkit.recipe import RecipeError
from sgfkit.videos import resample_path, source_loop

iio = pytest.importorskip("imageio.v3")

TINY = Path(__file__).parent / "fixtures" / "core" / "recipes" / "tiny.yaml"


@pytest.fixture
def work(tmp_path, monkeypatch, tiny_plugins):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_resampling_keeps_the_ends_and_is_linear_between_points():
    path = np.array([[[0.0, 0.0]], [[1.0, 2.0]], [[3.0, 2.0]]], np.float32)   # [T=3, N=1, 2]
    out = resample_path(path, 5)
    np.testing.assert_allclose(out[:, 0], [[0, 0], [0.5, 1], [1, 2], [2, 2], [3, 2]])
    loop = source_loop(np.array([[0.0], [4.0]], np.float32), 4)               # 0 -> 4 -> 0
    np.testing.assert_allclose(loop[:, 0, 0], [0, 1, 2, 3, 4, 3, 2, 1])


@pytest.mark.parametrize("fmt", ["mp4", "gif"])
def test_each_edit_gets_a_video_with_the_asked_frame_count(work, fmt):
    run = sgfkit.run(TINY, overrides=[f"edits.video={{format: {fmt}, fps: 8, frames: 6}}"])
    videos = sorted(p.name for p in run.run_dir.glob("video_*"))
    assert videos == [f"video_00_shift_redder.{fmt}", f"video_01_shift_less-blue.{fmt}",
                      f"video_02_shift-ridge_redder.{fmt}", f"video_03_shift-ridge_less-blue.{fmt}",
                      f"video_sources.{fmt}"]
    frames = iio.imread(run.run_dir / f"video_00_shift_redder.{fmt}", index=None)
    assert frames.shape[0] == 6 and frames.shape[-1] == 3
    # the first and last frames show the sources and the results: the edit changes the picture
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 1
    assert iio.imread(run.run_dir / f"video_sources.{fmt}", index=None).shape[0] == 2 * 3  # 2 sources x 6 // 2
    assert "videos" in run.timings


def test_a_bad_video_section_is_reported_with_its_key(work):
    with pytest.raises(RecipeError, match=r"edits.video.format.*'webm'"):
        sgfkit.run(TINY, overrides=["edits.video={format: webm}"])
