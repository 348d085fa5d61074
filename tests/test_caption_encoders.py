"""Caption-stack components: Sentence-BERT semantics, targets / distance / describe, weights
errors, a tiny retrain that loads back, registration, and the show-attend-tell component."""
from __future__ import annotations

import json

import pytest
import torch

from sgfkit.errors import ComponentError, WeightsError


@pytest.fixture(scope="module")
def sbert():
    from sgfkit_caption.encoders import SentenceBert

    return SentenceBert()


@pytest.mark.slow
def test_sentence_embeddings_are_unit_norm_and_similar_sentences_are_closer(sbert):
    emb = sbert.embed_texts(["this flower has red petals", "the petals of this flower are red",
                             "a flower with blue petals", "a man rides a bicycle down the street"])
    assert emb.shape == (4, 384) and emb.dtype == torch.float32
    assert torch.allclose(emb.norm(dim=1), torch.ones(4), atol=1e-5)
    sim = emb @ emb.T
    assert sim[0, 1] > sim[0, 2] > sim[0, 3]
    # the same text embeds to the same row (cache), in any batch
    assert torch.equal(sbert.embed_texts(["a flower with blue petals"])[0], emb[2])


@pytest.mark.slow
def test_caption_targets_distance_and_describe(sbert):
    assert sbert.condition_kind == "embedding" and len(sbert.names) == 384 and sbert.names[0] == "emb_0"
    c0 = sbert.embed_texts(["a flower with blue petals", "this flower has red petals"])
    spec = {"caption": "this flower has red petals"}
    c1 = sbert.target(spec, c0)
    assert c1.shape == c0.shape and torch.equal(c1[0], c1[1])
    assert sbert.target_dims(spec) == list(range(384))
    d = sbert.distance(c0, c1, sbert.target_dims(spec))
    assert d.shape == (2,) and d[1].abs() < 1e-5 and 0.05 < d[0] < 2.0
    assert sbert.describe(c0) == ["a flower with blue petals", "this flower has red petals"]
    # a slightly perturbed embedding still reads as its caption
    noisy = torch.nn.functional.normalize(c0 + 0.01 * torch.randn_like(c0), dim=1)
    assert sbert.describe(noisy) == ["a flower with blue petals", "this flower has red petals"]
    with pytest.raises(ComponentError, match="did you mean 'caption'"):
        sbert.target({"captoin": "red"}, c0)
    with pytest.raises(ComponentError, match="non-empty string"):
        sbert.target({"caption": "  "}, c0)


@pytest.mark.slow
def test_sentence_bert_refuses_images_with_a_pointer(sbert):
    with pytest.raises(ComponentError, match="embeds text, not images.*flower-caption"):
        sbert.encode(torch.zeros(1, 3, 8, 8))


def test_flower_caption_weight_errors(tmp_path):
    from sgfkit_caption.encoders import FlowerCaption

    with pytest.raises(WeightsError, match="captioner weights not found.*train-encoder flower-caption"):
        FlowerCaption(weights=str(tmp_path / "missing.safetensors"))
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(WeightsError, match="junk.safetensors: not a readable captioner weights file"):
        FlowerCaption(weights=str(junk))


@pytest.mark.slow
def test_tiny_retrain_saves_weights_that_load_and_encode(tmp_path):
    from sgfkit_caption.encoders import FlowerCaption

    out = tmp_path / "tiny.safetensors"
    report = FlowerCaption.train(out, samples=16, held_out=4, steps=2, batch_size=4, captions_per_image=2,
                                 small_channels=[8, 16], decoder_dim=16)
    assert set(report) >= {"named_attribute_accuracy", "caption_ms_per_image_beam3", "final_loss"}
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["training_command"].startswith("sgfkit train-encoder flower-caption --out")
    assert meta["data_seed"] == 0 and meta["config"]["small_channels"] == [8, 16]
    enc = FlowerCaption(weights=str(out), beam_size=2, max_len=6)
    images = torch.rand(3, 3, 64, 64) * 2 - 1
    caps = enc.captions(images)
    assert len(caps) == 3 and all(isinstance(c, str) for c in caps)
    c = enc.encode(images)
    assert c.shape == (3, 384) and torch.allclose(c.norm(dim=1), torch.ones(3), atol=1e-5)
    assert enc.describe(c) == caps
    with pytest.raises(ComponentError, match="NaN or inf"):
        enc.encode(torch.full((1, 3, 64, 64), float("nan")))
    with pytest.raises(ComponentError, match=r"expects images \[N, 3, H, W\]"):
        enc.encode(torch.zeros(3, 64, 64))
    with pytest.raises(Exception, match="unknown parameter"):
        FlowerCaption.train(out, stpes=3)


