"""The Show-Attend-Tell captioner (Xu et al. 2015) in the layout of the public PyTorch tutorial.

Module and parameter names follow the tutorial checkpoint so its weights load by name:
the encoder is ``resnet`` (a torchvision-style ResNet trunk, or our small CNN for the embedded
config) + ``adaptive_pool``; the decoder has ``attention.{encoder_att,decoder_att,full_att}``,
``embedding``, ``decode_step`` (LSTMCell), ``init_h``, ``init_c``, ``f_beta`` and ``fc``.

Shapes: images [N, 3, H, W] (already normalised for the encoder); encoder output
[N, S, S, D] (S = ``enc_image_size``, D = ``encoder_dim``); flattened features [N, P, D], P = S*S.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

# ------------------------------------------------------------------------------------------
# Configuration
# ------------------------------------------------------------------------------------------


@dataclass
class CaptionerConfig:
    """Architecture sizes. ``encoder`` is ``"small"`` (embedded) or ``"resnet"`` (tutorial).

    ``resnet_layers`` are the Bottleneck counts per stage (ResNet-101: 3, 4, 23, 3);
    ``small_channels`` the widths of the small CNN's stride-2 stages.
    """

    vocab_size: int
    encoder: str = "small"
    encoder_dim: int = 96
    enc_image_size: int = 4
    attention_dim: int = 64
    embed_dim: int = 48
    decoder_dim: int = 128
    dropout: float = 0.2
    small_channels: list[int] = field(default_factory=lambda: [24, 48, 96])
    resnet_layers: list[int] = field(default_factory=lambda: [3, 4, 23, 3])

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaptionerConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


# ------------------------------------------------------------------------------------------
# Encoders
# ------------------------------------------------------------------------------------------


class Bottleneck(nn.Module):
    """torchvision's ResNet Bottleneck (v1.5: the stride sits on the 3x3 conv)."""

    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def resnet_trunk(layers: list[int]) -> nn.Sequential:
    """torchvision ``resnet(...).children()[:-2]``: conv1, bn1, relu, maxpool, layer1..4 (2048 ch)."""
    modules: list[nn.Module] = [nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(64),
                                nn.ReLU(inplace=True), nn.MaxPool2d(3, stride=2, padding=1)]
    in_planes = 64
    for stage, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers)):
        stride = 1 if stage == 0 else 2
        downsample = nn.Sequential(nn.Conv2d(in_planes, planes * 4, 1, stride=stride, bias=False),
                                   nn.BatchNorm2d(planes * 4))
        stage_blocks = [Bottleneck(in_planes, planes, stride, downsample)]
        in_planes = planes * 4
        stage_blocks += [Bottleneck(in_planes, planes) for _ in range(1, blocks)]
        modules.append(nn.Sequential(*stage_blocks))
    return nn.Sequential(*modules)


