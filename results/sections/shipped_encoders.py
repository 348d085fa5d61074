"""The shipped encoders' held-out scores, as recorded with their weights at training time (the sidecar JSON
next to each ``.safetensors`` file; written by ``sgfkit train-encoder``)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

TITLE = "Shipped encoders: held-out scores recorded with the weights"
COMMAND = "make results SECTIONS=shipped_encoders"
ROOT = Path(__file__).resolve().parents[2]
WEIGHTS = {"face-attributes": "plugins/sgfkit_face_attributes/weights/embedded.safetensors",
           "anime-keypoints": "plugins/sgfkit_anime/weights/anime_keypoints.safetensors",
           "flower-caption": "plugins/sgfkit_caption/weights/flower_captioner.safetensors"}
#: goals (design numbers, issue 3 / 10): attribute MAE, landmark px, share of named facts that hold
GOALS = {"face_mae": 0.05, "keypoints_px": 1.5, "keypoints_mae": 0.05, "caption_accuracy": 0.90}
REMEASURE_SAMPLES, REMEASURE_SEED = 200, 424_242   # fresh renders: neither training nor report seeds
#: counterfactual twins the face encoder is re-measured on: how many, and their largest attribute move
TWIN_SAMPLES, TWIN_STEP = 1000, 0.15


def _record(weights: str) -> dict[str, Any]:
    path = ROOT / weights
    meta = json.loads(path.with_suffix(".json").read_text())
    held_out = meta.get("heldout", meta.get("held_out"))
    if not isinstance(held_out, dict):
        raise SystemExit(f"error: {path.with_suffix('.json').relative_to(ROOT)} records no held-out report "
                         f"('heldout' / 'held_out'); retrain with sgfkit train-encoder")
    held_out = {k: v for k, v in held_out.items() if k not in ("examples", "loss_curve")}  # long, not scores
    command = meta.get("command") or meta.get("training_command") or meta.get("training", {}).get("command")
    return {"weights": weights, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()[:16],
            "command": command, "held_out": held_out}


def recorded() -> dict[str, Any]:
    """Each shipped encoder's weights file, short hash, training command and recorded held-out report."""
    return {name: _record(weights) for name, weights in WEIGHTS.items()}


def remeasure(samples: int = REMEASURE_SAMPLES, seed: int = REMEASURE_SEED) -> dict[str, Any]:
    """Re-measure the two face encoders through the public API on fresh synth-faces renders (64 px, truncation
    0.8, a seed no training or report used) against the exact truth: attribute MAE, landmark distance (px)."""
    import torch

    import sgfkit

    torch.set_num_threads(1)
    generator = sgfkit.get_generator("synth-faces", space="w", truncation=0.8)
    latents = generator.sample_latents(samples, seed=seed)
    images = generator.synthesize(latents)   # [N, 3, 64, 64] in [-1, 1]
    truth_encoder = sgfkit.get_condition_encoder("synth-faces-truth")
    truth = dict(zip(truth_encoder.names, truth_encoder.measure(generator, latents).T))
    out: dict[str, Any] = {"samples": samples, "seed": seed, "truncation": 0.8, "resolution": generator.resolution}
    for name in ("face-attributes", "anime-keypoints"):
        encoder = sgfkit.get_condition_encoder(name)
        with torch.no_grad():
            pred = dict(zip(encoder.names, encoder.encode(images).T))
        points = sorted({n[:-2] for n in pred if n.endswith("_x") and f"{n[:-2]}_y" in pred})
        attributes = [n for n in pred if n in truth and not n.endswith(("_x", "_y"))]
        errors = torch.stack([(pred[a] - truth[a]).abs() for a in attributes])   # [attributes, N]
        result = {"attribute_mae": round(float(errors.mean()), 4)}
        if points:
            dist = torch.stack([torch.hypot(pred[f"{p}_x"] - truth[f"{p}_x"], pred[f"{p}_y"] - truth[f"{p}_y"])
                                for p in points])
            result["landmark_error_px"] = round(float(dist.mean()), 4)
        if name == "face-attributes":   # reading a change where it happened: what an edit step relies on
            from sgfkit_face_attributes.counterfactual_pairs import twin_reading

            codes = generator.ws_of(generator.sample_latents(TWIN_SAMPLES, seed=seed + 1))[:, 0]
            result["twins"] = twin_reading(encoder, generator, codes, TWIN_STEP, seed)
        out[name] = result
    return out


