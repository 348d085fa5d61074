"""edits.latents: source latents from files in sgfkit's and other tools' layouts, checked for space and shape."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import sgfkit
from sgfkit.errors import ComponentError
from sgfkit.latent_files import latents_from_array, read_latent_array

TINY = Path(__file__).parent / "fixtures" / "core" / "recipes" / "tiny.yaml"


class _Gen:
    """Just the sizes a latents check reads (the tiny generator's: z_dim = w_dim = 4, 3 layers)."""

    def __init__(self, space: str) -> None:
        self.space, self.z_dim, self.w_dim, self.num_ws, self.device = space, 4, 4, 3, torch.device("cpu")


@pytest.fixture
def work(tmp_path, monkeypatch, tiny_plugins):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _codes(n: int, *shape: int) -> np.ndarray:
    return np.random.default_rng(n).standard_normal((n, *shape)).astype(np.float32)


def test_each_layout_reads_back_the_array_it_holds(tmp_path):
    w_plus = _codes(2, 3, 4)
    np.savez(tmp_path / "projected_w.npz", w=w_plus[:1], extra=np.zeros(3))  # the official projector's key
    np.save(tmp_path / "boundary_codes.npy", w_plus[:, 0])
    torch.save(torch.from_numpy(w_plus), tmp_path / "latents.pt")  # e4e's inference output: one tensor
    torch.save({"codes": torch.from_numpy(w_plus), "names": torch.arange(2)}, tmp_path / "dict.pt")
    np.testing.assert_array_equal(read_latent_array(tmp_path / "projected_w.npz"), w_plus[:1])
    np.testing.assert_array_equal(read_latent_array(tmp_path / "boundary_codes.npy"), w_plus[:, 0])
    np.testing.assert_array_equal(read_latent_array(tmp_path / "latents.pt"), w_plus)
    np.testing.assert_array_equal(read_latent_array(tmp_path / "dict.pt", "codes"), w_plus)


@pytest.mark.parametrize("make, key, needle", [
    (lambda p: np.savez(p / "f.npz", a=np.zeros((1, 4)), b=np.zeros((1, 4))), None, "edits.latents_key"),
    (lambda p: np.savez(p / "f.npz", a=np.zeros((1, 4))), "ab", "did you mean 'a'"),
    (lambda p: np.save(p / "f.npy", np.array([{"img.png": np.zeros(4)}], dtype=object), allow_pickle=True),
     None, "does not unpickle"),
    (lambda p: (p / "f.npz").write_bytes(b"PK\x03\x04 truncated"), None, "cannot be read"),
    (lambda p: (p / "f.pt").write_bytes(b"not a torch file"), None, "cannot be read as tensors"),
    (lambda p: torch.save({"w": torch.zeros(1, 4), "f": _Gen}, p / "f.pt"), "w", "weights_only=True"),
    (lambda p: (p / "f.txt").write_text("1 2 3"), None, "unknown extension"),
    (lambda p: np.save(p / "f.npy", np.array(["a", "b"])), None, "numeric array"),
])
def test_unusable_files_get_one_clear_error(tmp_path, make, key, needle):
    make(tmp_path)
    file = next(tmp_path.iterdir())
    with pytest.raises(ComponentError, match=needle):
        read_latent_array(file, key)


def test_a_missing_file_names_the_recipe_key(tmp_path):
    with pytest.raises(ComponentError, match="not found; set edits.latents"):
        read_latent_array(tmp_path / "nope.npz")


def test_space_and_shape_are_checked_against_the_generator():
    w_plus = latents_from_array(_codes(2, 4), _Gen("w+"), "f")
    assert w_plus.space == "w+" and w_plus.tensor.shape == (2, 3, 4)  # w broadcast to every layer
    assert torch.equal(w_plus.tensor[:, 1], torch.from_numpy(_codes(2, 4)))
    assert latents_from_array(_codes(1, 4)[0], _Gen("w"), "f").tensor.shape == (1, 4)  # one code
    assert latents_from_array(_codes(2, 4), _Gen("z"), "f").space == "z"
    with pytest.raises(ComponentError, match="set generator.space: w\\+"):
        latents_from_array(_codes(2, 3, 4), _Gen("w"), "f")
    with pytest.raises(ComponentError, match=r"expects \[N, 3, 4\] \(num_ws, w_dim\)"):
        latents_from_array(_codes(2, 5, 4), _Gen("w+"), "f")
    with pytest.raises(ComponentError, match=r"expects \[N, 4\] \(w_dim\)"):
        latents_from_array(_codes(2, 8), _Gen("w"), "f")
    with pytest.raises(ComponentError, match="no latent codes"):
        latents_from_array(np.zeros((0, 4), np.float32), _Gen("w"), "f")
    with pytest.raises(ComponentError, match="too many"):
        latents_from_array(_codes(65, 4), _Gen("w"), "f")
    bad = _codes(3, 4)
    bad[1, 2] = np.nan
    with pytest.raises(ComponentError, match="rows 1"):
        latents_from_array(bad, _Gen("w"), "f")


def test_a_run_edits_file_latents_beside_the_seeds(work):
    first = sgfkit.run(TINY)
    produced = np.load(first.run_dir / "latents.npz")
    results = produced["00_shift_redder_results"]  # [2, 3, 4]: edit again what an earlier run made
    np.savez(work / "mine.npz", **{"00_shift_redder_results": results, "other": results[:1]})

    again = sgfkit.run(TINY, overrides=["edits.latents=mine.npz", "edits.latents_key=00_shift_redder_results"])
    out = np.load(again.run_dir / "latents.npz")
    sources = out["00_shift_redder_sources"]
    assert sources.shape == (4, 3, 4)  # 2 seeds, then the 2 file rows
    np.testing.assert_array_equal(sources[:2], produced["00_shift_redder_sources"])
    np.testing.assert_array_equal(sources[2:], results)
    assert again.edits[0].before.shape[0] == 4


def test_file_only_sources_and_a_bad_file_fails_before_fitting(work):
    np.save(work / "codes.npy", _codes(3, 4))  # w codes for a w+ generator: broadcast
    run = sgfkit.run(TINY, overrides=["edits.seeds=[]", "edits.latents=codes.npy"])
    sources = np.load(run.run_dir / "latents.npz")["00_shift_redder_sources"]
    np.testing.assert_allclose(sources, np.repeat(_codes(3, 4)[:, None], 3, axis=1))
    np.save(work / "wide.npy", _codes(3, 7))
    with pytest.raises(ComponentError, match=r"edits.latents 'wide.npy'.*expects \[N, 4\]"):
        sgfkit.run(TINY, overrides=["edits.latents=wide.npy", "output.cache_dir=fresh"])
    assert not (work / "fresh").exists()  # nothing sampled or fitted
