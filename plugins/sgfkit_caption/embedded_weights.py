"""The embedded flower captioner's weights file: safetensors tensors + JSON metadata (config, word map,
preprocessing), written by training and read by the ``flower-caption`` encoder."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sgfkit.errors import WeightsError
from sgfkit.state_dicts import build_checked, config_from_metadata, json_metadata
from sgfkit_caption.sat_model import Captioner, CaptionerConfig
from sgfkit_caption.vocabulary import WordMap


def save_embedded_captioner(path: Path, captioner: Captioner, word_map: WordMap, meta: dict[str, Any]) -> None:
    """Write weights to ``path`` (.safetensors) and the metadata to ``path`` with suffix .json."""
    from safetensors.torch import save_file

    meta = {**meta, "config": captioner.config.to_dict(), "word_map": word_map.word_to_id,
            "mean": captioner.mean.flatten().tolist(), "std": captioner.std.flatten().tolist(),
            "input_size": captioner.input_size}
    tensors = {k: v.detach().contiguous().cpu() for k, v in captioner.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={"sgfkit": json.dumps(meta)})
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1) + "\n")


def load_embedded_captioner(path: Path) -> tuple[Captioner, WordMap, dict[str, Any]]:
    """Read weights written by :func:`save_embedded_captioner`; errors say what is wrong and what to do."""
    from safetensors import SafetensorError, safe_open

    if not path.is_file():
        raise WeightsError(f"captioner weights not found: {path}. The shipped file lives in the sgfkit_caption "
                           "package (reinstall sgfkit), or retrain: sgfkit train-encoder flower-caption --out PATH")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta_text = (f.metadata() or {}).get("sgfkit", "null")
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path}: not a readable captioner weights file ({exc}); "
                           "retrain with: sgfkit train-encoder flower-caption --out PATH") from None
    meta = json_metadata(meta_text, path, "sgfkit")
    if not isinstance(meta, dict) or "config" not in meta or "word_map" not in meta:
        raise WeightsError(f"{path}: safetensors file without sgfkit captioner metadata (config, word_map)")
    config = config_from_metadata(CaptionerConfig, meta["config"], path, "captioner")
    try:
        mean, std = tuple(float(v) for v in meta["mean"]), tuple(float(v) for v in meta["std"])
        input_size = None if meta.get("input_size") is None else int(meta["input_size"])
    except (KeyError, TypeError, ValueError) as exc:
        raise WeightsError(f"{path}: malformed captioner preprocessing metadata ({exc})") from None
    captioner = build_checked(lambda: Captioner(config, mean, std, input_size=input_size), tensors, path,
                              "captioner")
    expected = captioner.state_dict()
    problems = [k for k in expected if k not in tensors or tensors[k].shape != expected[k].shape]
    if problems:
        raise WeightsError(f"{path}: weights do not match the stored config (e.g. {problems[0]}); "
                           "the file is corrupt or from another version: retrain it")
    captioner.load_state_dict(tensors)
    return captioner.eval(), WordMap(meta["word_map"], source=str(path)), meta
