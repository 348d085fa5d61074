"""The hostile-weights corpus that tests/test_hostile_corpus.py runs, counted per loader (tests/hostile_weights.py)."""
from __future__ import annotations

import collections
import sys
from pathlib import Path
from typing import Any

TITLE = "Hostile or malformed weight files run by tests/test_hostile_corpus.py, per loader"
COMMAND = "make results SECTIONS=hostile_corpus"
TESTS = Path(__file__).resolve().parents[2] / "tests"
#: recipe-section builders of tests/hostile_weights.py -> the loader they exercise
LOADERS = {"stylegan2": "StyleGAN2", "progan": "ProGAN", "face_head": "face-attributes heads",
           "vggface2": "VGGFace2 SE-ResNet-50", "show_attend_tell": "Show-Attend-Tell",
           "embedded_faces": "face-attributes safetensors", "anime_keypoints": "anime-keypoints safetensors",
           "flower_caption": "flower-caption safetensors", "i2v_model": "illustration2vec caffemodel",
           "i2v_tags": "illustration2vec tag lists"}


def count() -> dict[str, Any]:
    """Cases in the corpus: in all, per loader (recipe-section builder) and per file suffix."""
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    from hostile_weights import all_cases

    cases = all_cases()
    per_loader = collections.Counter(c.section.__name__ for c in cases)
    per_suffix = collections.Counter(c.suffix for c in cases)
    return {"cases": len(cases), "per_loader": dict(per_loader.most_common()),
            "per_suffix": dict(per_suffix.most_common())}


def run(work_dir: Path) -> dict[str, Any]:
    return count()


def render(data: dict[str, Any]) -> str:
    loaders = ", ".join(f"{LOADERS.get(name, name)} {n}" for name, n in data["per_loader"].items())
    return (f"The hostile corpus (`tests/hostile_weights.py`, run by `tests/test_hostile_corpus.py`): "
            f"{data['cases']} files; per loader: {loaders}.\n")
