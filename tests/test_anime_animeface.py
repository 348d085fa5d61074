"""animeface encoder on the real animeface-2009 detector (PyPI ``animeface``, needs Pillow < 12)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sgfkit.errors import ComponentError

FIXTURES = Path(__file__).parent / "fixtures" / "anime"
sys.path.insert(0, str(FIXTURES))
from make_drawn_face import draw_face  # noqa: E402

# where tests/fixtures/anime/make_drawn_face.py draws things in the 256 px face (x, y)
DRAWN_256 = {"left_eye": (100, 140), "right_eye": (156, 140), "nose_tip": (127, 175), "chin": (128, 228)}
MOUTH_256 = (128, 196)


# Skip only when animeface is absent. With animeface installed next to Pillow >= 12 the tests
# fail (the encoder refuses to start): that is the upgrade this file exists to catch.
needs_animeface = pytest.mark.skipif(
    importlib.util.find_spec("animeface") is None,
    reason="animeface is not installed (pip install animeface 'pillow<12', or the sgfkit[anime] extra)")


def as_tensor(pil_image) -> torch.Tensor:
    arr = torch.from_numpy(np.asarray(pil_image.convert("RGB"), dtype=np.float32))
    return (arr.permute(2, 0, 1) / 127.5 - 1)[None]


@needs_animeface
def test_detects_the_drawn_face_fixture() -> None:
    """Guards against a Pillow upgrade (or a broken wheel) silently switching detection off."""
    from PIL import Image

    from sgfkit_anime.animeface_encoder import AnimeFaceEncoder

    enc = AnimeFaceEncoder(upscale_to=0)
    image = as_tensor(Image.open(FIXTURES / "drawn_face_256.png"))
    c = enc.encode(image)
    assert c.shape == (1, 16) and enc.condition_kind == "keypoints"
    for point, (x, y) in DRAWN_256.items():
        ix, iy = enc.point_dims(point)
        assert abs(float(c[0, ix]) - x) < 12 and abs(float(c[0, iy]) - y) < 12, (point, c[0, ix], c[0, iy])
    ml, mr = enc.point_dims("mouth_left"), enc.point_dims("mouth_right")
    assert c[0, ml[0]] < MOUTH_256[0] < c[0, mr[0]]
    top, bottom = enc.point_dims("mouth_top")[1], enc.point_dims("mouth_bottom")[1]
    assert c[0, top] < c[0, bottom]


@needs_animeface
def test_small_images_are_upscaled_and_mapped_back() -> None:
    from sgfkit_anime.animeface_encoder import AnimeFaceEncoder

    enc = AnimeFaceEncoder(points=["left_eye", "right_eye", "chin"])
    small = as_tensor(draw_face(128))
    c = enc.encode(small)[0]
    assert enc.names == ["left_eye_x", "left_eye_y", "right_eye_x", "right_eye_y", "chin_x", "chin_y"]
    for k, point in enumerate(["left_eye", "right_eye", "chin"]):
        x, y = DRAWN_256[point]
        assert abs(float(c[2 * k]) - (x / 2)) < 6 and abs(float(c[2 * k + 1]) - (y / 2)) < 6


@needs_animeface
def test_no_face_names_the_sample() -> None:
    from sgfkit_anime.animeface_encoder import AnimeFaceEncoder

    enc = AnimeFaceEncoder(upscale_to=0)
    batch = torch.cat([as_tensor(draw_face(256)), torch.full((1, 3, 256, 256), 0.5)])
    with pytest.raises(ComponentError, match=r"no face in sample 1 \(256x256 px\)"):
        enc.encode(batch)
    with pytest.raises(ComponentError, match=r"no face in sample 7"):
        enc.encode(batch[1:], first_index=7)


@needs_animeface
def test_keypoint_targets_and_distance() -> None:
    from sgfkit_anime.animeface_encoder import AnimeFaceEncoder

    enc = AnimeFaceEncoder(points=["nose_tip", "chin"], pixel_scale=10.0)
    c0 = torch.tensor([[10.0, 20.0, 30.0, 40.0]])
    c1 = enc.target({"move": {"chin": [1, -2]}, "nose_tip": [5, 6]}, c0)
    assert c1.tolist() == [[5.0, 6.0, 31.0, 38.0]]
    assert enc.target_dims({"move": {"chin": [1, -2]}}) == [2, 3]
    assert enc.distance(c0, c1, [2, 3]).tolist() == [pytest.approx(0.2)]  # 2 px / pixel_scale 10
    assert enc.describe(c1, [2, 3]) == ["chin (31.0, 38.0)"]
    with pytest.raises(ComponentError, match="no keypoint 'chn'. did you mean 'chin'"):
        enc.target({"move": {"chn": [0, 1]}}, c0)
    with pytest.raises(ComponentError, match=r"expected \[x, y\]"):
        enc.target({"move": {"chin": 3}}, c0)
    with pytest.raises(ComponentError, match="no point 'mouth_centre'"):
        AnimeFaceEncoder(points=["mouth_centre"])


def test_new_pillow_is_refused_with_the_fix(monkeypatch) -> None:
    pytest.importorskip("animeface", reason="animeface is not installed (pip install animeface 'pillow<12')")
    import PIL

    from sgfkit_anime.animeface_encoder import import_animeface

    monkeypatch.setattr(PIL, "__version__", "12.0.0")
    with pytest.raises(ComponentError, match=r"Pillow 12\.0\.0.*silently finds no faces.*pillow<12"):
        import_animeface()


def test_missing_package_says_how_to_install(monkeypatch) -> None:
    from sgfkit_anime.animeface_encoder import import_animeface

    monkeypatch.setitem(sys.modules, "animeface", None)  # makes 'import animeface' raise ImportError
    with pytest.raises(ComponentError, match=r"needs the animeface package.*pip install animeface 'pillow<12'"):
        import_animeface()


class _FixedImages:
    """A stand-in generator whose 'latents' index a fixed batch of images."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def synthesize(self, latents, batch_size: int = 64) -> torch.Tensor:
        return self.images[latents.tensor[:, 0].long()]


@needs_animeface
def test_measure_names_the_faceless_sample_across_batches() -> None:
    from sgfkit.latents import Latents
    from sgfkit_anime.animeface_encoder import AnimeFaceEncoder

    face = as_tensor(draw_face())
    blank = torch.zeros_like(face)
    generator = _FixedImages(torch.cat([face, face, face, blank]))
    latents = Latents(torch.arange(4, dtype=torch.float32)[:, None].repeat(1, 2), "w")
    encoder = AnimeFaceEncoder()
    points = encoder.measure(generator, latents.index(slice(0, 3)), batch_size=2)
    assert points.shape == (3, len(encoder.names)) and torch.allclose(points[0], points[2])
    with pytest.raises(ComponentError, match="no face in sample 3"):
        encoder.measure(generator, latents, batch_size=2)  # the blank one sits in the second batch
