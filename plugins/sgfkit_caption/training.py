"""Train the embedded flower captioner on synth-flowers renders (``sgfkit train-encoder flower-caption``).

Data are made on the fly: latents of synth-flowers (half plain w at the training truncation, half
style-mixed w+ with coarse / middle / fine layers from different codes and a random truncation,
so that attribute combinations an edit can reach are covered), rendered at 64 px; each render gets
several captions from the world's caption grammar. Teacher-forced cross-entropy, Adam with cosine
decay. The held-out report captions fresh renders (seed + 1) with beam search and checks every
attribute a caption names against the truth.
"""
from __future__ import annotations

import math
import random
import time
from pathlib import Path
from typing import Any

import torch

from sgfkit.latents import Latents
from sgfkit.params import validate_params
from sgfkit.progress import progress_task
from sgfkit.shipped_weights import training_command
from sgfkit.threads import torch_threads
from sgfkit_caption.beam_search import DecoderStepModel, beam_search
from sgfkit_caption.embedded_weights import save_embedded_captioner
from sgfkit_caption.sat_model import Captioner, CaptionerConfig
from sgfkit_caption.training_params import TRAINING_PARAMS
from sgfkit_caption.vocabulary import WordMap, tokenize


def _world(resolution: int, truncation: float):
    from sgfkit_synthetic import SynthFlowers, SynthFlowersTruth

    return SynthFlowers(resolution=resolution, truncation=truncation), SynthFlowersTruth()


def sample_training_latents(g, n: int, seed: int, truncation: float) -> Latents:
    """Half plain w (psi = ``truncation``), half style-mixed w+ with psi in [0.6, 1.0]: [n, num_ws, w_dim]."""
    gen = torch.Generator().manual_seed(seed)
    n_plain = n // 2
    with torch.no_grad():
        w_plain = g.truncate(g.mapping(torch.randn(n_plain, g.z_dim, generator=gen)), psi=truncation)
        wp = w_plain.unsqueeze(1).repeat(1, g.num_ws, 1)
        n_mix = n - n_plain
        mixed = torch.empty(n_mix, g.num_ws, g.w_dim)
        psi = 0.6 + 0.4 * torch.rand(n_mix, 1, generator=gen)
        for group, layers in g.layer_groups.items():
            if group == "all":
                continue
            w = g.mapping(torch.randn(n_mix, g.z_dim, generator=gen))
            w = g.w_avg + psi * (w - g.w_avg)
            mixed[:, layers] = w.unsqueeze(1)
    return Latents(torch.cat([wp, mixed]), "w+")


