"""Caption grammar: variety, round trip, hand-written captions, matching, caption-success metric."""
from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from sgfkit.components import EditOutcome
from sgfkit_synthetic import captions
from sgfkit_synthetic.caption_metric import CaptionSuccess, score_caption_edit
from sgfkit_synthetic.captions import (canonical_caption, caption_matches, fact_holds, generate_caption, keep_rewrite,
                                       parse_caption, phrase_facts, random_facts)
from flower_fact_values import VALUES


def test_generated_captions_round_trip_through_the_parser():
    rng = random.Random(0)
    named_keys = set()
    for _ in range(3000):
        facts = random_facts(rng)
        text = generate_caption(facts, rng)
        parsed = parse_caption(text)
        named, matched = caption_matches(facts, parsed)
        assert named >= 1 and matched == named, (text, parsed, facts)
        named_keys |= set(parsed)
    assert named_keys == set(VALUES)  # every kind of fact gets mentioned by some caption


def test_generate_caption_names_the_required_facts():
    rng = random.Random(3)
    for _ in range(300):
        facts = random_facts(rng)
        parsed = parse_caption(generate_caption(facts, rng, require=["background", "petal_count", "center_color"]))
        assert {"background", "petal_count", "center_color"} <= set(parsed)
        assert caption_matches(facts, parsed)[1] == len(parsed)
    # ``require`` only adds facts after the random draws: a caption that already names them is unchanged
    already = [seed for seed in range(200)
               if "background" in parse_caption(generate_caption(_facts(), random.Random(seed)))]
    assert already, "no seed names the background by chance"
    for seed in already:
        assert (generate_caption(_facts(), random.Random(seed), require=["background"])
                == generate_caption(_facts(), random.Random(seed)))


def test_captions_are_varied_and_deterministic():
    facts = {"petal_color": "orange", "petal_shape": "pointed", "petal_size": "large", "petal_count": 6,
             "center_color": "yellow", "center_size": "small", "background": "green"}
    rng = random.Random(1)
    texts = [generate_caption(facts, rng) for _ in range(200)]
    assert len(set(texts)) > 60
    openings = {" ".join(t.split()[:2]) for t in texts}
    assert len(openings) >= 5  # several templates / word orders
    assert not any(" a orange" in t or t.startswith("a orange") for t in texts)
    assert texts[:10] == [generate_caption(facts, r) for r in [random.Random(1)] for _ in range(10)]


@pytest.mark.parametrize("text,expected", [
    ("this flower has red petals", {"petal_color": "red"}),
    ("a purple flower with pointed petals", {"petal_color": "purple", "petal_shape": "pointed"}),
    ("a flower with white pointed petals and a yellow center",
     {"petal_color": "white", "petal_shape": "pointed", "center_color": "yellow"}),
    ("This flower has large pink petals and a yellow center.",
     {"petal_size": "large", "petal_color": "pink", "center_color": "yellow"}),
    ("red and purple petals", {"petal_color": ["red", "purple"]}),
    ("the petals are yellow and the flower has a brown centre", {"petal_color": "yellow", "center_color": "brown"}),
    ("a flower with 7 big violet petals on a dark background",
     {"petal_count": 7, "petal_size": "large", "petal_color": "purple", "background": "dark"}),
    ("the petals of this flower are orange and rounded, and the middle is black",
     {"petal_color": "orange", "petal_shape": "round", "center_color": "black"}),
    ("this flower is orange with a medium-sized brown center",
     {"petal_color": "orange", "center_size": "medium", "center_color": "brown"}),
    ("an orange flower with eight petals", {"petal_color": "orange", "petal_count": 8}),
    ("a lovely picture", {}),
])
def test_parser_understands_hand_written_captions(text, expected):
    assert parse_caption(text) == expected


def test_caption_matches_counts_named_and_matched_facts():
    facts = {"petal_color": "red", "petal_shape": "round", "center_color": "yellow"}
    assert caption_matches(facts, {"petal_color": "red", "petal_shape": "pointed"}) == (2, 1)
    assert caption_matches(facts, {}) == (0, 0)