def small_trunk(channels: list[int]) -> nn.Sequential:
    """Stride-2 conv-BN-ReLU stages (each halves the resolution) ending in ``channels[-1]``.

    Stages after the first add a second 3x3 conv; the first stays single to keep the
    full-resolution cost low (the captioner runs inside SGF's editing loop).
    """
    modules: list[nn.Module] = []
    c_in = 3
    for i, c_out in enumerate(channels):
        layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False),
                                   nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        if i > 0:
            layers += [nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        modules.append(nn.Sequential(*layers))
        c_in = c_out
    return nn.Sequential(*modules)


class Encoder(nn.Module):
    """CNN trunk + adaptive average pooling: images [N, 3, H, W] -> features [N, S, S, D]."""

    def __init__(self, config: CaptionerConfig) -> None:
        super().__init__()
        if config.encoder == "resnet":
            self.resnet = resnet_trunk(config.resnet_layers)
        elif config.encoder == "small":
            self.resnet = small_trunk(config.small_channels)
        else:
            raise ValueError(f"unknown captioner encoder {config.encoder!r} (use 'small' or 'resnet')")
        self.adaptive_pool = nn.AdaptiveAvgPool2d((config.enc_image_size, config.enc_image_size))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.adaptive_pool(self.resnet(images)).permute(0, 2, 3, 1)


# ------------------------------------------------------------------------------------------
# Decoder
# ------------------------------------------------------------------------------------------


class Attention(nn.Module):
    """Additive soft attention over the P encoder positions."""

    def __init__(self, encoder_dim: int, decoder_dim: int, attention_dim: int) -> None:
        super().__init__()
        self.encoder_att = nn.Linear(encoder_dim, attention_dim)
        self.decoder_att = nn.Linear(decoder_dim, attention_dim)
        self.full_att = nn.Linear(attention_dim, 1)
        self.relu = nn.ReLU()
        self.softmax = nn.Softmax(dim=1)

    def forward(self, features: torch.Tensor, h: torch.Tensor,
                features_att: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """features [R, P, D], h [R, Hd] -> (weighted encoding [R, D], alpha [R, P]).

        ``features_att`` = ``encoder_att(features)`` may be passed in precomputed: it does not
        change between decoding steps.
        """
        if features_att is None:
            features_att = self.encoder_att(features)
        att = self.full_att(self.relu(features_att + self.decoder_att(h).unsqueeze(1))).squeeze(2)
        alpha = self.softmax(att)
        return (features * alpha.unsqueeze(2)).sum(dim=1), alpha


class DecoderWithAttention(nn.Module):
    """Attention LSTM decoder with the f_beta gate and init_h / init_c from the mean feature."""

    def __init__(self, config: CaptionerConfig) -> None:
        super().__init__()
        self.encoder_dim = config.encoder_dim
        self.decoder_dim = config.decoder_dim
        self.vocab_size = config.vocab_size
        self.attention = Attention(config.encoder_dim, config.decoder_dim, config.attention_dim)
        self.embedding = nn.Embedding(config.vocab_size, config.embed_dim)
        self.dropout = nn.Dropout(p=config.dropout)
        self.decode_step = nn.LSTMCell(config.embed_dim + config.encoder_dim, config.decoder_dim, bias=True)
        self.init_h = nn.Linear(config.encoder_dim, config.decoder_dim)
        self.init_c = nn.Linear(config.encoder_dim, config.decoder_dim)
        self.f_beta = nn.Linear(config.decoder_dim, config.encoder_dim)
        self.sigmoid = nn.Sigmoid()
        self.fc = nn.Linear(config.decoder_dim, config.vocab_size)

    @staticmethod
    def flatten(features: torch.Tensor) -> torch.Tensor:
        """[N, S, S, D] -> [N, P, D] (already flat input passes through)."""
        return features.flatten(1, 2) if features.dim() == 4 else features

    def init_hidden_state(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """features [N, P, D] -> (h, c), each [N, decoder_dim]."""
        mean = features.mean(dim=1)
        return self.init_h(mean), self.init_c(mean)

    def step(self, features: torch.Tensor, words: torch.Tensor, h: torch.Tensor, c: torch.Tensor,
             features_att: torch.Tensor | None = None
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """One decoding step. features [R, P, D], words [R] (previous ids), h, c [R, Hd].

        Returns (logits [R, V] before softmax, h, c, alpha [R, P]).
        """
        awe, alpha = self.attention(features, h, features_att)
        awe = self.sigmoid(self.f_beta(h)) * awe
        h, c = self.decode_step(torch.cat([self.embedding(words), awe], dim=1), (h, c))
        return self.fc(self.dropout(h)), h, c, alpha

    def forward(self, features: torch.Tensor, captions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher forcing. features [N, S, S, D] or [N, P, D]; captions [N, T] ids starting with <start>.

        Returns (logits [N, T-1, V] predicting ``captions[:, 1:]``, alphas [N, T-1, P]).
        Padded positions are computed too; the loss masks them (ignore_index = <pad>).
        """
        features = self.flatten(features)
        h, c = self.init_hidden_state(features)
        features_att = self.attention.encoder_att(features)
        logits, alphas = [], []
        for t in range(captions.shape[1] - 1):
            out, h, c, alpha = self.step(features, captions[:, t], h, c, features_att)
            logits.append(out)
            alphas.append(alpha)
        return torch.stack(logits, dim=1), torch.stack(alphas, dim=1)


class Captioner(nn.Module):
    """Encoder + decoder + the image normalisation the encoder was trained with.

    ``mean`` / ``std`` are per-channel statistics applied to images in [0, 1].
    """

    def __init__(self, config: CaptionerConfig, mean: tuple[float, float, float] = (0.5, 0.5, 0.5),
                 std: tuple[float, float, float] = (0.5, 0.5, 0.5), input_size: int | None = None) -> None:
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = DecoderWithAttention(config)
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)
        #: images are resized to this square size first (the tutorial uses 256); None keeps the size
        self.input_size = input_size

    def preprocess(self, images: torch.Tensor) -> torch.Tensor:
        """images [N, 3, H, W] in [-1, 1] -> normalised encoder input."""
        x = (images.float().clamp(-1, 1) + 1) / 2
        if self.input_size is not None and x.shape[-1] != self.input_size:
            x = nn.functional.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear",
                                          align_corners=False, antialias=True)
        return (x - self.mean) / self.std

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """images [N, 3, H, W] in [-1, 1] -> flat features [N, P, D]."""
        return self.decoder.flatten(self.encoder(self.preprocess(images)))
