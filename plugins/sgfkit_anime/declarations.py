"""What the anime encoders and the keypoint metric declare (parameters, training options, the names
they will output), importable without torch: ``sgfkit validate`` reads names from file headers and
tag lists alone."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from sgfkit.bounded_io import bounded_gunzip
from sgfkit.declarations import ConditionEncoderDeclaration, MetricDeclaration
from sgfkit.errors import WeightsError
from sgfkit.params import Param
from sgfkit.weights import locate_weights
from sgfkit_anime.known_weights import I2V_TAG_LIST, I2V_TAG_MODEL

#: the shipped landmark + attribute regressor trained on synth-faces
SHIPPED_WEIGHTS = Path(__file__).resolve().parent / "weights" / "anime_keypoints.safetensors"
#: the points animeface-2009 reports, in output order
ANIMEFACE_POINTS = ["left_eye", "right_eye", "nose_tip", "mouth_left", "mouth_right", "mouth_top",
                    "mouth_bottom", "chin"]
#: illustration2vec tags animeface-tags appends by default (common Danbooru general tags)
DEFAULT_TAGS = ["smile", "open mouth", "closed eyes", "blush", "long hair", "short hair", "blonde hair",
                "brown hair", "black hair", "blue hair", "pink hair", "hat", "glasses"]
#: the released tag list is ~30 KB; a file (or its gzip content) beyond this is not one
TAG_LIST_MAX_BYTES = 16 << 20


def read_tag_list(path: Path) -> list[str]:
    """A JSON list of tag strings (``.json`` or gzipped ``.json.gz``); the released list is ~30 KB, so
    anything that is or inflates to more than :data:`TAG_LIST_MAX_BYTES` is refused unread."""
    try:
        if path.stat().st_size > TAG_LIST_MAX_BYTES:
            raise WeightsError(f"{path}: {path.stat().st_size} bytes is far too large for a tag list; "
                               "expected tag_list.json (a JSON list of tag strings)")
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = bounded_gunzip(raw, source=str(path), limit=TAG_LIST_MAX_BYTES)
        tags = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise WeightsError(f"{path}: the JSON nests too deeply; expected a flat list of tag strings") from None
    except (OSError, ValueError, EOFError) as exc:
        raise WeightsError(f"cannot read the illustration2vec tag list {path}: {exc}. "
                           "It should be tag_list.json (a JSON list of tag strings).") from None
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise WeightsError(f"{path} is not a JSON list of tag strings")
    return tags


def locate_tag_list(spec: str) -> Path:
    """The tag list ``spec`` names, found as the weights are (``tag_list.json`` also as ``.json.gz``,
    the form the release ships)."""
    try:
        return locate_weights(spec, known=I2V_TAG_LIST)
    except WeightsError:
        if spec.endswith(".json"):
            try:
                return locate_weights(spec + ".gz", known=I2V_TAG_LIST)
            except WeightsError:
                pass
        raise


class KeypointEncoderDeclaration(ConditionEncoderDeclaration):
    """Encoders whose names are ``<point>_x, <point>_y, ..., attributes``; targets move points
    (``{move: {point: [dx, dy]}}``, ``{point: [x, y]}``), so their names are checked when loaded."""

    named_targets: ClassVar[bool] = False


class AnimeKeypointsEncoderDeclaration(KeypointEncoderDeclaration):
    """Landmarks (px) + attributes ([0, 1]) of anime faces, from a CoordConv CNN regressor."""

    condition_kind: ClassVar[str] = "mixed"

    params: ClassVar[dict[str, Param]] = {
        "weights": Param(str, None, "weights file (default: the shipped ones)", nullable=True, path=True),
        "attributes": Param(list, None, "attributes to output after the landmarks (default: all the weights "
                                        "predict; [] for landmarks only)", nullable=True, item_type=str),
        "pixel_scale": Param(float, 20.0, "pixels that count as 1.0 in distance() (SGF tolerance 0.05 = 1 px)",
                             min=1e-3),
        "batch_size": Param(int, 256, "images per forward pass", min=1),
    }

    # Tried, not shipped: 48000 renders x 9000 steps read the landmarks 0.12 px off (0.28 here) and the
    # attributes to MAE 0.017 (0.034), but with it SGF's roll edit in anime_keypoints.yaml stopped as
    # diverging on all of seeds 0-11 (5 of 12 reached here; patience 12 did not change it), yaw 10 of 12 (12)
    training_params: ClassVar[dict[str, Param]] = {
        "steps": Param(int, 1500, "optimiser steps", min=1),
        "batch_size": Param(int, 64, "renders per step", min=2),
        "dataset_samples": Param(int, 5000, "renders in the training set (rendered once)", min=2),
        "lr": Param(float, 2e-3, "peak AdamW learning rate (warm-up, then cosine decay)", min=0.0),
        "width": Param(int, 16, "channels of the first CNN stage", min=4),
        "hidden": Param(int, 256, "width of the fully connected layer", min=8),
        "resolution": Param(int, 64, "render size = net input size (multiple of 16)", min=32, max=256),
        "truncation": Param(float, 0.8, "truncation psi of the held-out renders (lowest psi in training)",
                            min=0.0, max=2.0),
        "truncation_max": Param(float, 1.0, "highest psi drawn for training renders", min=0.0, max=2.0),
        "data_seed": Param(int, 0, "seed of the rendered training / held-out latents"),
        "heldout_samples": Param(int, 500, "held-out renders for the report", min=1),
        "attribute_weight": Param(float, 5.0, "weight of the attribute loss (logit space) next to the pixel loss",
                                  min=0.0),
        "attributes": Param(list, None, "attributes to learn (default: all of synth-faces)", nullable=True,
                            item_type=str),
        "threads": Param(int, 2, "torch CPU threads", min=1),
    }

    @classmethod
    def declared_names(cls, params: dict[str, Any], base_dir: Path | None = None) -> list[str] | None:
        """Landmark x / y and attribute names from the weights file's header metadata (no tensors read);
        ``None`` when the file is missing or unreadable ('sgfkit validate' reports that on its own)."""
        from safetensors import SafetensorError

        from sgfkit.shipped_weights import read_metadata

        try:
            path = SHIPPED_WEIGHTS if params.get("weights") is None else locate_weights(params["weights"],
                                                                                        base_dir=base_dir)
            meta = read_metadata(path)
        except (WeightsError, SafetensorError, OSError, ValueError):
            return None
        points, trained = meta.get("landmark_names"), meta.get("attribute_names")
        if not isinstance(points, list) or not isinstance(trained, list):
            return None
        chosen = trained if params.get("attributes") is None else [a for a in params["attributes"] if a in trained]
        return [f"{pt}_{axis}" for pt in points for axis in ("x", "y")] + [str(a) for a in chosen]


class AnimeFaceEncoderDeclaration(KeypointEncoderDeclaration):
    """Keypoints from animeface-2009 (not differentiable; SGF only runs it forward)."""

    condition_kind: ClassVar[str] = "keypoints"

    params: ClassVar[dict[str, Param]] = {
        "points": Param(list, None, f"points to output (default: all of {', '.join(ANIMEFACE_POINTS)})",
                        nullable=True, item_type=str),
        "upscale_to": Param(int, 256, "upscale smaller images to this size before detecting (0: never)", min=0),
        "pixel_scale": Param(float, 20.0, "pixels that count as 1.0 in distance()", min=1e-3),
    }


class Illustration2VecDeclaration(ConditionEncoderDeclaration):
    """Tag probabilities in [0, 1] from the illustration2vec tagger; names = tags."""

    condition_kind: ClassVar[str] = "attributes"

    params: ClassVar[dict[str, Param]] = {
        "weights": Param(str, I2V_TAG_MODEL.file_name, "the tagger .caffemodel (path or file name)", path=True),
        "tag_list": Param(str, I2V_TAG_LIST.file_name, "tag_list.json (or .json.gz)", path=True),
        "tags": Param(list, None, "tags to output (default: all)", nullable=True, item_type=str),
        "output_blob": Param(str, "conv6_4", "the caffemodel blob holding the tag logits map"),
        "antialias": Param(bool, True, "smooth when downscaling to 224 px (as scikit-image's resize does)"),
        "batch_size": Param(int, 16, "images per forward pass", min=1),
        "verify_sha256": Param(bool, False, "check files against published digests where known"),
    }

    @classmethod
    def declared_names(cls, params: dict[str, Any], base_dir: Path | None = None) -> list[str] | None:
        """The tags it will output (``tags`` or the whole tag list), read from the tag list alone."""
        if params.get("tags"):
            return list(params["tags"])
        try:
            return read_tag_list(locate_tag_list(params["tag_list"]))  # found as the encoder finds it
        except (WeightsError, OSError):
            return None


class AnimeFaceTagsEncoderDeclaration(KeypointEncoderDeclaration):
    """Keypoints from animeface + attributes from illustration2vec, concatenated."""

    condition_kind: ClassVar[str] = "mixed"

    params: ClassVar[dict[str, Param]] = {
        **{k: v for k, v in AnimeFaceEncoderDeclaration.params.items()},
        **{k: v for k, v in Illustration2VecDeclaration.params.items() if k != "tags"},
        "tags": Param(list, DEFAULT_TAGS, "illustration2vec tags appended after the points", item_type=str),
    }


class KeypointMovesMetricDeclaration(MetricDeclaration):
    """How well edits moved the requested keypoints, kept held attributes and spared the rest."""

    params: ClassVar[dict[str, Param]] = {
        "tolerance_px": Param(float, 1.5, "a moved point 'arrived' within this many pixels of its target", min=0.0),
        "delta": Param(float, 0.2, "an attribute changed / arrived when within / beyond delta (unset: the "
                       "recipe's evaluation.delta)", min=0.0, follows="evaluation.delta"),
    }
