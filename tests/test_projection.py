"""The projector kind, the optimize projector, photo loading and ``sgfkit project`` (issue 11)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import sgfkit
from sgfkit.components import Generator, Projector, psnr
from sgfkit.errors import ComponentError, ImageError
from sgfkit.images import load_image, load_images, save_image
from sgfkit.latents import Latents
from sgfkit_projectors.optimize import OptimizeProjector, learning_rate, noise_regularization

TINY = {"latent_dim": 32, "num_ws": 8, "resolution": 32}


@pytest.fixture(scope="module")
def faces() -> Generator:
    return sgfkit.get_generator("synth-faces", space="w+", truncation=1.0, **TINY)


def _targets(gen: Generator, seeds: list[int]) -> torch.Tensor:
    return gen.synthesize(gen.to_latents(gen.z_from_seeds(seeds)))


# -- the kind ---------------------------------------------------------------------------------

def test_projector_is_a_listed_kind() -> None:
    rows = sgfkit.list_components("projectors")
    assert [r["name"] for r in rows] == ["optimize"]
    assert sgfkit.api.component_class("projector", "optimize") is OptimizeProjector
    assert issubclass(OptimizeProjector, Projector)


def test_recipe_projector_section_defaults_its_type(tmp_path: Path) -> None:
    recipe = sgfkit.load_recipe("recipes/faces_attributes.yaml", ["projector.steps=7"])
    assert recipe.data["projector"]["type"] == "optimize" and recipe.data["projector"]["steps"] == 7
    with pytest.raises(sgfkit.RecipeError, match="projector.steps"):
        sgfkit.load_recipe("recipes/faces_attributes.yaml", ["projector.steps=0"])


# -- image loading ----------------------------------------------------------------------------

def test_rgba_greyscale_and_crop(tmp_path: Path) -> None:
    rgba = np.zeros((20, 40, 4), np.uint8)
    rgba[:, :10] = (255, 0, 0, 255)         # left margin: cut away by the centred square
    rgba[:, 10:30] = (0, 0, 255, 0)         # the square: fully transparent -> white
    Image.fromarray(rgba).save(tmp_path / "a.png")
    x = load_image(tmp_path / "a.png", 20)
    assert x.shape == (3, 20, 20) and torch.allclose(x, torch.ones_like(x))
    grey = np.tile(np.arange(16, dtype=np.uint8)[None] * 16, (16, 1))
    Image.fromarray(grey).save(tmp_path / "g.png")
    g = load_image(tmp_path / "g.png", 16)
    assert torch.equal(g[0], g[1]) and torch.equal(g[1], g[2])
    assert torch.allclose(g[0, 0], torch.from_numpy(grey[0]).float() / 127.5 - 1)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    arr = np.zeros((8, 8, 3), np.uint8)
    arr[0, 0] = (255, 255, 255)  # stored top-left
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    img.save(tmp_path / "r.jpg", exif=exif, quality=100)
    x = load_image(tmp_path / "r.jpg", 8)
    corners = {name: float(x[:, i, j].mean()) for name, (i, j) in
               {"tl": (0, 0), "tr": (0, 7), "bl": (7, 0), "br": (7, 7)}.items()}
    assert max(corners, key=corners.get) == "tr"


@pytest.mark.parametrize("content, message", [(b"", "empty"), (b"not an image", "not a readable image")])
def test_bad_files_get_one_line_errors(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "x.png").write_bytes(content)
    with pytest.raises(ImageError, match=message) as info:
        load_images([tmp_path / "x.png"], 32)
    assert "\n" not in str(info.value)
    with pytest.raises(ImageError, match="no such image"):
        load_images([tmp_path / "missing.png"], 32)


# -- optimize ---------------------------------------------------------------------------------

def test_learning_rate_schedule() -> None:
    assert learning_rate(0.0, 0.1, 0.25, 0.05) == 0.0
    assert learning_rate(0.5, 0.1, 0.25, 0.05) == pytest.approx(0.1)
    assert learning_rate(0.025, 0.1, 0.25, 0.05) == pytest.approx(0.05)
    assert learning_rate(0.875, 0.1, 0.25, 0.05) == pytest.approx(0.05)  # half-way down the cosine
    assert learning_rate(0.999, 0.1, 0.25, 0.05) < 1e-4


def test_noise_regularization_penalises_correlated_noise() -> None:
    white = [torch.randn(32, 32, generator=torch.Generator().manual_seed(0))]
    smooth = [torch.nn.functional.avg_pool2d(torch.randn(1, 1, 36, 36), 5, stride=1)[0, 0] * 5]
    assert noise_regularization(smooth) > 100 * noise_regularization(white)


def test_projection_reconstructs_and_beats_the_start(faces: Generator) -> None:
    target = _targets(faces, [7_000_000, 7_000_001])
    proj = sgfkit.get_projector("optimize", space="w+", steps=40, stats_samples=500, init_candidates=32)
    result = proj.project(target, faces)
    assert result.latents.space == "w+" and result.latents.tensor.shape == (2, 8, 32)
    start = faces.synthesize(Latents(proj.w_stats(faces)[0][None], "w"))
    assert len(result.losses) == 40 and result.losses[-1] < result.losses[0]
    assert torch.allclose(torch.tensor(result.scores["psnr"]), psnr(result.reconstructions, target), atol=1e-4)
    gain = torch.tensor(result.scores["psnr"]) - psnr(start.expand_as(target), target)
    assert (gain > 3.0).all(), gain  # weak bound on a 40-step run; the benchmark has the real numbers
    assert min(result.scores["psnr"]) > 15.0
    report = result.report()
    assert report["distance"] == "pixel-features" and "synth-faces" in report["note"]
    json.dumps(report)


def test_batched_projection_equals_one_at_a_time(faces: Generator) -> None:
    target = _targets(faces, [7_000_010, 7_000_011])
    params = dict(space="w", steps=15, stats_samples=300, init_candidates=8, seed=3)
    both = sgfkit.get_projector("optimize", batch_size=2, **params).project(target, faces)
    one = sgfkit.get_projector("optimize", batch_size=1, **params).project(target[:1], faces)
    assert both.latents.tensor.shape == (2, 32)
    # equal up to float rounding of batched convolutions (Adam amplifies it a little); a coupling
    # between the images (shared noise draws, batch statistics) moves them by ~0.1-1
    assert torch.allclose(both.latents.tensor[:1], one.latents.tensor, atol=5e-3)


def test_wrong_images_are_refused(faces: Generator) -> None:
    proj = sgfkit.get_projector("optimize", steps=1)
    with pytest.raises(ComponentError, match=r"\[N, 3, 32, 32\]"):
        proj.project(torch.zeros(1, 3, 64, 64), faces)
    with pytest.raises(ComponentError, match="NaN"):
        proj.project(torch.full((1, 3, 32, 32), float("nan")), faces)


class _NoisyGenerator(Generator):
    """w+ [N, 2, 4] -> image = tanh(mean(w) + noise map): a generator with one noise input."""

    def __init__(self) -> None:
        super().__init__(space="w+")
        self.z_dim = self.w_dim = 4
        self.num_ws, self.resolution = 2, 16
        self.noise = torch.randn(16, 16, generator=torch.Generator().manual_seed(1))

    def noise_buffers(self) -> list[torch.Tensor]:
        return [self.noise]

    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        return z

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        level = ws.mean(dim=(1, 2))[:, None, None, None]
        return torch.tanh(level + 0.1 * self.noise).expand(-1, 3, -1, -1)


def test_noise_maps_are_optimised_then_restored() -> None:
    gen = _NoisyGenerator()
    before = gen.noise.clone()
    target = torch.full((2, 3, 16, 16), 0.3)
    result = sgfkit.get_projector("optimize", space="w", steps=30, stats_samples=50,
                                  feature_weight=0.0).project(target, gen)
    assert result.info["noise_maps"] == 1
    assert torch.equal(gen.noise, before) and not gen.noise.requires_grad
    assert len(result.losses) == 30  # one image at a time: per-step means over both images


# -- CLI --------------------------------------------------------------------------------------

def test_cli_project_writes_latents_grid_and_scores(tmp_path: Path, faces: Generator) -> None:
    from click.testing import CliRunner

    from sgfkit.cli import cli

    for i, img in enumerate(_targets(faces, [7_000_020])):
        save_image(img, tmp_path / f"face{i}.png")
    Image.new("RGBA", (50, 30), (10, 200, 30, 128)).save(tmp_path / "wide.png")
    res = CliRunner().invoke(cli, ["project", str(tmp_path / "face0.png"), str(tmp_path / "wide.png"),
                                   "--recipe", "recipes/faces_attributes.yaml", "--out", str(tmp_path / "runs"),
                                   "--set", "projector.steps=3", "--set", "projector.stats_samples=100",
                                   "--set", "projector.init_candidates=4", "--set", "generator.resolution=32",
                                   "--set", "generator.latent_dim=32", "--set", "generator.num_ws=8"])
    assert res.exit_code == 0, res.output
    run = next((tmp_path / "runs").iterdir())
    data = np.load(run / "latents.npz")
    assert data["latents"].shape == (2, 8, 32) and str(data["space"]) == "w+"
    assert list(data["files"]) == ["face0.png", "wide.png"]
    report = json.loads((run / "projection.json").read_text())
    assert len(report["losses"]) == 3 and all(math.isfinite(p) for p in report["scores"]["psnr"])
    assert Image.open(run / "projection.png").size[0] > 100
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    res = CliRunner().invoke(cli, ["project", str(empty), "--recipe", "recipes/faces_attributes.yaml",
                                   "--out", str(tmp_path / "runs2")])
    assert res.exit_code == 1 and "empty" in res.output and "Traceback" not in res.output


# -- edit -------------------------------------------------------------------------------------

def test_edit_projects_fits_and_edits_a_photo_with_a_chain(tmp_path: Path, faces: Generator) -> None:
    from click.testing import CliRunner

    from sgfkit.cli import cli

    save_image(_targets(faces, [7_000_030])[0], tmp_path / "me.png")
    small = ["--set", "generator.resolution=32", "--set", "generator.latent_dim=32", "--set", "generator.num_ws=8",
             "--set", "dataset.samples=300", "--set", "manipulators=[{type: interfacegan}]",
             "--set", "metrics=[]", "--set", "projector.steps=20", "--set", "projector.stats_samples=200",
             "--set", "projector.init_candidates=16", "--set", f"output.cache_dir={tmp_path / 'cache'}"]
    args = ["edit", str(tmp_path / "me.png"), "--recipe", "recipes/faces_attributes.yaml", "--out",
            str(tmp_path / "runs"), "--target", "smile=1 > bald=1", "--no-progress", *small]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    run = next((tmp_path / "runs").iterdir())
    assert {"edits.png", "projection.png", "projection.json", "latents.npz", "metrics.json"} <= \
        {p.name for p in run.iterdir()}
    metrics = json.loads((run / "metrics.json").read_text())
    assert [e["label"] for e in metrics["edits"]] == ['{"smile":1.0} > {"bald":1.0} [1/2]',
                                                     '{"smile":1.0} > {"bald":1.0} [2/2]']
    assert json.loads((run / "projection.json").read_text())["space"] == "w"  # the recipe's space
    data = np.load(run / "latents.npz")
    sources = [k for k in data.files if k.endswith("_sources")]
    assert data[sources[0]].shape == (1, 32)
    # the second run reuses the cached dataset and fit
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    second = sorted((tmp_path / "runs").iterdir())[-1]
    hits = json.loads((second / "metrics.json").read_text())["cache_hits"]
    assert hits["dataset"] and all(v for k, v in hits.items() if k.startswith("fit:"))


def test_parse_target() -> None:
    from sgfkit.errors import SgfkitError
    from sgfkit.projection import parse_target

    assert parse_target("smile=1") == {"smile": 1.0}
    assert parse_target("smile=1, age=0.2") == {"smile": 1.0, "age": 0.2}
    assert parse_target("smile=1 > bald=1") == [{"smile": 1.0}, {"bald": 1.0}]
    assert parse_target("caption=a red flower") == {"caption": "a red flower"}
    with pytest.raises(SgfkitError, match="NAME=VALUE"):
        parse_target("smile")


def test_stylegan2_noise_maps_take_part_and_are_restored() -> None:
    from sgfkit_stylegan2.generator import StyleGAN2Generator

    fixture = Path(__file__).parent / "fixtures" / "stylegan2" / "G_ema_state_dict.npz"
    gen = StyleGAN2Generator(checkpoint=fixture.name, base_dir=fixture.parent)
    maps = gen.noise_buffers()
    assert maps and all(m.dim() == 2 for m in maps)
    before = [m.clone() for m in maps]
    target = gen.synthesize(gen.to_latents(gen.z_from_seeds([3]), "w"))
    result = sgfkit.get_projector("optimize", space="w", steps=4, stats_samples=64, init_candidates=4,
                                  feature_weight=0.0).project(target, gen)
    assert result.info["noise_maps"] == len(maps)
    assert all(torch.equal(m, b) and not m.requires_grad for m, b in zip(gen.noise_buffers(), before))
    assert StyleGAN2Generator(checkpoint=fixture.name, base_dir=fixture.parent, noise_mode="none").noise_buffers() == []
