"""Training the shipped ``embedded`` face-attribute network on synth-faces.

``sgfkit train-encoder face-attributes --out PATH [--set key=value ...]`` calls
:func:`train_embedded`: render a fixed, seeded pool of synth-faces (64 px, truncation 0.8, like the
recipes) with their true attributes, fit the small SE-ResNet with a soft-label BCE loss (AdamW,
one-cycle cosine schedule, no augmentation), then score a fresh held-out set rendered from
another seed. The weights (safetensors) carry the config, the exact command, the data seeds and
the held-out scores in their metadata.
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from sgfkit.params import Param, validate_params
from sgfkit.progress import progress_task
from sgfkit.shipped_weights import optimizer_step, training_command
from sgfkit.threads import torch_threads

TRAINING_PARAMS: dict[str, Param] = {
    # more distinct renders, not more passes, is what taught the network to read a change where it happened.
    # Renders x epochs: twin leak (1000 twins, the shipped_encoders section's seed) / held-out MAE / the W recipe's
    # one-step SGF leak through the network / the floor under any direction (oracle J_truth), the last two from
    # benchmarks/bench_leak_decomposition.py: 12000 x 5 (shipped before) 0.41 / 0.028 / 0.401 / 0.329;
    # 24000 x 10 0.29 / 0.019 / 0.316 / 0.234; 48000 x 5 0.26 / 0.018 / 0.283 / 0.210; 144000 x 2 0.23 / 0.017 /
    # 0.288 / 0.207; 96000 x 4 (these defaults) 0.22 / 0.016 / 0.270 / 0.190
    "samples": Param(int, 96000, "training renders (rendered once, seeded), split over train_truncations", min=8),
    "heldout": Param(int, 1000, "held-out renders (another seed) for the report", min=8),
    "epochs": Param(int, 4, "passes over the training renders", min=1),
    "batch_size": Param(int, 64, "images per step", min=2),
    "lr": Param(float, 3e-3, "peak learning rate (one-cycle cosine)", min=0.0),
    "weight_decay": Param(float, 1e-4, "AdamW weight decay", min=0.0),
    "seed": Param(int, 0, "data seed of the training renders (and of the initialisation)"),
    "heldout_seed": Param(int, 987654, "data seed of the held-out renders"),
    "resolution": Param(int, 64, "synth-faces render size = network input size", min=16),
    "truncation": Param(float, 0.8, "synth-faces truncation psi of the held-out renders (the recipes' value)",
                        min=0.0, max=2.0),
    "train_truncations": Param(list, [0.8, 1.0], "truncation psi values the training renders are split over "
                               "(1.0 adds the extreme attribute values that edits reach)", item_type=float),
    "layers": Param(list, [1, 1, 1, 1], "bottleneck blocks per stage", item_type=int),
    "widths": Param(list, [16, 32, 64, 128], "bottleneck width per stage (output = 4x)", item_type=int),
    "stem_width": Param(int, 16, "channels of the 7x7 stem conv", min=1),
    "reduction": Param(int, 8, "squeeze-excitation reduction", min=1),
    "stem_pool": Param(bool, False, "keep the stem max-pool (false: 2x finer features for 64-px faces, ~3x compute)"),
    "threads": Param(int, 1, "CPU threads (1 is fastest on a shared 2-core machine)", min=1),
    "render_batch": Param(int, 250, "renders per generator call", min=1),
    "images": Param(str, None, "your own images: folder the labels' file column is relative to (instead of "
                    "synth-faces renders)", nullable=True),
    "labels": Param(str, None, "with images: CSV 'file,<attribute>,...' with scores in [0, 1]", nullable=True),
    "heldout_share": Param(float, 0.2, "with images or latents: share of the labelled samples held out for the "
                           "report", min=0.01, max=0.9),
    "latents": Param(str, None, "labels on generated samples: latents file (.npz/.npy/.pt) whose rows the labels' "
                     "index column names (instead of images)", nullable=True),
    "latents_key": Param(str, None, "with latents: the array of an .npz / .pt dict that holds the codes",
                         nullable=True),
    "generator": Param(str, None, "with latents: the generator that renders them", nullable=True),
    "generator_params": Param(dict, {}, "with latents: the generator's parameters (--set generator.KEY=VALUE)"),
    "backbone": Param(str, "embedded", "embedded (train the small SE-ResNet) or senet50 (train only an attribute "
                      "head on frozen VGGFace2 SE-ResNet-50 features; needs your labels)",
                      choices=("embedded", "senet50")),
    "weights": Param(str, None, "with backbone senet50: the VGGFace2 .pkl (default senet50_ft_weight.pkl)",
                     nullable=True),
}


def _command(output: Path, options: dict[str, Any], name: str = "face-attributes") -> str:
    """The ``sgfkit train-encoder NAME`` command line that reproduces these options (generator
    parameters as ``--set generator.KEY=VALUE``)."""
    given = {key: value for key, value in options.items() if key != "generator_params"}
    given.update({f"generator.{key}": value for key, value in options["generator_params"].items()})
    return training_command(name, output, given, {key: param.default for key, param in TRAINING_PARAMS.items()})


def render_pool(n: int, seed: int, resolution: int, truncation: float, batch: int):
    """Seeded synth-faces renders and true attributes.

    Returns (images uint8 [n, 3, R, R], attributes float32 [n, A] in [0, 1], attribute names).
    """
    import torch
    from sgfkit_synthetic import SynthFaces, SynthFacesTruth

    gen = SynthFaces(resolution=resolution, truncation=truncation)
    truth = SynthFacesTruth()
    names = list(truth.attribute_names)
    latents = gen.sample_latents(n, seed=seed)
    images, attrs = [], []
    with progress_task(f"Rendering {n} synth-faces", total=n) as task:
        for start in range(0, n, batch):
            part = latents.index(slice(start, start + batch))
            with torch.no_grad():
                img = gen.synthesize(part, batch_size=batch)
                attrs.append(truth.measure(gen, part)[:, :len(names)].float().cpu())
            images.append((img.cpu() * 127.5 + 127.5).round().clamp(0, 255).to(torch.uint8))
            task.advance(len(part))
    return torch.cat(images), torch.cat(attrs), names


def evaluate(net, images, attrs, batch: int = 250) -> dict[str, Any]:
    """Mean absolute error of the predicted probabilities, overall and per attribute."""
    import torch

    net.eval()
    preds = []
    with torch.no_grad():
        for start in range(0, len(images), batch):
            x = images[start:start + batch].float() / 127.5 - 1.0
            preds.append(net(x))
    err = (torch.cat(preds) - attrs).abs()
    return {"mae": float(err.mean()), "max_attribute_mae": float(err.mean(0).max()), "n": len(images)}


def train_embedded(output: Path, encoder_name: str = "face-attributes", **options: Any) -> dict[str, Any]:
    """Train the embedded face-attribute network; write ``output`` (+ ``.json``); return the report.

    ``encoder_name`` is the registered name the reproducing command in the metadata uses.
    """
    opts = validate_params(TRAINING_PARAMS, options, component="face-attributes training")
    with torch_threads(opts["threads"]):
        return _train_embedded(output, encoder_name, opts)


def _train_embedded(output: Path, encoder_name: str, opts: dict[str, Any]) -> dict[str, Any]:
    import torch
    import torch.nn.functional as F

    from sgfkit_face_attributes.checkpoints import save_embedded
    from sgfkit_face_attributes.senet import AttributeHead, FaceAttributeNet, SENet, SENetConfig

    t0 = time.perf_counter()
    _check_sources(opts)
    if opts["labels"] is not None:  # the user's labelled images or latents; a seeded share is held out
        from sgfkit_face_attributes.labelled_images import read_labelled_images, split_heldout

        if opts["images"] is not None:
            every, scores, names = read_labelled_images(Path(opts["images"]), Path(opts["labels"]),
                                                        opts["resolution"])
        else:
            from sgfkit_face_attributes.labelled_latents import render_labelled_latents

            every, scores, names = render_labelled_latents(
                Path(opts["latents"]), Path(opts["labels"]), opts["generator"], opts["generator_params"],
                opts["resolution"], opts["render_batch"], opts["latents_key"])
        train_idx, test_idx = split_heldout(len(every), opts["heldout_share"], opts["heldout_seed"])
        images, attrs = every[train_idx], scores[train_idx]
        test_images, test_attrs = every[test_idx], scores[test_idx]
        psi1_images = None
        if opts["backbone"] == "senet50":
            from sgfkit_face_attributes.head_training import train_senet50_head

            return train_senet50_head(output, opts, (images, attrs, test_images, test_attrs), names,
                                      _command(output, opts, encoder_name))
    else:
        psis = opts["train_truncations"] or [opts["truncation"]]
        pools = [render_pool(opts["samples"] // len(psis) + (k < opts["samples"] % len(psis)), opts["seed"] + k,
                             opts["resolution"], psi, opts["render_batch"]) for k, psi in enumerate(psis)]
        images, attrs, names = torch.cat([p[0] for p in pools]), torch.cat([p[1] for p in pools]), pools[0][2]
        test_images, test_attrs, _ = render_pool(opts["heldout"], opts["heldout_seed"], opts["resolution"],
                                                 opts["truncation"], opts["render_batch"])
        psi1_images, psi1_attrs, _ = render_pool(opts["heldout"], opts["heldout_seed"], opts["resolution"],
                                                 1.0, opts["render_batch"])
    t_render = time.perf_counter() - t0

    torch.manual_seed(opts["seed"])
    config = SENetConfig(layers=tuple(opts["layers"]), widths=tuple(opts["widths"]),
                         stem_width=opts["stem_width"], reduction=opts["reduction"],
                         stem_pool=opts["stem_pool"])
    backbone = SENet(config)
    net = FaceAttributeNet(backbone, AttributeHead([config.feature_dim, len(names)]))
    optim = torch.optim.AdamW(net.parameters(), lr=opts["lr"], weight_decay=opts["weight_decay"])
    steps_per_epoch = math.ceil(len(images) / opts["batch_size"])
    total = steps_per_epoch * opts["epochs"]
    sched = torch.optim.lr_scheduler.OneCycleLR(optim, max_lr=opts["lr"], total_steps=total,
                                                pct_start=0.15, anneal_strategy="cos")
    gen = torch.Generator().manual_seed(opts["seed"])
    t1 = time.perf_counter()
    losses = []
    with progress_task("Training face-attributes", total=total) as task:
        for _ in range(opts["epochs"]):
            net.train()
            order = torch.randperm(len(images), generator=gen)
            for start in range(0, len(images), opts["batch_size"]):
                idx = order[start:start + opts["batch_size"]]
                if len(idx) < 2:   # BatchNorm needs two samples
                    continue
                x = images[idx].float() / 127.5 - 1.0
                loss = F.binary_cross_entropy_with_logits(net.logits(x), attrs[idx])
                losses.append(optimizer_step(loss, optim, sched))
                task.advance()
                task.update(loss=round(losses[-1], 4))
    t_train = time.perf_counter() - t1
    heldout = evaluate(net, test_images, test_attrs)
    heldout_psi1 = evaluate(net, psi1_images, psi1_attrs) if psi1_images is not None else {"mae": None}
    # the error of always predicting the training mean: what a useless network would score
    baseline = float((test_attrs - attrs.mean(0)).abs().mean())
    per_attr = evaluate_per_attribute(net, test_images, test_attrs, names)
    report = {
        "heldout_mae": heldout["mae"], "heldout_max_attribute_mae": heldout["max_attribute_mae"],
        "heldout_n": heldout["n"], "heldout_per_attribute": per_attr,
        "heldout_truncation": opts["truncation"], "heldout_mae_truncation_1": heldout_psi1["mae"],
        "heldout_mae_predict_mean": baseline,
        "train_loss_last": float(sum(losses[-20:]) / max(1, len(losses[-20:]))),
        "steps": len(losses), "seconds_render": round(t_render, 1), "seconds_train": round(t_train, 1),
    }
    meta = {
        "config": config.to_dict(), "attribute_names": names, "input_size": opts["resolution"],
        "head_dims": [config.feature_dim, len(names)],
        "training": {"command": _command(output, opts, encoder_name), "options": opts,
                     "data": f"labelled images {opts['images']} ({opts['labels']}), {opts['resolution']} px; "
                             f"held out: a {opts['heldout_share']} share drawn with heldout_seed"
                             if opts["images"] is not None else
                             f"labelled latents {opts['latents']} ({opts['labels']}) rendered by "
                             f"{opts['generator']} {json.dumps(opts['generator_params'])} at "
                             f"{opts['resolution']} px; held out: a {opts['heldout_share']} share drawn with "
                             f"heldout_seed" if opts["latents"] is not None else
                             f"synth-faces {opts['resolution']} px, sample_latents(n, data_seed + k) at "
                             f"truncation train_truncations[k]; held out: sample_latents(heldout, heldout_seed) "
                             f"at truncation {opts['truncation']} (and 1.0)",
                     "data_seed": opts["seed"], "heldout_seed": opts["heldout_seed"]},
        "heldout": report,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    save_embedded(output, net.eval(), meta)
    return report


def _check_sources(opts: dict[str, Any]) -> None:
    """Own labels come with exactly one of images / latents (+ generator); clear errors otherwise."""
    from sgfkit.errors import SgfkitError

    if opts["images"] is not None and opts["latents"] is not None:
        raise SgfkitError("give --images DIR or --latents FILE, not both (labels name files or latent rows)")
    if (opts["images"] is not None or opts["latents"] is not None) != (opts["labels"] is not None):
        raise SgfkitError("train your own attributes with both --images DIR and --labels labels.csv "
                          "(or --latents FILE --generator NAME and --labels labels.csv)")
    if opts["latents"] is not None and opts["generator"] is None:
        raise SgfkitError("--latents needs --generator NAME (the generator that renders them, e.g. synth-faces; "
                          "its parameters with --set generator.KEY=VALUE)")
    if opts["latents"] is None and (opts["generator"] is not None or opts["generator_params"]):
        raise SgfkitError("--generator and generator.* settings apply to --latents only")
    if opts["backbone"] == "senet50" and opts["labels"] is None:
        raise SgfkitError("--backbone senet50 trains an attribute head on your labels: add --images DIR (or "
                          "--latents FILE --generator NAME) and --labels labels.csv")
    if opts["weights"] is not None and opts["backbone"] != "senet50":
        raise SgfkitError("--weights names the VGGFace2 .pkl of --backbone senet50; add --backbone senet50")


def evaluate_per_attribute(net, images, attrs, names: list[str], batch: int = 250) -> dict[str, float]:
    import torch

    net.eval()
    with torch.no_grad():
        preds = torch.cat([net(images[s:s + batch].float() / 127.5 - 1.0) for s in range(0, len(images), batch)])
    mae = (preds - attrs).abs().mean(0)
    return {name: round(float(v), 4) for name, v in zip(names, mae)}