def test_show_attend_tell_missing_weights_say_what_to_download(tmp_path, monkeypatch):
    from sgfkit_caption.encoders import ShowAttendTell

    monkeypatch.setenv("SGFKIT_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WeightsError) as err:
        ShowAttendTell()
    msg = str(err.value)
    assert "BEST_checkpoint_coco_5_cap_per_img_5_min_word_freq.pth.tar" in msg
    assert "a-PyTorch-Tutorial-to-Image-Captioning" in msg and str(tmp_path / "weights") in msg


@pytest.mark.filterwarnings("ignore:Couldn.t retrieve source code:UserWarning")
def test_show_attend_tell_component_runs_a_tutorial_checkpoint(tmp_path, monkeypatch):
    from test_caption_checkpoint import _tutorial_checkpoint

    from sgfkit_caption.encoders import ShowAttendTell
    from sgfkit_caption.vocabulary import WordMap

    path, _, _ = _tutorial_checkpoint(tmp_path, monkeypatch, vocab_size=12)
    wm = WordMap.from_words(["a", "flower", "with", "red", "blue", "petals", "the", "is"])
    assert len(wm) == 12
    wm_path = tmp_path / "WORDMAP.json"
    wm_path.write_text(json.dumps(wm.word_to_id))
    sat = ShowAttendTell(checkpoint=str(path), word_map=str(wm_path), beam_size=2, max_len=5)
    caps = sat.captions(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert len(caps) == 2 and all(set(c.split()) <= set(wm.word_to_id) for c in caps)
    wrong = tmp_path / "WORDMAP_small.json"
    wrong.write_text(json.dumps(WordMap.from_words(["a"]).word_to_id))
    with pytest.raises(WeightsError, match="has 5 words but .* was trained with 12"):
        ShowAttendTell(checkpoint=str(path), word_map=str(wrong))


def test_plugin_registers_its_encoders_and_weights():
    from sgfkit.registry import get_registry

    registry = get_registry()
    assert {"flower-caption", "show-attend-tell", "sentence-bert"} <= set(registry.names("condition-encoder"))
    assert any(w.weights.file_name == "WORDMAP_coco_5_cap_per_img_5_min_word_freq.json" for w in registry.weights)


def test_registry_resolves_the_caption_components():
    from sgfkit.registry import get_registry
    from sgfkit_caption.encoders import FlowerCaption, SentenceBert, ShowAttendTell

    reg = get_registry()
    assert reg.resolve("condition-encoder", "flower-caption") is FlowerCaption
    assert reg.resolve("condition-encoder", "sentence-bert") is SentenceBert
    assert reg.resolve("condition-encoder", "show-attend-tell") is ShowAttendTell


@pytest.mark.slow
def test_shipped_captioner_names_the_right_attributes_on_held_out_renders():
    """Issue 10: >= 95 % of the facts named in generated captions hold, >= 90 % for each fact kind."""
    from sgfkit_caption.encoders import SHIPPED_WEIGHTS, FlowerCaption
    from sgfkit_caption.training import caption_accuracy
    from sgfkit_synthetic import SynthFlowers, SynthFlowersTruth
    from sgfkit_synthetic.captions import parse_caption

    enc = FlowerCaption()
    assert enc.weights_path == SHIPPED_WEIGHTS and enc.versions()["sha256"]
    g = SynthFlowers(resolution=64, truncation=0.8)
    latents = g.sample_latents(128, seed=4242)                 # not a training or held-out seed
    captions = enc.captions(g.synthesize(latents))
    report = caption_accuracy(captions, SynthFlowersTruth().facts(g, latents))
    kinds = {"petal_color", "petal_shape", "petal_size", "petal_count", "center_color", "center_size", "background"}
    assert report["attributes_named_per_caption"] >= 6.8       # every caption names all seven kinds
    assert kinds <= set(report["per_attribute"]), report
    assert report["named_attribute_accuracy"] >= 0.95, report
    assert all(report["per_attribute"][k] >= 0.9 for k in kinds), report
    assert report["two_tone"]["renders"] >= 10                 # mixes are in the sample and mostly named
    assert report["two_tone"]["captioned_as_that_mix"] >= 0.6, report   # 0.68 here, 0.90 on 400 held-out
    # a mix is said base first, tips second ("red and purple": red near the centre), as the grammar wrote its
    # training captions: the order tells F which tone to move, so canonical phrasing keeps it (87 of 88 mixes
    # on 600 renders; with F fitted on order-free sentences the red-and-purple edits reached 0.41, not 0.59)
    truth_colors = [facts["petal_color"] for facts in SynthFlowersTruth().facts(g, latents)]
    read_colors = [parse_caption(text).get("petal_color") for text in captions]
    mixes = [(read, truth) for read, truth in zip(read_colors, truth_colors)
             if isinstance(truth, list) and isinstance(read, list) and sorted(read) == sorted(truth)]
    assert len(mixes) >= 5 and sum(read == truth for read, truth in mixes) >= 0.9 * len(mixes), mixes


@pytest.mark.slow
def test_keep_targets_rewrite_each_source_caption_with_only_the_named_facts():
    from sgfkit_caption.encoders import FlowerCaption
    from sgfkit_synthetic import SynthFlowers
    from sgfkit_synthetic.captions import parse_caption

    enc = FlowerCaption()
    g = SynthFlowers(resolution=64, truncation=0.8)
    c0 = enc.encode(g.synthesize(g.sample_latents(6, seed=11)))
    sources = enc.describe(c0)
    spec = {"caption": "this flower has red and purple petals", "keep": True}
    wanted = enc.keep_sentences(spec["caption"], c0)
    for source, sentence in zip(sources, wanted):
        named = parse_caption(sentence)
        assert named == {**parse_caption(source), "petal_color": ["red", "purple"]}, (source, sentence)
    c1 = enc.target(spec, c0)
    assert torch.allclose(c1, enc.embed_texts(wanted)) and c1.shape == c0.shape
    plain = enc.target({"caption": spec["caption"]}, c0)
    # per-sample targets that keep the source's centre colour differ from the one shared sentence
    assert torch.equal(plain[0], plain[-1]) and not torch.allclose(c1, plain)
    assert enc.target_dims(spec) == list(range(384))
    # a reading no caption produced (the recipe check's zero probe) gets the named facts alone
    assert enc.keep_sentences("red petals", torch.zeros(1, 384)) == ["this flower has red petals"]
    with pytest.raises(ComponentError, match="keep must be true or false"):
        enc.target({"caption": "red petals", "keep": "yes"}, c0)


@pytest.mark.slow
def test_smallest_changes_replace_one_fact_of_each_reading():
    """The fit report's discrete step-fidelity targets: per reading, a keep target naming one fact with another
    value, which rewrites that reading's caption in that fact only."""
    from sgfkit_caption.encoders import FlowerCaption
    from sgfkit_synthetic import SynthFlowers
    from sgfkit_synthetic.captions import FACT_VALUES, parse_caption

    enc = FlowerCaption(phrasing="canonical")
    g = SynthFlowers(resolution=64, truncation=0.8)
    c = enc.encode(g.synthesize(g.sample_latents(16, seed=5)))
    specs = enc.smallest_changes(c, seed=0)
    readings = [parse_caption(text) for text in enc.describe(c)]
    assert len(specs) == len(readings)
    for spec, facts, row in zip(specs, readings, c):
        asked = parse_caption(spec["caption"])
        assert spec["keep"] is True and len(asked) == 1, spec
        ((key, value),) = asked.items()
        assert key in facts and value != facts[key] and value in FACT_VALUES[key]
        assert parse_caption(enc.keep_sentences(spec["caption"], row[None])[0]) == {**facts, key: value}
    assert len({next(iter(parse_caption(s["caption"]))) for s in specs}) >= 3     # random facts, not one
    assert enc.smallest_changes(c, seed=0) == specs != enc.smallest_changes(c, seed=1)


@pytest.mark.slow
def test_canonical_phrasing_embeds_the_facts_the_captioner_read_not_its_wording():
    from sgfkit_caption.encoders import FlowerCaption
    from sgfkit_synthetic import SynthFlowers
    from sgfkit_synthetic.captions import canonical_caption, parse_caption

    g = SynthFlowers(resolution=64, truncation=0.8)
    images = g.synthesize(g.sample_latents(12, seed=31))
    captioned, canonical = FlowerCaption(), FlowerCaption(phrasing="canonical")
    written = captioned.captions(images)
    assert canonical.captions(images) == written                # the captioner itself is unchanged
    c = canonical.encode(images)
    assert torch.allclose(c, canonical.embed_texts([canonical_caption(t) for t in written]))
    assert not torch.allclose(c, captioned.encode(images))      # some caption was worded otherwise
    for text, said in zip(written, canonical.describe(c)):
        assert parse_caption(said) == parse_caption(text) and said == canonical_caption(text)


@pytest.mark.slow
def test_keep_targets_need_a_flower_grammar_captioner(sbert):
    c0 = sbert.embed_texts(["a flower with blue petals"])
    with pytest.raises(ComponentError, match="cannot keep unnamed facts.*flower-caption"):
        sbert.target({"caption": "red petals", "keep": True}, c0)


@pytest.mark.slow
def test_the_main_recipe_stops_only_on_a_reading_that_names_the_target_facts(sbert):
    """With canonical phrasing a reading that names the target's facts is the target sentence (distance 0);
    the recipe's stopping tolerance must lie below the distance between any two sentences that differ in one
    fact, or edits stop as converged on a wrong reading ("red" vs "red and orange petals": 0.018)."""
    import random
    from pathlib import Path

    import yaml

    from sgfkit_caption.encoders import FlowerCaption
    from sgfkit_synthetic.captions import FACT_VALUES, PETAL_COLORS, phrase_facts, random_facts

    recipe = yaml.safe_load((Path(__file__).resolve().parents[1] / "recipes" / "flowers_caption.yaml").read_text())
    assert recipe["encoder"]["phrasing"] == "canonical"
    tolerance = recipe["manipulators"][0]["tolerance"]
    mixes = [[a, b] for a in PETAL_COLORS for b in PETAL_COLORS if a != b]   # what the captioner may say
    rng = random.Random(7)
    first, second = [], []
    for _ in range(300):
        facts = random_facts(rng)
        key = rng.choice(sorted(facts))
        values = PETAL_COLORS + mixes if key == "petal_color" else FACT_VALUES[key]
        other = dict(facts, **{key: rng.choice([v for v in values if v != facts[key]])})
        first.append(phrase_facts(facts))
        second.append(phrase_facts(other))
    enc = FlowerCaption()
    closest = float(enc.distance(enc.embed_texts(first), enc.embed_texts(second), []).min())
    assert 0 < closest < 0.01            # Sentence-BERT barely tells some one-fact changes apart
    assert tolerance < closest / 2, (tolerance, closest)
    same = enc.embed_texts([first[0]])
    assert float(enc.distance(same, enc.embed_texts([first[0]]), [])[0]) <= tolerance
