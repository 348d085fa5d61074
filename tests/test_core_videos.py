"""edits.video: every edit path (and a loop through the sources) as an mp4 / gif that decodes."""
from __future__ import annotations

import json
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
    # listed where a reader looks: metrics.json, report.md and report.html name every video and what it shows
    listed = json.loads((run.run_dir / "metrics.json").read_text())["files"]["videos"]
    assert sorted(listed) == videos
    report = (run.run_dir / "report.md").read_text()
    assert f"[video_00_shift_redder.{fmt}](video_00_shift_redder.{fmt}) (shift -> redder:" in report
    assert f"[video_sources.{fmt}](video_sources.{fmt}) (a loop through the edit sources)" in report
    page = (run.run_dir / "report.html").read_text()
    assert all(f'<a href="{v}">{v}</a>' in page for v in videos), page
    assert "shift-ridge -&gt; less-blue: every source along its edit path" in page


def test_runs_without_video_list_none(work):
    run = sgfkit.run(TINY)
    assert "videos" not in json.loads((run.run_dir / "metrics.json").read_text())["files"]
    assert "Videos:" not in (run.run_dir / "report.md").read_text()
    assert "Edit videos" not in (run.run_dir / "report.html").read_text()


def test_a_bad_video_section_is_reported_with_its_key(work):
    with pytest.raises(RecipeError, match=r"edits.video.format.*'webm'"):
        sgfkit.run(TINY, overrides=["edits.video={format: webm}"])
