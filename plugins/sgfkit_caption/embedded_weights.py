"""The embedded flower captioner's weights file: safetensors tensors + JSON metadata (config, word map,
preprocessing), written by training and read by the ``flower-caption`` encoder."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from sgfkit.errors import WeightsError
from sgfkit.shipped_weights import module_tensors, read_weights, save_weights
from sgfkit.state_dicts import build_checked, config_from_metadata, load_state_checked
from sgfkit_caption.sat_model import Captioner, CaptionerConfig
from sgfkit_caption.vocabulary import WordMap


def save_embedded_captioner(path: Path, captioner: Captioner, word_map: WordMap, meta: dict[str, Any]) -> None:
    """Write weights to ``path`` (.safetensors) and the metadata to ``path`` with suffix .json."""
    meta = {**meta, "config": captioner.config.to_dict(), "word_map": word_map.word_to_id,
            "mean": captioner.mean.flatten().tolist(), "std": captioner.std.flatten().tolist(),
            "input_size": captioner.input_size}
    save_weights(path, module_tensors(captioner), meta)


def load_embedded_captioner(path: Path) -> tuple[Captioner, WordMap, dict[str, Any]]:
    """Read weights written by :func:`save_embedded_captioner`; errors say what is wrong and what to do."""
    if not path.is_file():
        raise WeightsError(f"captioner weights not found: {path}. The shipped file lives in the sgfkit_caption "
                           "package (reinstall sgfkit), or retrain: sgfkit train-encoder flower-caption --out PATH")
    tensors, meta = read_weights(path, "captioner weights", "retrain with: sgfkit train-encoder flower-caption "
                                 "--out PATH")
    if "config" not in meta or "word_map" not in meta:
        raise WeightsError(f"{path}: safetensors file without sgfkit captioner metadata (config, word_map)")
    config = config_from_metadata(CaptionerConfig, meta["config"], path, "captioner")
    try:
        mean, std = tuple(float(v) for v in meta["mean"]), tuple(float(v) for v in meta["std"])
        input_size = None if meta.get("input_size") is None else int(meta["input_size"])
    except (KeyError, TypeError, ValueError) as exc:
        raise WeightsError(f"{path}: malformed captioner preprocessing metadata ({exc})") from None
    captioner = build_checked(lambda: Captioner(config, mean, std, input_size=input_size), tensors, path,
                              "captioner")
    load_state_checked(captioner, tensors, path, "captioner its config describes (retrain it)")
    return captioner.eval(), WordMap(meta["word_map"], source=str(path)), meta
