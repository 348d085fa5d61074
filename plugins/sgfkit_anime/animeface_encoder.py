"""``animeface``: landmarks from nagadomi's animeface-2009 detector (PyPI ``animeface``).

The detector (Haar-like features + small MLPs in C) returns per face a face box, left / right eye
boxes, a mouth box, and nose and chin points. They map onto synth-faces' point names (image
left/right; the detector's ``left_eye`` is the character's left eye, on the image's right):

==============  =========================================
point           from
==============  =========================================
left_eye        centre of the detector's ``right_eye`` box
right_eye       centre of the detector's ``left_eye`` box
nose_tip        ``nose`` point
mouth_left      left edge of the mouth box, at its mid-height
mouth_right     right edge of the mouth box, at its mid-height
mouth_top       top edge of the mouth box, at its centre
mouth_bottom    bottom edge of the mouth box, at its centre
chin            ``chin`` point
==============  =========================================

The detector wants faces of roughly 100 px or more: smaller images are upscaled to ``upscale_to``
before detection and the points mapped back. animeface 2.0.x reads Pillow's internal image
structure and silently finds nothing with Pillow >= 12, so that is checked up front.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from sgfkit.errors import ComponentError
from sgfkit_anime.keypoint_targets import KeypointTargetsMixin
from sgfkit_anime.declarations import ANIMEFACE_POINTS, AnimeFaceEncoderDeclaration

INSTALL_HINT = "pip install animeface 'pillow<12'   (or: pip install 'sgfkit[anime]')"


def import_animeface():
    """The ``animeface`` module, after checking that the installed Pillow lets it see faces."""
    try:
        import PIL
        import animeface
    except ImportError as exc:
        raise ComponentError(f"the animeface encoder needs the animeface package ({exc}); install it with: "
                             f"{INSTALL_HINT}") from None
    major = int(PIL.__version__.split(".")[0])
    if major >= 12:
        raise ComponentError(
            f"animeface cannot work with the installed Pillow {PIL.__version__}: it reads Pillow's internal "
            "image layout, which changed in Pillow 12, and then silently finds no faces. Install an older "
            f"Pillow: {INSTALL_HINT}")
    return animeface


def face_points(face: Any) -> dict[str, tuple[float, float]]:
    """One ``animeface.Face`` -> {point: (x, y)} in pixels (0 = centre of the first pixel)."""
    def centre(box):
        return box.x + box.width / 2 - 0.5, box.y + box.height / 2 - 0.5

    mouth = face.mouth.pos
    mx, my = centre(mouth)
    return {
        "left_eye": centre(face.right_eye.pos),
        "right_eye": centre(face.left_eye.pos),
        "nose_tip": (float(face.nose.pos.x), float(face.nose.pos.y)),
        "mouth_left": (mouth.x - 0.5, my),
        "mouth_right": (mouth.x + mouth.width - 0.5, my),
        "mouth_top": (mx, mouth.y - 0.5),
        "mouth_bottom": (mx, mouth.y + mouth.height - 0.5),
        "chin": (float(face.chin.pos.x), float(face.chin.pos.y)),
    }


def to_pil(image: torch.Tensor):
    """One image [3, H, W] in [-1, 1] -> an RGB PIL image."""
    from PIL import Image

    arr = ((image.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return Image.fromarray(np.ascontiguousarray(arr.permute(1, 2, 0).numpy()))


class AnimeFaceEncoder(AnimeFaceEncoderDeclaration, KeypointTargetsMixin):
    """Keypoints from animeface-2009 (not differentiable; SGF only runs it forward)."""

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.animeface = import_animeface()
        points = self.params["points"] or list(ANIMEFACE_POINTS)
        unknown = [p for p in points if p not in ANIMEFACE_POINTS]
        if unknown:
            from sgfkit.errors import did_you_mean

            raise ComponentError(f"animeface gives no point {unknown[0]!r}.{did_you_mean(unknown[0], ANIMEFACE_POINTS)} "
                                 f"Its points: {', '.join(ANIMEFACE_POINTS)}")
        self.point_names = points
        self._names = [f"{p}_{axis}" for p in points for axis in ("x", "y")]
        self.pixel_scale = float(self.params["pixel_scale"])

    @property
    def names(self) -> list[str]:
        return self._names

    def detect(self, image: torch.Tensor) -> tuple[list[Any], float]:
        """Faces found in one image [3, H, W] in [-1, 1], best first, and the scale applied before detection."""
        size = max(image.shape[-2:])
        target = self.params["upscale_to"]
        scale = target / size if target and size < target else 1.0
        if scale != 1.0:
            image = F.interpolate(image[None].float(), scale_factor=scale, mode="bilinear", align_corners=False)[0]
        faces = self.animeface.detect(to_pil(image))
        return sorted(faces, key=lambda f: -f.likelihood), scale

    def encode(self, images: torch.Tensor, first_index: int = 0) -> torch.Tensor:
        """images [N, 3, H, W] in [-1, 1] -> keypoints [N, 2P] in pixels of the input images.

        Raises :class:`ComponentError` naming the sample (``first_index`` + its row) when no face is found.
        """
        if images.dim() != 4 or images.shape[1] != 3:
            raise ComponentError(f"animeface expects images [N, 3, H, W], got {tuple(images.shape)}")
        rows = []
        for i, image in enumerate(images):
            faces, scale = self.detect(image)
            if not faces:
                h, w = image.shape[-2:]
                raise ComponentError(
                    f"animeface found no face in sample {first_index + i} ({h}x{w} px"
                    + (f", upscaled x{scale:.2f}" if scale != 1.0 else "") + "). The detector needs a clearly "
                    "drawn anime face of about 100 px or more; raise upscale_to, or check that sample's image")
            pts = face_points(faces[0])
            # (p + 0.5) / scale - 0.5 maps pixel centres back to the original image
            rows.append([(pts[p][axis] + 0.5) / scale - 0.5 for p in self.point_names for axis in (0, 1)])
        return torch.tensor(rows, dtype=torch.float32, device=images.device).reshape(len(rows), len(self.names))

    def measure(self, generator, latents, batch_size: int = 64) -> torch.Tensor:
        """C(G(latents)) [N, k]; a missing face names its sample index within ``latents``.

        Shared by the encoders built on the detector (their ``encode`` takes ``first_index``).
        """
        outs = []
        with torch.no_grad():
            for start in range(0, len(latents), batch_size):
                part = latents.index(slice(start, start + batch_size))
                outs.append(self.encode(generator.synthesize(part, batch_size=batch_size), first_index=start))
        return torch.cat(outs) if outs else torch.zeros(0, len(self.names))