def run(work_dir: Path) -> dict[str, Any]:
    return {"recorded": recorded(), "remeasured": remeasure()}


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _shares(scores: dict[str, Any]) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {100 * v:.1f} %" for k, v in scores.items()
                     if isinstance(v, (int, float)))


def _twin_text(face: dict[str, Any]) -> str:
    twins = face.get("twins")
    if not twins:
        return ""
    worst = sorted(twins["leak_by_attribute"].items(), key=lambda kv: -kv[1])[:3]
    best = sorted(twins["leak_by_attribute"].items(), key=lambda kv: kv[1])[:3]

    def listed(items: list[tuple[str, float]]) -> str:
        return ", ".join(f"{name.replace('_', ' ')} {value:.2f}" for name, value in items)
    return (f"How `face-attributes` reads a *change* (what an edit relies on), on {twins['samples']} counterfactual "
            f"twins (fresh renders, each with a twin in which one attribute moved by up to {TWIN_STEP} along the "
            "truth's own min-norm direction and the others held): it reads the moved attribute moving the right way on "
            f"{100 * twins['sign_agreement']:.0f} % of them, and reads changes in the held attributes "
            f"{twins['leak']:.2f} times as large as the moved one (median |held change| / |moved change|). This is "
            "what even a perfect one-attribute step leaks through this encoder. By moved attribute: worst "
            f"{listed(worst)}; best {listed(best)}.\n\n")


def render(data: dict[str, Any]) -> str:
    rec, again = data["recorded"], data["remeasured"]
    face = rec["face-attributes"]["held_out"]
    kp = rec["anime-keypoints"]["held_out"]
    cap = rec["flower-caption"]["held_out"]
    kp_met = kp["landmark_error_px"] <= GOALS["keypoints_px"] and kp["attribute_mae"] <= GOALS["keypoints_mae"]
    rows = [
        f"| `face-attributes` (SE-ResNet, small config) | attribute MAE {face['heldout_mae']:.3f} "
        f"({face['heldout_n']} renders; worst attribute {face['heldout_max_attribute_mae']:.3f}) | "
        f"<= {GOALS['face_mae']}: {_verdict(face['heldout_mae'] <= GOALS['face_mae'])} |",
        f"| `anime-keypoints` (CNN) | landmarks {kp['landmark_error_px']:.2f} px at {kp['resolution']} px, "
        f"attribute MAE {kp['attribute_mae']:.3f} ({kp['samples']} renders) | <= {GOALS['keypoints_px']} px, "
        f"<= {GOALS['keypoints_mae']}: {_verdict(kp_met)} |"]
    accuracy = cap["named_attribute_accuracy"]
    details = []
    if isinstance(cap.get("per_attribute"), dict):
        details.append("per fact: " + _shares(cap["per_attribute"]))
    for key, value in cap.items():   # further per-kind reports the trainer records (e.g. two-tone mixes)
        if key != "per_attribute" and isinstance(value, dict) and value:
            details.append(f"{key.replace('_', ' ')}: " + ", ".join(
                f"{k.replace('_', ' ')} {v:.4g}" if isinstance(v, float) else f"{k.replace('_', ' ')} {v}"
                for k, v in value.items()))
    rows.append(f"| `flower-caption` (Show-Attend-Tell + SBERT) | {100 * accuracy:.1f} % of named attributes match "
                f"the truth ({cap['captions']} captions; {'; '.join(details)}) | "
                f">= {100 * GOALS['caption_accuracy']:.0f} %: {_verdict(accuracy >= GOALS['caption_accuracy'])} |")
    f_again, k_again = again["face-attributes"], again["anime-keypoints"]
    return ("| encoder | measured on held-out renders (recorded at training) | goal |\n|---|---|---|\n"
            + "\n".join(rows) + "\n\n"
            f"Re-measured now on {again['samples']} fresh renders ({again['resolution']} px, truncation "
            f"{again['truncation']}, seed {again['seed']}) against the exact truth: `face-attributes` attribute MAE "
            f"{f_again['attribute_mae']:.3f}; `anime-keypoints` landmarks {k_again['landmark_error_px']:.2f} px, "
            f"attribute MAE {k_again['attribute_mae']:.3f}. Each is retrained by the command stored with its weights: "
            + "; ".join(f"`{r['command']}`" for r in rec.values() if r["command"]) + ".\n\n" + _twin_text(f_again))
