"""LPIPS-VGG16 (Zhang et al. 2018, ``lpips`` 0.1) as a projection distance, without torchvision.

Computed as the ``lpips`` package computes ``LPIPS(net='vgg', version='0.1')``: inputs in [-1, 1]
are shifted / scaled per channel, run through VGG16's ``features`` and read after relu1_2, relu2_2,
relu3_3, relu4_3 and relu5_3; each map is unit-normalised over channels, the squared difference of
the two images' maps is weighted by a non-negative 1x1 convolution (the "lin" layers), averaged over
space and summed over the five layers. The VGG16 weights are the user's torchvision state dict
(``vgg16-397923af.pth``, read with ``weights_only=True``); the lin layers ship with this plugin,
converted from the ``lpips`` package's ``weights/v0.1/vgg.pth`` (BSD-2-Clause, see
``weights/LICENSE-lpips.txt``).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from sgfkit.errors import WeightsError
from sgfkit_projectors.distances import ImageDistance, unit_normalize

LIN_WEIGHTS = Path(__file__).parent / "weights" / "lpips_vgg_v0.1.safetensors"
#: torchvision VGG16 configuration "D": conv widths, "M" = 2x2 max-pool
VGG16_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")
#: ``features`` indices after which LPIPS reads (relu1_2, relu2_2, relu3_3, relu4_3, relu5_3), exclusive ends
SLICE_ENDS = (4, 9, 16, 23, 30)
SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)


def vgg16_features() -> nn.Sequential:
    """VGG16 ``features`` with torchvision's module indices (so its state dict keys load)."""
    layers: list[nn.Module] = []
    channels = 3
    for item in VGG16_CFG:
        if item == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(channels, int(item), kernel_size=3, padding=1), nn.ReLU(inplace=False)]
            channels = int(item)
    return nn.Sequential(*layers)


class LpipsVGG16(ImageDistance):
    """Per-image LPIPS distance [N] between images [N, 3, H, W] in [-1, 1]."""

    name = "lpips-vgg16"

    def __init__(self, features: nn.Sequential, lin: list[torch.Tensor]) -> None:
        super().__init__()
        self.features = features.eval().requires_grad_(False)
        self.register_buffer("shift", torch.tensor(SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(SCALE).view(1, 3, 1, 1))
        for i, w in enumerate(lin):
            self.register_buffer(f"lin{i}", w.float())

    @classmethod
    def from_files(cls, vgg16: str | Path, lin: str | Path = LIN_WEIGHTS) -> LpipsVGG16:
        """Build from a torchvision VGG16 state dict file and the LPIPS lin-layer file."""
        from safetensors.torch import load_file

        from sgfkit.weights import locate_weights

        path = locate_weights(str(vgg16))
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's weights problem
            raise WeightsError(f"{path}: not a readable torch state dict ({type(exc).__name__}); pass "
                               "torchvision's vgg16-397923af.pth") from None
        return cls(load_vgg16_features(state, path), [w for _, w in sorted(load_file(str(lin)).items())])

    def layers(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = (x - self.shift) / self.scale
        out, start = [], 0
        for end in SLICE_ENDS:
            for i in range(start, end):
                x = self.features[i](x)
            out.append(x)
            start = end
        return out

    def prepare(self, target: torch.Tensor) -> object:
        with torch.no_grad():
            return [unit_normalize(f) for f in self.layers(target)]

    def forward(self, images: torch.Tensor, prepared: object) -> torch.Tensor:
        total = images.new_zeros(images.shape[0])
        for i, (f, g) in enumerate(zip(self.layers(images), prepared)):  # type: ignore[arg-type]
            diff = (unit_normalize(f) - g) ** 2
            total = total + nn.functional.conv2d(diff, getattr(self, f"lin{i}")).mean(dim=(1, 2, 3))
        return total


def load_vgg16_features(state: dict, origin: Path | str = "state dict") -> nn.Sequential:
    """torchvision VGG16 state dict (``features.N.weight``; ``classifier.*`` ignored) -> features."""
    if not isinstance(state, dict):
        raise WeightsError(f"{origin}: expected a VGG16 state dict, got {type(state).__name__}")
    feats = vgg16_features()
    wanted = {f"features.{k}": v for k, v in feats.state_dict().items()}
    missing = [k for k in wanted if k not in state]
    if missing:
        raise WeightsError(f"{origin}: not a torchvision VGG16 state dict (missing {missing[0]}); pass "
                           "vgg16-397923af.pth")
    for key, ref in wanted.items():
        if tuple(state[key].shape) != tuple(ref.shape):
            raise WeightsError(f"{origin}: {key} has shape {tuple(state[key].shape)}, VGG16 has {tuple(ref.shape)}")
    feats.load_state_dict({k.removeprefix("features."): state[k].float() for k in wanted})
    return feats
