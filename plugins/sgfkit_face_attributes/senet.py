"""SE-ResNet in the VGGFace2 ``senet50`` layout (Caffe-style), plus a multi-label attribute head.

One implementation, two sizes: :data:`SENET50` is the full network whose state dict matches
the VGGFace2 ``senet50_*.pkl`` files key for key; :data:`EMBEDDED` is a small configuration
trained here on synth-faces. Layout facts (from the VGGFace2 Caffe models):

* stem: conv1 7x7 / 2, pad 3, no bias -> bn1 -> ReLU -> max-pool 3 / 2, pad 0, ceil_mode.
* bottleneck: conv1 1x1 (**the stride sits here**) -> bn1 -> ReLU -> conv2 3x3 -> bn2 -> ReLU ->
  conv3 1x1 (x4 channels) -> bn3; squeeze-excitation on that: global average -> conv4 (1x1, C/16,
  bias) -> ReLU -> conv5 (1x1, C, bias) -> sigmoid; ``out = se * bn3 + residual`` -> ReLU.
  ``downsample`` = 1x1 conv (stride) + BN on the first block of each stage.
* global average pool (= the original 7x7 average pool at 224 px) -> optional ``fc`` (identities).
BatchNorm eps 1e-5.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class SENetConfig:
    """Depth and widths of an SE-ResNet with bottleneck blocks (channel expansion 4)."""

    layers: tuple[int, ...] = (3, 4, 6, 3)
    widths: tuple[int, ...] = (64, 128, 256, 512)
    stem_width: int = 64
    reduction: int = 16
    num_classes: int = 0          # size of the identity ``fc`` layer (8631 for VGGFace2); 0 = none
    stem_pool: bool = True        # the stem's max-pool; small inputs may skip it to keep detail

    @property
    def feature_dim(self) -> int:
        return self.widths[-1] * SEBottleneck.expansion

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SENetConfig:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


#: the VGGFace2 senet50 network (2048-d features, 8631 identities)
SENET50 = SENetConfig(num_classes=8631)
#: the small configuration shipped for 64-px synth-faces (512-d features; no stem pool keeps detail)
EMBEDDED = SENetConfig(layers=(1, 1, 1, 1), widths=(16, 32, 64, 128), stem_width=16, reduction=8, stem_pool=False)


class SEBottleneck(nn.Module):
    """Bottleneck with squeeze-excitation; x [N, in, H, W] -> [N, 4 * planes, H / stride, W / stride]."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int, reduction: int) -> None:
        super().__init__()
        out = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out)
        self.downsample = None
        if stride != 1 or inplanes != out:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, out, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(out))
        # registered after downsample so the state dict order follows the VGGFace2 files
        self.conv4 = nn.Conv2d(out, out // reduction, 1)
        self.conv5 = nn.Conv2d(out // reduction, out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        se = torch.sigmoid(self.conv5(F.relu(self.conv4(out.mean(dim=(2, 3), keepdim=True)))))
        residual = x if self.downsample is None else self.downsample(x)
        return F.relu(se * out + residual)


class SENet(nn.Module):
    """images [N, 3, H, W] (already preprocessed) -> features [N, feature_dim] (or identity logits)."""

    def __init__(self, config: SENetConfig) -> None:
        super().__init__()
        self.config = config
        self.conv1 = nn.Conv2d(3, config.stem_width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(config.stem_width)
        inplanes = config.stem_width
        for i, (blocks, planes) in enumerate(zip(config.layers, config.widths)):
            stage = []
            for j in range(blocks):
                stride = 2 if (i > 0 and j == 0) else 1
                stage.append(SEBottleneck(inplanes, planes, stride, config.reduction))
                inplanes = planes * SEBottleneck.expansion
            self.add_module(f"layer{i + 1}", nn.Sequential(*stage))
        self.fc = nn.Linear(config.feature_dim, config.num_classes) if config.num_classes else None
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """[N, 3, H, W] -> pooled features [N, feature_dim]."""
        x = F.relu(self.bn1(self.conv1(x)))
        if self.config.stem_pool:
            x = F.max_pool2d(x, 3, stride=2, padding=0, ceil_mode=True)
        for i in range(len(self.config.layers)):
            x = getattr(self, f"layer{i + 1}")(x)
        return x.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.features(x)
        return self.fc(feats) if self.fc is not None else feats


class AttributeHead(nn.Module):
    """features [N, D] -> attribute logits [N, A]: Linear layers with ReLU between them."""

    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))

    @property
    def dims(self) -> list[int]:
        return [self.layers[0].in_features] + [layer.out_features for layer in self.layers]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.relu(x)
        return x


def head_dims_from_state(state: dict[str, torch.Tensor]) -> list[int]:
    """Layer sizes of an :class:`AttributeHead` from its ``layers.{i}.weight`` shapes."""
    n = 0
    while f"layers.{n}.weight" in state:
        n += 1
    if n == 0:
        raise KeyError("layers.0.weight")
    return [int(state["layers.0.weight"].shape[1])] + [int(state[f"layers.{i}.weight"].shape[0]) for i in range(n)]


class FaceAttributeNet(nn.Module):
    """SE-ResNet backbone + attribute head: preprocessed images -> probabilities [N, A] in [0, 1]."""

    def __init__(self, backbone: SENet, head: AttributeHead) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone.features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(x))
