"""illustration2vec tag predictor as a condition encoder (registry name ``illustration2vec``).

Loads the released ``illust2vec_tag_ver200.caffemodel`` directly (see :mod:`sgfkit_anime.caffe_proto`)
and its ``tag_list.json`` (1539 tags: general, character, copyright, rating). The tag
probabilities are ``sigmoid(avg_pool_7(conv6_4(x)))`` as in the reference ``chainer_i2v.py``.

Preprocessing follows the reference: RGB in 0-255, resize to 224x224 without crop (bilinear),
RGB -> BGR, subtract the BGR mean ``[164.76, 167.48, 181.14]``, NCHW.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from sgfkit.components import ConditionEncoder
from sgfkit.errors import ComponentError, WeightsError, did_you_mean
from sgfkit.weights import locate_weights, sha256_of
from sgfkit_anime.caffe_net import CaffeForward
from sgfkit_anime.caffe_proto import load_caffemodel
from sgfkit_anime.known_weights import I2V_TAG_MODEL
from sgfkit_anime.declarations import Illustration2VecDeclaration, locate_tag_list, read_tag_list

#: per-channel mean in BGR order, 0-255 scale (chainer_i2v.py)
I2V_MEAN_BGR = (164.76139251, 167.47864617, 181.13838569)
I2V_INPUT_SIZE = 224
I2V_POOL = 7


def preprocess(images: torch.Tensor, antialias: bool = True) -> torch.Tensor:
    """images [N, 3, H, W] RGB in [-1, 1] -> net input [N, 3, 224, 224] BGR, mean-subtracted (0-255)."""
    if images.dim() != 4 or images.shape[1] != 3:
        raise ComponentError(f"illustration2vec expects images [N, 3, H, W], got {tuple(images.shape)}")
    x = (images.float().clamp(-1, 1) + 1) * 127.5
    if tuple(x.shape[2:]) != (I2V_INPUT_SIZE, I2V_INPUT_SIZE):
        down = x.shape[2] > I2V_INPUT_SIZE or x.shape[3] > I2V_INPUT_SIZE
        x = F.interpolate(x, size=(I2V_INPUT_SIZE, I2V_INPUT_SIZE), mode="bilinear", align_corners=False,
                          antialias=antialias and down)
    x = x.flip(1)  # RGB -> BGR
    mean = torch.tensor(I2V_MEAN_BGR, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return x - mean


class Illustration2Vec(Illustration2VecDeclaration, ConditionEncoder):
    """Tag probabilities in [0, 1] from the illustration2vec tagger; names = tags.

    ``tags`` selects a subset (in the given order); default all 1539.
    """

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        self.weights_path = locate_weights(p["weights"], known=I2V_TAG_MODEL, verify_sha256=p["verify_sha256"])
        self.tag_list_path = locate_tag_list(p["tag_list"])
        all_tags = read_tag_list(self.tag_list_path)
        self.net = CaffeForward(load_caffemodel(self.weights_path)).eval()
        out_layer = p["output_blob"]
        if out_layer not in self.net.weights:
            raise WeightsError(f"{self.weights_path}: no convolution named {out_layer!r}; is this the tag "
                               "model (illust2vec_tag_ver200.caffemodel) rather than the feature model?")
        if self.net.channels(out_layer) != len(all_tags):
            raise WeightsError(f"{self.weights_path} predicts {self.net.channels(out_layer)} tags but "
                               f"{self.tag_list_path} lists {len(all_tags)}; use the matching tag_list.json")
        self.all_tags = all_tags
        selected = p["tags"] or all_tags
        index = {t: i for i, t in enumerate(all_tags)}
        unknown = [t for t in selected if t not in index]
        if unknown:
            hint = did_you_mean(unknown[0], all_tags)
            raise ComponentError(f"illustration2vec has no tag {unknown[0]!r}.{hint} "
                                 f"(unknown: {', '.join(map(repr, unknown))}; see {self.tag_list_path})")
        self._names = list(selected)
        self.tag_index = torch.tensor([index[t] for t in selected], dtype=torch.long)

    @property
    def names(self) -> list[str]:
        return self._names

    def tag_probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """images [N, 3, H, W] in [-1, 1] -> all tag probabilities [N, T] in [0, 1]."""
        outs = []
        with torch.no_grad():
            for start in range(0, images.shape[0], self.params["batch_size"]):
                x = preprocess(images[start:start + self.params["batch_size"]].to(self.device),
                               self.params["antialias"])
                logits = self.net(x, self.params["output_blob"])
                outs.append(torch.sigmoid(F.avg_pool2d(logits, I2V_POOL)).flatten(1))
        return torch.cat(outs) if outs else torch.zeros(0, len(self.all_tags))

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.tag_probabilities(images)[:, self.tag_index.to(self.device)].float()

    def versions(self) -> dict[str, Any]:
        return {"weights": str(self.weights_path), "weights_sha256": sha256_of(self.weights_path),
                "tag_list": str(self.tag_list_path)}
