"""Load the Show-Attend-Tell tutorial checkpoint without running any of its code.

The public checkpoint (``BEST_checkpoint_coco_5_cap_per_img_5_min_word_freq.pth.tar``) is a legacy
``torch.save`` of whole modules: ``{'encoder': models.Encoder, 'decoder': models.DecoderWithAttention,
...}``. It is read by :func:`sgfkit.torch_files.read_torch_bytes` (never ``torch.load``, whose legacy
path compares pickled module sources and can write ``.patch`` files) with an allow-list that maps every
module class the file names onto an inert record (:class:`PickledModule`); tensors are rebuilt from
the file's storages after their sizes are checked against the bytes present. Pickle's BUILD step
fills each fresh record's ``__dict__`` (``_parameters``, ``_buffers``, ``_modules`` and
hyper-parameters); we flatten those into state dicts and load them into our own
:mod:`sgfkit_caption.sat_model` modules. Anything else in the file is refused.
"""
from __future__ import annotations

import collections
import re
from pathlib import Path
from typing import Any

import torch

from sgfkit.errors import WeightsError
from sgfkit.state_dicts import load_state_checked
from sgfkit.torch_files import read_torch_bytes
from sgfkit_caption.sat_model import Captioner, CaptionerConfig

#: the tutorial's preprocessing (caption.py): resize to 256, /255, ImageNet statistics
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
TUTORIAL_INPUT_SIZE = 256


class PickledModule:
    """Inert stand-in for a pickled ``nn.Module`` (or optimizer): only holds its attributes."""

    pickled_class = ""

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2:  # (state, slotstate)
            state = {**(state[0] or {}), **(state[1] or {})}
        if not isinstance(state, dict):
            raise WeightsError(f"unexpected pickled state for {self.pickled_class}: {type(state).__name__}")
        bad = [key for key in state if not isinstance(key, str) or key.startswith("__")]
        if bad:
            raise WeightsError(f"refused the attribute {bad[0]!r} in a pickled {self.pickled_class}: special "
                               "attributes are never set from a checkpoint")
        self.__dict__.update(state)


_MODULE_CLASSES = [
    ("models", "Encoder"), ("models", "Attention"), ("models", "DecoderWithAttention"),
    ("torchvision.models.resnet", "Bottleneck"),
    ("torch.nn.modules.conv", "Conv2d"), ("torch.nn.modules.batchnorm", "BatchNorm2d"),
    ("torch.nn.modules.activation", "ReLU"), ("torch.nn.modules.activation", "Softmax"),
    ("torch.nn.modules.activation", "Sigmoid"), ("torch.nn.modules.pooling", "MaxPool2d"),
    ("torch.nn.modules.pooling", "AdaptiveAvgPool2d"), ("torch.nn.modules.container", "Sequential"),
    ("torch.nn.modules.linear", "Linear"), ("torch.nn.modules.sparse", "Embedding"),
    ("torch.nn.modules.dropout", "Dropout"), ("torch.nn.modules.rnn", "LSTMCell"),
    ("torch.optim.adam", "Adam"),
]


def _stub_class(module: str, name: str) -> type:
    return type(name, (PickledModule,), {"pickled_class": f"{module}.{name}", "__module__": __name__})


def tutorial_allowlist() -> dict[tuple[str, str], Any]:
    """Every global the tutorial checkpoint may name, mapped to what we build instead."""
    allowed: dict[tuple[str, str], Any] = {key: _stub_class(*key) for key in _MODULE_CLASSES}
    allowed.update({
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("collections", "defaultdict"): collections.defaultdict,
    })
    for builtins_name in ("__builtin__", "builtins"):  # py2-style names in protocol-2 pickles
        allowed[(builtins_name, "set")] = set
        allowed[(builtins_name, "dict")] = dict
    return allowed


def module_state_dict(record: Any, prefix: str = "") -> dict[str, torch.Tensor]:
    """Flatten a :class:`PickledModule` tree into ``{dotted.name: tensor}`` like ``state_dict()``."""
    state: dict[str, torch.Tensor] = {}
    for attr in ("_parameters", "_buffers"):
        for name, value in (getattr(record, attr, None) or {}).items():
            if value is not None:
                state[prefix + name] = value.detach() if isinstance(value, torch.Tensor) else value
    for name, child in (getattr(record, "_modules", None) or {}).items():
        if child is not None:
            state.update(module_state_dict(child, f"{prefix}{name}."))
    return state


def read_tutorial_checkpoint(path: str | Path) -> dict[str, Any]:
    """Unpickle the checkpoint with the restricted allow-list; returns the raw dict of records."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"Show-Attend-Tell checkpoint not found: {path}")
    data = read_torch_bytes(path, tutorial_allowlist(), source=str(path), buildable=(PickledModule,), modules=True,
                            what="Show-Attend-Tell checkpoint (expected the tutorial's BEST_checkpoint_*.pth.tar)")
    if not isinstance(data, dict) or not isinstance(data.get("encoder"), PickledModule) \
            or not isinstance(data.get("decoder"), PickledModule):
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise WeightsError(f"{path}: expected a dict with 'encoder' and 'decoder' modules "
                           f"(the Show-Attend-Tell tutorial format), found {keys}")
    return data


def _resnet_layers(encoder_state: dict[str, torch.Tensor]) -> list[int]:
    """Bottleneck counts of stages resnet.4..7 from the key names."""
    counts = []
    for stage in range(4, 8):
        blocks = {int(m.group(1)) for k in encoder_state if (m := re.match(rf"resnet\.{stage}\.(\d+)\.", k))}
        counts.append(max(blocks) + 1 if blocks else 0)
    return counts


def captioner_from_records(encoder: Any, decoder: Any, source: str) -> Captioner:
    """Build our :class:`Captioner` from the unpickled records and load their weights."""
    enc_state = {k: v for k, v in module_state_dict(encoder).items() if not k.endswith("num_batches_tracked")}
    dec_state = module_state_dict(decoder)
    try:
        vocab_size, embed_dim = dec_state["embedding.weight"].shape
        decoder_dim, encoder_dim = dec_state["init_h.weight"].shape
        attention_dim = dec_state["attention.encoder_att.weight"].shape[0]
    except KeyError as exc:
        raise WeightsError(f"{source}: the decoder lacks {exc}; not a Show-Attend-Tell DecoderWithAttention") from None
    layers = _resnet_layers(enc_state)
    if 0 in layers:
        raise WeightsError(f"{source}: the encoder is not a ResNet trunk (stages resnet.4-7 found: {layers})")
    enc_size = int(getattr(encoder, "enc_image_size", 14))
    config = CaptionerConfig(vocab_size=int(vocab_size), encoder="resnet", encoder_dim=int(encoder_dim),
                             enc_image_size=enc_size, attention_dim=int(attention_dim), embed_dim=int(embed_dim),
                             decoder_dim=int(decoder_dim), resnet_layers=layers)
    model = Captioner(config, IMAGENET_MEAN, IMAGENET_STD, input_size=TUTORIAL_INPUT_SIZE)
    for part, state in (("encoder", enc_state), ("decoder", dec_state)):
        load_state_checked(getattr(model, part), state, source, f"Show-Attend-Tell {part} layout",
                           optional=("num_batches_tracked",))
    return model.eval()


def load_tutorial_captioner(path: str | Path) -> Captioner:
    """The tutorial checkpoint at ``path`` as our :class:`Captioner` (eval mode, CPU)."""
    data = read_tutorial_checkpoint(path)
    return captioner_from_records(data["encoder"], data["decoder"], str(path))