def test_colour_list_holds_only_for_a_visible_mix():
    pure_red = {"petal_color": "red", "petal_mix": {"red": 0.97}}
    purplish_red = {"petal_color": "red", "petal_mix": {"red": 0.55, "purple": 0.43}}
    red_pink = {"petal_color": "red", "petal_mix": {"red": 0.6, "pink": 0.3, "purple": 0.1}}
    mix = ["red", "purple"]
    assert not fact_holds(pure_red, "petal_color", mix)          # the old rule passed any one colour
    assert fact_holds(purplish_red, "petal_color", mix)
    assert fact_holds(purplish_red, "petal_color", ["purple", "red"])
    assert not fact_holds(red_pink, "petal_color", mix)          # purple only 0.1 of the colour
    assert caption_matches(purplish_red, {"petal_color": mix}) == (1, 1)
    assert caption_matches(pure_red, {"petal_color": mix}) == (1, 0)
    # a world without colour shares: only an identical list of colours counts
    assert not fact_holds({"petal_color": "red"}, "petal_color", mix)
    assert fact_holds({"petal_color": ["purple", "red"]}, "petal_color", mix)


@pytest.mark.parametrize("facts", [
    {"petal_color": "red"},
    {"petal_color": ["red", "purple"], "center_color": "brown"},
    {"petal_size": "large", "petal_color": "red"},
    {"center_color": "yellow", "background": "dark"},
    {"petal_count": 8, "petal_size": "small", "petal_shape": "pointed", "petal_color": "orange",
     "center_size": "large", "center_color": "black", "background": "beige"},
])
def test_phrase_facts_round_trips_through_the_parser(facts):
    text = phrase_facts(facts)
    assert parse_caption(text) == facts, text


def test_phrase_facts_round_trips_every_grammar_caption():
    rng = random.Random(5)
    for _ in range(300):
        parsed = parse_caption(generate_caption(random_facts(rng), rng))
        assert parse_caption(phrase_facts(parsed)) == parsed


def test_canonical_caption_says_the_same_facts_in_one_sentence():
    """Captions that name the same facts in other words become one sentence; other facts, another."""
    rng = random.Random(9)
    for _ in range(200):
        facts = random_facts(rng)
        first, second = generate_caption(facts, rng, require=facts), generate_caption(facts, rng, require=facts)
        assert canonical_caption(first) == canonical_caption(second), (first, second)
        assert parse_caption(canonical_caption(first)) == parse_caption(first)
    assert canonical_caption("this red flower has big round petals") == \
        canonical_caption("a flower with large rounded red petals") == "this flower has large round red petals"
    assert canonical_caption("this red flower has big petals") != canonical_caption("this red flower has small petals")
    assert canonical_caption("a photo of something") == "a photo of something"   # nothing the grammar reads
    # a mix's order is part of what it says (base first, tips second), so it is kept
    assert canonical_caption("a purple and red flower") == "this flower has purple and red petals"
    assert canonical_caption("a purple and red flower") != canonical_caption("a red and purple flower")


def test_keep_rewrite_replaces_only_the_named_facts():
    source = "this flower has yellow pointed petals and a brown center"
    assert keep_rewrite(source, "this flower has red petals") == \
        "this flower has pointed red petals and a brown center"
    rewritten = keep_rewrite(source, "red and purple petals on a dark background")
    assert parse_caption(rewritten) == {"petal_shape": "pointed", "petal_color": ["red", "purple"],
                                        "center_color": "brown", "background": "dark"}


def _facts(**over):
    base = {"petal_color": "blue", "petal_shape": "round", "petal_size": "medium", "petal_count": 6,
            "center_color": "yellow", "center_size": "small", "background": "green"}
    return {**base, **over}


