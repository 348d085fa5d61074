"""Load the Show-Attend-Tell tutorial checkpoint without running any of its code.

The public checkpoint (``BEST_checkpoint_coco_5_cap_per_img_5_min_word_freq.pth.tar``) is a legacy
``torch.save`` of whole modules: ``{'encoder': models.Encoder, 'decoder': models.DecoderWithAttention,
...}``. We hand ``torch.load`` a pickle module whose unpickler is
:class:`sgfkit.safe_pickle.RestrictedUnpickler` with an allow-list that maps every module class the
file names onto an inert record (:class:`PickledModule`) and tensors onto torch's own rebuild
functions. Pickle's BUILD step fills each record's ``__dict__`` (``_parameters``, ``_buffers``,
``_modules`` and hyper-parameters); we flatten those into state dicts and load them into our own
:mod:`sgfkit_caption.sat_model` modules. Anything else in the file is refused.
"""
from __future__ import annotations

import collections
import re
import types
import warnings
from pathlib import Path
from typing import Any

import torch

from sgfkit.errors import WeightsError
from sgfkit.safe_pickle import RestrictedUnpickler
from sgfkit_caption.sat_model import Captioner, CaptionerConfig

#: the tutorial's preprocessing (caption.py): resize to 256, /255, ImageNet statistics
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
TUTORIAL_INPUT_SIZE = 256


class PickledModule:
    """Inert stand-in for a pickled ``nn.Module`` (or optimizer): only holds its attributes."""

    #: read by torch's legacy loader when a saved class source differs: never write patch files
    dump_patches = False
    pickled_class = ""

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2:  # (state, slotstate)
            state = {**(state[0] or {}), **(state[1] or {})}
        if not isinstance(state, dict):
            raise WeightsError(f"unexpected pickled state for {self.pickled_class}: {type(state).__name__}")
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
        ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
        ("torch", "Size"): torch.Size,
    })
    for builtins_name in ("__builtin__", "builtins"):  # py2-style names in protocol-2 pickles
        allowed[(builtins_name, "set")] = set
        allowed[(builtins_name, "dict")] = dict
    return allowed


def _pickle_module(source: str) -> types.ModuleType:
    """A stand-in for the ``pickle`` module that torch.load drives: restricted unpickling only."""
    allowed = tutorial_allowlist()

    class Unpickler(RestrictedUnpickler):
        def __init__(self, file, **kwargs: Any) -> None:
            super().__init__(file, allowed, source=source, encoding=kwargs.get("encoding", "ASCII"))

    def load(file, **kwargs: Any) -> Any:
        return Unpickler(file, **kwargs).load()

    module = types.ModuleType("sgfkit_restricted_pickle")
    module.Unpickler = Unpickler  # type: ignore[attr-defined]
    module.load = load  # type: ignore[attr-defined]
    module.__name__ = "sgfkit_restricted_pickle"
    return module


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
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # source-changed warnings about the stand-in classes
            data = torch.load(path, map_location="cpu", weights_only=False,  # safe: restricted pickle_module
                              pickle_module=_pickle_module(str(path)))
    except WeightsError:
        raise
    except Exception as exc:  # truncated / foreign files surface as many exception types
        raise WeightsError(f"{path}: not a readable Show-Attend-Tell checkpoint ({type(exc).__name__}: {exc}); "
                           "expected the tutorial's BEST_checkpoint_*.pth.tar") from None
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
        target = getattr(model, part)
        ours = target.state_dict()
        ours = {k: v for k, v in ours.items() if not k.endswith("num_batches_tracked")}
        missing = sorted(set(ours) - set(state))
        unexpected = sorted(set(state) - set(ours))
        wrong = [f"{k} {list(state[k].shape)} (expected {list(ours[k].shape)})"
                 for k in ours if k in state and state[k].shape != ours[k].shape]
        if missing or unexpected or wrong:
            details = "; ".join(filter(None, [
                f"missing {', '.join(missing[:5])}" if missing else "",
                f"unexpected {', '.join(unexpected[:5])}" if unexpected else "",
                f"wrong shapes {', '.join(wrong[:5])}" if wrong else ""]))
            raise WeightsError(f"{source}: the {part} does not match the Show-Attend-Tell layout: {details}")
        target.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    return model.eval()


def load_tutorial_captioner(path: str | Path) -> Captioner:
    """The tutorial checkpoint at ``path`` as our :class:`Captioner` (eval mode, CPU)."""
    data = read_tutorial_checkpoint(path)
    return captioner_from_records(data["encoder"], data["decoder"], str(path))
