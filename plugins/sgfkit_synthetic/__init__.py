"""sgfkit bundled plugin: the synthetic worlds synth-faces and synth-flowers (the embedded default).

Public API::

    from sgfkit_synthetic import SynthFaces, SynthFlowers, SynthFacesTruth, SynthFlowersTruth, captions

Heavy (torch) modules load lazily so that ``import sgfkit_synthetic.plugin`` stays torch-free.
"""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "SynthFaces": "sgfkit_synthetic.faces:SynthFaces",
    "SynthFacesEntangled": "sgfkit_synthetic.faces_entangled:SynthFacesEntangled",
    "SynthFlowers": "sgfkit_synthetic.flowers:SynthFlowers",
    "SynthFacesTruth": "sgfkit_synthetic.truth:SynthFacesTruth",
    "SynthFacesEntangledTruth": "sgfkit_synthetic.truth:SynthFacesEntangledTruth",
    "SynthFlowersTruth": "sgfkit_synthetic.truth:SynthFlowersTruth",
    "CaptionSuccess": "sgfkit_synthetic.caption_metric:CaptionSuccess",
    "captions": "sgfkit_synthetic.captions",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'sgfkit_synthetic' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    value = importlib.import_module(module)
    if attr:
        value = getattr(value, attr)
    globals()[name] = value
    return value