def test_caption_edit_scores_success_and_side_effects():
    before = [_facts(), _facts(), _facts()]
    after = [_facts(petal_color="red"), _facts(petal_color="red", background="dark", petal_count=7), _facts()]
    score = score_caption_edit("this flower has red petals", before, after)
    assert score["success"] == pytest.approx(2 / 3)
    assert score["other_changed"] == pytest.approx(2 / 3)  # sample 2 changed background and count
    assert score["changed_per_fact"] == {"petal_shape": 0.0, "petal_size": 0.0, "petal_count": pytest.approx(1 / 3),
                                         "center_color": 0.0, "center_size": 0.0, "background": pytest.approx(1 / 3)}
    assert score["per_fact"] == {"petal_color": pytest.approx(2 / 3)}


def test_compositions_are_scored_fact_by_fact():
    before = [_facts()] * 4
    after = [_facts(petal_color="red", petal_size="large"), _facts(petal_color="red"),
             _facts(petal_color="red", petal_size="small"), _facts(petal_size="large")]
    for caption in ("this flower has large red petals", "the petals are red and large"):
        score = score_caption_edit(caption, before, after)
        assert score["success"] == pytest.approx(0.25)
        assert score["per_fact"] == {"petal_color": pytest.approx(0.75), "petal_size": pytest.approx(0.5)}
        assert score["matched_share"] == pytest.approx((1 + 0.5 + 0.5 + 0.5) / 4)


def test_reader_wrong_counts_converged_edits_whose_truth_fails():
    before = [_facts()] * 4
    after = [_facts(petal_color="red"), _facts(petal_color="pink"), _facts(petal_color="pink"), _facts()]
    status = ["converged", "converged", "rolled-back", "max_steps"]
    score = score_caption_edit("this flower has red petals", before, after, status)
    assert score["success"] == pytest.approx(0.25)
    assert score["reader_wrong"] == pytest.approx(0.25)   # only sample 1: the reader said red, the truth pink
    assert score_caption_edit("this flower has red petals", before, after)["reader_wrong"] is None


def test_caption_success_metric_tables_per_target_and_overall():
    def outcome(method, caption, after):
        n = len(after)
        return EditOutcome(method=method, target={"caption": caption}, label=caption[:10], names=["x"],
                           before=np.zeros((n, 1)), after=np.zeros((n, 1)), steps=np.zeros(n),
                           status=["done"] * n, facts_before=[_facts()] * n, facts_after=after)

    edits = [outcome("SGF", "red petals", [_facts(petal_color="red")] * 2),
             outcome("SGF", "pointed petals", [_facts(petal_shape="pointed"), _facts()]),
             outcome("GANSpace", "red petals", [_facts(petal_color="pink", center_color="black")] * 2),
             EditOutcome("SGF", {"smile": 1.0}, "smile", ["x"], np.zeros((1, 1)), np.zeros((1, 1)),
                         np.zeros(1), ["done"])]
    result = CaptionSuccess().compute([], edits)
    assert result.values["overall"]["SGF"]["success"] == pytest.approx(0.75)
    assert result.values["overall"]["GANSpace"]["success"] == 0.0
    assert result.values["overall"]["GANSpace"]["other_changed"] == pytest.approx(1.0)
    assert result.values["per_target"]["SGF"]["pointed pe"]["success"] == pytest.approx(0.5)
    assert "| SGF | **all** | 0.750 |" in result.tables["caption_success"]
    assert "| SGF | pointed pe | 0.500 | petal_shape 0.50 |" in result.tables["caption_success"]
    assert CaptionSuccess().compute([], edits[-1:]).values == {}
    assert result.values["overall"]["SGF"]["reader_wrong"] is None   # "done": no reading decided the end
    stopped = outcome("SGF", "red petals", [_facts(petal_color="red"), _facts(petal_color="pink")])
    stopped.status = ["converged", "converged"]
    judged = CaptionSuccess().compute([], [stopped])
    assert judged.values["overall"]["SGF"]["reader_wrong"] == pytest.approx(0.5)
    assert "| SGF | red petals | 0.500 | petal_color 0.50 | 0.500 | 0.00 | 0.500 | 2 |" in \
        judged.tables["caption_success"]


def test_parser_handles_every_colour_and_number_word():
    for color, count in itertools.product(captions.PETAL_COLORS, [5, 6, 7, 8, 9]):
        assert parse_caption(f"this flower has {count} {color} petals") == {"petal_count": count, "petal_color": color}
