"""``anime-keypoints``: landmarks + attributes from a small CNN (the paper's KeypointsAttr, embedded).

Names: ``<point>_x, <point>_y`` for each landmark (pixels of the encoded image, 0 = centre of the
first pixel; same point names as synth-faces' truth), then the attribute scores in [0, 1].
Shipped weights (``weights/anime_keypoints.safetensors``) were trained on 64 px synth-faces
renders by ``sgfkit train-encoder anime-keypoints``; their JSON metadata holds the config, the
training command, the data seed and the held-out scores.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from sgfkit.errors import ComponentError, WeightsError, did_you_mean
from sgfkit.shipped_weights import read_weights, training_command
from sgfkit.state_dicts import build_checked, config_from_metadata, load_state_checked
from sgfkit.weights import locate_weights, sha256_of
from sgfkit_anime.keypoint_targets import KeypointTargetsMixin
from sgfkit_anime.keypoints_training import resize_to, train_keypoint_regressor
from sgfkit_anime.landmark_net import LandmarkNet, LandmarkNetConfig, normalised_to_pixels
from sgfkit_anime.declarations import SHIPPED_WEIGHTS, AnimeKeypointsEncoderDeclaration


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


class AnimeKeypointsEncoder(AnimeKeypointsEncoderDeclaration, KeypointTargetsMixin):
    """Landmarks (px) + attributes ([0, 1]) of anime faces, from a CoordConv CNN regressor."""

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
