"""``train-encoder face-attributes --backbone senet50 --weights senet50_ft_weight.pkl``: an attribute head on
frozen VGGFace2 SE-ResNet-50 features.

The backbone never changes: each labelled image goes once through the original VGGFace2 preprocessing
(8-bit, resize 256, crop 224, BGR minus mean) and the network, giving features [N, 2048]; only a linear
head [2048 -> A] is fitted (AdamW, BCE on the soft labels). Features are standardised while fitting (so one
learning rate suits every feature scale) and the standardisation is folded into the saved head, which
therefore takes the raw features the encoder computes. The output is the head format the encoder reads
(``checkpoints.save_head``): ``encoder: {type: face-attributes, config: senet50, weights: X.pkl, head: OUT}``.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from sgfkit.progress import progress_task


def senet50_features(backbone: Any, images: torch.Tensor, batch: int = 32) -> torch.Tensor:
    """uint8 images [N, 3, H, W] -> SE-ResNet-50 features [N, 2048] (original preprocessing, no gradients)."""
    from sgfkit_face_attributes.preprocess import vggface2_from_uint8

    out = []
    with progress_task(f"SE-ResNet-50 features of {len(images)} images", total=len(images)) as task, torch.no_grad():
        for start in range(0, len(images), batch):
            part = images[start:start + batch]
            out.append(backbone.features(vggface2_from_uint8(part.permute(0, 2, 3, 1).numpy())).float())
            task.advance(len(part))
    return torch.cat(out)


def fit_head(features: torch.Tensor, targets: torch.Tensor, epochs: int, batch_size: int, lr: float,
             weight_decay: float, seed: int) -> tuple[Any, list[float]]:
    """A linear AttributeHead [D -> A] on raw features [N, D] for soft targets [N, A] in [0, 1]; (head, losses)."""
    from sgfkit_face_attributes.senet import AttributeHead

    mean, std = features.mean(0), features.std(0, unbiased=False).clamp_min(1e-6)
    z = (features - mean) / std
    torch.manual_seed(seed)
    head = AttributeHead([features.shape[1], targets.shape[1]])
    optim = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
    steps = epochs * -(-len(z) // batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(optim, T_max=max(1, steps))
    gen = torch.Generator().manual_seed(seed)
    losses: list[float] = []
    for _ in range(epochs):
        order = torch.randperm(len(z), generator=gen)
        for start in range(0, len(z), batch_size):
            idx = order[start:start + batch_size]
            loss = F.binary_cross_entropy_with_logits(head(z[idx]), targets[idx])
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            sched.step()
            losses.append(float(loss.detach()))
    layer = head.layers[0]
    with torch.no_grad():  # fold (x - mean) / std into the layer: W' = W / std, b' = b - W' mean
        layer.weight.div_(std)
        layer.bias.sub_(layer.weight @ mean)
    return head.eval(), losses


def train_senet50_head(output: Path, opts: dict[str, Any], data: tuple[torch.Tensor, ...], names: list[str],
                       command: str) -> dict[str, Any]:
    """Fit and write the head; ``data`` = (train images, train scores, held-out images, held-out scores),
    images uint8 [N, 3, H, W], scores [N, A] in [0, 1]. Returns the report (also in ``output``'s .json)."""
    from sgfkit.weights import locate_weights
    from sgfkit_face_attributes.checkpoints import load_senet50, save_head

    images, attrs, test_images, test_attrs = data
    spec = opts["weights"] or "senet50_ft_weight.pkl"
    backbone = load_senet50(locate_weights(spec))  # known download facts come from the registry
    t0 = time.perf_counter()
    train_x, test_x = senet50_features(backbone, images), senet50_features(backbone, test_images)
    t_features = time.perf_counter() - t0
    head, losses = fit_head(train_x, attrs, opts["epochs"], opts["batch_size"], opts["lr"],
                            opts["weight_decay"], opts["seed"])
    with torch.no_grad():
        train_pred, test_pred = torch.sigmoid(head(train_x)), torch.sigmoid(head(test_x))
    err = (test_pred - test_attrs).abs()
    report = {
        "backbone": "senet50", "weights": str(spec),
        "heldout_mae": float(err.mean()), "heldout_max_attribute_mae": float(err.mean(0).max()),
        "heldout_n": len(test_x), "heldout_per_attribute": {n: round(float(v), 4) for n, v in zip(names, err.mean(0))},
        # the error of always predicting the training mean: what a useless head would score
        "heldout_mae_predict_mean": float((test_attrs - attrs.mean(0)).abs().mean()),
        "train_mae": float((train_pred - attrs).abs().mean()),
        "train_mae_predict_mean": float((attrs - attrs.mean(0)).abs().mean()),
        "train_loss_first": losses[0], "train_loss_last": float(sum(losses[-5:]) / len(losses[-5:])),
        "steps": len(losses), "seconds_features": round(t_features, 1),
    }
    save_head(output, head, names, {"training": {"command": command, "options": opts}, "heldout": report})
    return report
