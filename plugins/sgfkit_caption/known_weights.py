"""Public checkpoints the caption stack can load (torch-free: read by ``sgfkit weights``)."""
from __future__ import annotations

from sgfkit.weights import KnownWeights

_SOURCE = "https://github.com/sgrvinod/a-PyTorch-Tutorial-to-Image-Captioning (README: pretrained model)"
_LICENSE = "MIT (tutorial code); MS-COCO captions CC BY 4.0"

TUTORIAL_CHECKPOINT = KnownWeights(
    component="show-attend-tell", file_name="BEST_checkpoint_coco_5_cap_per_img_5_min_word_freq.pth.tar",
    description="Show-Attend-Tell captioner (ResNet-101 encoder, attention LSTM) trained on MS-COCO",
    source=_SOURCE, license=_LICENSE)
TUTORIAL_WORD_MAP = KnownWeights(
    component="show-attend-tell", file_name="WORDMAP_coco_5_cap_per_img_5_min_word_freq.json",
    description="word map of the Show-Attend-Tell MS-COCO checkpoint", source=_SOURCE, license=_LICENSE)
