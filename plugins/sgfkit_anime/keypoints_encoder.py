"""``anime-keypoints``: landmarks + attributes from a small CNN (the paper's KeypointsAttr, embedded).

Names: ``<point>_x, <point>_y`` for each landmark (pixels of the encoded image, 0 = centre of the
first pixel; same point names as synth-faces' truth), then the attribute scores in [0, 1].
Shipped weights (``weights/anime_keypoints.safetensors``) were trained on 64 px synth-faces
renders by ``sgfkit train-encoder anime-keypoints``; their JSON metadata holds the config, the
training command, the data seed and the held-out scores.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch

from sgfkit.errors import ComponentError, WeightsError, did_you_mean
from sgfkit.params import Param
from sgfkit.shipped_weights import read_weights, training_command
from sgfkit.state_dicts import build_checked, config_from_metadata, json_metadata, load_state_checked
from sgfkit.weights import locate_weights, sha256_of
from sgfkit_anime.keypoint_targets import KeypointTargetsMixin
from sgfkit_anime.keypoints_training import resize_to, train_keypoint_regressor
from sgfkit_anime.landmark_net import LandmarkNet, LandmarkNetConfig, normalised_to_pixels

SHIPPED_WEIGHTS = Path(__file__).resolve().parent / "weights" / "anime_keypoints.safetensors"


def read_keypoint_weights(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(state dict, metadata) of a weights file written by :func:`train_keypoint_regressor`."""
    tensors, meta = read_weights(path, "anime-keypoints weights", "retrain it with 'sgfkit train-encoder "
                                 "anime-keypoints --out PATH' or reinstall sgfkit")
    if not meta:
        raise WeightsError(f"{path} has no sgfkit metadata: it was not written by "
                           "'sgfkit train-encoder anime-keypoints'")
    if meta.get("format") != "sgfkit-anime-keypoints/1":
        raise WeightsError(f"{path} holds {meta.get('format')!r} weights, not anime-keypoints ones")
    names = [meta.get("landmark_names"), meta.get("attribute_names")]
    if not all(isinstance(n, list) and all(isinstance(x, str) for x in n) for n in names):
        raise WeightsError(f"{path}: malformed landmark_names / attribute_names metadata")
    return tensors, meta


class AnimeKeypointsEncoder(KeypointTargetsMixin):
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

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        if p["weights"] is None:
            if not SHIPPED_WEIGHTS.is_file():
                raise WeightsError(f"the shipped anime-keypoints weights are missing ({SHIPPED_WEIGHTS}); "
                                   "reinstall sgfkit or run 'sgfkit train-encoder anime-keypoints --out PATH' "
                                   "and pass weights: PATH")
            self.weights_path = SHIPPED_WEIGHTS
        else:
            self.weights_path = locate_weights(p["weights"])
        state, meta = read_keypoint_weights(self.weights_path)
        self.meta = meta
        config = config_from_metadata(LandmarkNetConfig, meta.get("config"), self.weights_path, "anime-keypoints")
        self.net = build_checked(lambda: LandmarkNet(config), state, self.weights_path, "anime-keypoints network")
        load_state_checked(self.net, state, self.weights_path, "anime-keypoints network its metadata describes")
        self.net.eval()
        self.point_names = list(meta["landmark_names"])
        trained = list(meta["attribute_names"])
        chosen = trained if p["attributes"] is None else list(p["attributes"])
        for a in chosen:
            if a not in trained:
                raise ComponentError(f"anime-keypoints does not predict attribute {a!r}.{did_you_mean(a, trained)} "
                                     f"Its attributes: {', '.join(trained)}")
        self.attribute_names = chosen
        self._attr_index = torch.tensor([trained.index(a) for a in chosen], dtype=torch.long)
        self._names = [f"{pt}_{axis}" for pt in self.point_names for axis in ("x", "y")] + chosen
        self.pixel_scale = float(p["pixel_scale"])

    @property
    def names(self) -> list[str]:
        return self._names

    @classmethod
    def declared_names(cls, params: dict[str, Any], base_dir: Path | None = None) -> list[str] | None:
        """Landmark x / y and attribute names from the weights file's header metadata (no tensors read);
        ``None`` when the file is missing or unreadable ('sgfkit validate' reports that on its own)."""
        from safetensors import SafetensorError, safe_open

        try:
            path = SHIPPED_WEIGHTS if params.get("weights") is None else locate_weights(params["weights"],
                                                                                        base_dir=base_dir)
            with safe_open(str(path), framework="numpy") as f:
                meta = json_metadata((f.metadata() or {}).get("sgfkit"), path, "sgfkit")
        except (WeightsError, SafetensorError, OSError, ValueError):
            return None
        points, trained = meta.get("landmark_names") if isinstance(meta, dict) else None, \
            meta.get("attribute_names") if isinstance(meta, dict) else None
        if not isinstance(points, list) or not isinstance(trained, list):
            return None
        chosen = trained if params.get("attributes") is None else [a for a in params["attributes"] if a in trained]
        return [f"{pt}_{axis}" for pt in points for axis in ("x", "y")] + [str(a) for a in chosen]

    @property
    def heldout(self) -> dict[str, Any]:
        """Held-out scores recorded when the weights were trained."""
        return dict(self.meta.get("heldout", {}))

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """images [N, 3, H, W] in [-1, 1] (square) -> [N, 2L + A]: landmarks in px of the input, attributes."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ComponentError(f"anime-keypoints expects images [N, 3, H, W], got {tuple(images.shape)}")
        if images.shape[2] != images.shape[3]:
            raise ComponentError(f"anime-keypoints expects square images, got {images.shape[2]}x{images.shape[3]}")
        size = images.shape[-1]
        outs = []
        with torch.no_grad():
            for start in range(0, images.shape[0], self.params["batch_size"]):
                x = resize_to(images[start:start + self.params["batch_size"]].float().to(self.device),
                              self.net.config.input_size)
                coords, logits = self.net(x)
                points = normalised_to_pixels(coords, size).flatten(1)
                attrs = torch.sigmoid(logits)[:, self._attr_index.to(self.device)]
                outs.append(torch.cat([points, attrs], dim=1))
        return torch.cat(outs) if outs else torch.zeros(0, len(self.names), device=self.device)

    def versions(self) -> dict[str, Any]:
        return {"weights": str(self.weights_path), "weights_sha256": sha256_of(self.weights_path),
                "heldout": {k: self.heldout.get(k) for k in ("landmark_error_px", "attribute_mae")}}

    @classmethod
    def train(cls, output: Path, **options: Any) -> dict[str, Any]:
        """Train weights into ``output`` (``sgfkit train-encoder anime-keypoints --out PATH --set k=v``)."""
        from sgfkit.params import validate_params

        opts = validate_params(cls.training_params, options, component="anime-keypoints training")
        defaults = {k: v.default for k, v in cls.training_params.items()}
        if opts["resolution"] % 16:
            raise ComponentError(f"resolution must be a multiple of 16 (the net downsamples 16x), got {opts['resolution']}")
        command = training_command("anime-keypoints", output, {k: opts[k] for k in options}, defaults)
        return train_keypoint_regressor(Path(output), command=command, **opts)