def render_with_facts(g, truth, latents: Latents, batch_size: int = 256) -> tuple[torch.Tensor, list[dict]]:
    """Images as uint8 [N, 3, R, R] (memory) and the truth facts of each."""
    images, facts = [], []
    for start in range(0, len(latents), batch_size):
        part = latents.index(slice(start, start + batch_size))
        img = g.synthesize(part, batch_size=batch_size)
        images.append(((img.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8))
        facts.extend(truth.facts(g, part))
    return torch.cat(images), facts


def to_float_images(images_u8: torch.Tensor) -> torch.Tensor:
    """uint8 [N, 3, R, R] -> float in [-1, 1]."""
    return images_u8.float() / 127.5 - 1.0


def caption_images(captioner: Captioner, word_map: WordMap, images: torch.Tensor, beam_size: int = 3,
                   max_len: int = 30, batch_size: int = 256) -> list[str]:
    """Beam-search captions of float images [N, 3, R, R] in [-1, 1]."""
    out = []
    captioner.eval()
    with torch.no_grad():
        for start in range(0, images.shape[0], batch_size):
            feats = captioner.features(images[start:start + batch_size])
            res = beam_search(DecoderStepModel(captioner.decoder, feats), feats.shape[0], word_map.start,
                              word_map.end, beam_size=beam_size, max_len=max_len)
            out.extend(word_map.decode(s) for s in res.sequences)
    return out


def fact_targets(facts: list[dict]) -> tuple[torch.Tensor, list[int]]:
    """Class index of every discrete fact per render [N, F] and the number of classes of each fact.

    A fact that is a list for some renders (a two-tone ``petal_color``: [base, tip]) gives two
    columns, its first and its last value (equal for a single colour).
    """
    from sgfkit_synthetic.captions import FACT_KEYS

    keys = sorted(k for k in facts[0] if k in FACT_KEYS)   # not petal_mix: colour shares are no class
    listed = {k for k in keys if any(isinstance(f[k], list) for f in facts)}
    columns = [(k, 0) for k in keys] + [(k, -1) for k in sorted(listed)]

    def label(f: dict, key: str, end: int) -> str:
        v = f[key]
        return str(v[end] if isinstance(v, list) else v)

    values = {c: sorted({label(f, *c) for f in facts}) for c in columns}
    labels = torch.tensor([[values[c].index(label(f, *c)) for c in columns] for f in facts], dtype=torch.long)
    return labels, [len(values[c]) for c in columns]


def informative_caption(grammar, facts: dict, rng: random.Random, required: list[str], tries: int = 64) -> str:
    """A grammar caption that names every fact in ``required`` (the first of ``tries`` draws that does).

    Beam search returns the most likely caption, which for the raw grammar is the shortest
    ("a red flower"); training only on captions that name ``required`` makes it say more
    ("this flower has red petals and a black center on a green background"), so edits of those
    facts are measurable and ``keep`` targets can hold them. The grammar is asked to name them;
    the retry covers a template that drops one.
    """
    text = ""
    for _ in range(tries):
        text = grammar.generate_caption(facts, rng, require=required)
        if set(required) <= set(grammar.parse_caption(text)):
            return text
    return text


def caption_accuracy(captions_text: list[str], facts: list[dict]) -> dict[str, Any]:
    """Share of the attributes named in each caption that match the truth, overall and per attribute;
    ``two_tone``: of the renders whose truth is a two-tone mix, the share captioned with that mix."""
    from sgfkit_synthetic import captions as grammar

    named = right = 0
    per_attr: dict[str, list[int]] = {}
    mixes = mixes_named = 0
    for text, truth in zip(captions_text, facts):
        parsed = grammar.parse_caption(text)
        for attr, value in parsed.items():
            _, ok = grammar.caption_matches(truth, {attr: value})
            named += 1
            right += ok
            per_attr.setdefault(attr, [0, 0])
            per_attr[attr][0] += ok
            per_attr[attr][1] += 1
        if isinstance(truth.get("petal_color"), list):
            mixes += 1
            said = parsed.get("petal_color")
            mixes_named += isinstance(said, list) and grammar.fact_holds(truth, "petal_color", said)
    return {"named_attribute_accuracy": right / max(1, named),
            "attributes_named_per_caption": named / max(1, len(captions_text)),
            "per_attribute": {a: round(r / n, 4) for a, (r, n) in sorted(per_attr.items())},
            "two_tone": {"renders": mixes, "captioned_as_that_mix": round(mixes_named / max(1, mixes), 4)},
            "captions": len(captions_text)}


def train_flower_captioner(output: Path, **options: Any) -> dict[str, Any]:
    """Train, evaluate on held-out renders, save ``output`` (.safetensors + .json); returns the report."""
    opts = validate_params(TRAINING_PARAMS, options, component="train-encoder flower-caption")
    with torch_threads(opts["threads"]):
        return _train(output, options, opts)


def _train(output: Path, options: dict[str, Any], opts: dict[str, Any]) -> dict[str, Any]:
    from sgfkit_synthetic import captions as grammar

    seed = opts["seed"]
    torch.manual_seed(seed)
    rng = random.Random(seed)
    t0 = time.perf_counter()
    g, truth = _world(opts["resolution"], opts["truncation"])

    # -- data -------------------------------------------------------------------------------
    with progress_task("Rendering captioner data", total=2) as task:
        images, facts = render_with_facts(g, truth, sample_training_latents(g, opts["samples"], seed, opts["truncation"]))
        task.advance()
        held_lat = g.sample_latents(opts["held_out"], seed=seed + 1)
        held_images, held_facts = render_with_facts(g, truth, held_lat)
        task.advance()
    texts = [[informative_caption(grammar, f, rng, opts["caption_facts"]) for _ in range(opts["captions_per_image"])]
             for f in facts]
    word_map = WordMap.from_words(w for caps in texts for c in caps for w in tokenize(c))
    max_words = max(len(tokenize(c)) for caps in texts for c in caps)
    T = max_words + 2
    tokens = torch.full((len(texts), opts["captions_per_image"], T), word_map.pad, dtype=torch.long)
    for i, caps in enumerate(texts):
        for j, c in enumerate(caps):
            ids = word_map.encode(c, max_words)
            tokens[i, j, :len(ids)] = torch.tensor(ids)
    data_s = time.perf_counter() - t0

    # -- model ------------------------------------------------------------------------------
    config = CaptionerConfig(vocab_size=len(word_map), encoder="small", small_channels=list(opts["small_channels"]),
                             encoder_dim=int(opts["small_channels"][-1]), enc_image_size=opts["resolution"] // 2 ** len(opts["small_channels"]),
                             decoder_dim=opts["decoder_dim"])
    captioner = Captioner(config, input_size=opts["resolution"])
    # training-only auxiliary head: predicting the facts from the pooled features gives the CNN a
    # direct signal for small cues (petal tips, centre colour) that the caption loss spreads thin
    fact_labels, fact_sizes = fact_targets(facts)
    aux_head = torch.nn.Linear(config.encoder_dim, sum(fact_sizes))
    params = list(captioner.parameters()) + list(aux_head.parameters())
    optim = torch.optim.Adam(params, lr=opts["lr"])
    steps, bs = opts["steps"], opts["batch_size"]
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=word_map.pad)
    gen = torch.Generator().manual_seed(seed + 2)
    captioner.train()
    losses = []
    with progress_task("Training flower captioner", total=steps) as task:
        for step in range(steps):
            idx = torch.randint(0, len(texts), (bs,), generator=gen)
            pick = torch.randint(0, opts["captions_per_image"], (bs,), generator=gen)
            caps = tokens[idx, pick]
            caps = caps[:, :int((caps != word_map.pad).sum(1).max())]      # trim common padding
            feats = captioner.features(to_float_images(images[idx]))
            logits, _ = captioner.decoder(feats, caps)
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), caps[:, 1:].reshape(-1))
            aux = aux_head(feats.mean(dim=1)).split(fact_sizes, dim=1)
            loss = loss + opts["aux_weight"] * sum(torch.nn.functional.cross_entropy(a, fact_labels[idx, i])
                                                   for i, a in enumerate(aux)) / len(aux)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            optim.step()
            sched.step()
            losses.append(float(loss.detach()))
            task.advance()
            if step % 20 == 0:
                task.update(loss=round(sum(losses[-20:]) / len(losses[-20:]), 4))
    train_s = time.perf_counter() - t0 - data_s

    # -- held-out report ----------------------------------------------------------------------
    captioner.eval()
    t1 = time.perf_counter()
    generated = caption_images(captioner, word_map, to_float_images(held_images), beam_size=3)
    caption_ms = 1000 * (time.perf_counter() - t1) / max(1, len(generated))
    report = caption_accuracy(generated, held_facts)
    report.update({"caption_ms_per_image_beam3": round(caption_ms, 3),
                   "final_loss": round(sum(losses[-50:]) / len(losses[-50:]), 4),
                   "examples": [{"caption": c, "truth": f} for c, f in list(zip(generated, held_facts))[:5]],
                   "data_seconds": round(data_s, 1), "train_seconds": round(train_s, 1)})
    command = training_command("flower-caption", output, options, {k: p.default for k, p in TRAINING_PARAMS.items()})
    meta = {"training_command": command,
            "options": opts, "data_seed": seed, "held_out_seed": seed + 1, "held_out": report,
            "world": {"generator": "synth-flowers", "resolution": opts["resolution"], "truncation": opts["truncation"]},
            "torch": torch.__version__}
    save_embedded_captioner(Path(output), captioner, word_map, meta)
    return report
