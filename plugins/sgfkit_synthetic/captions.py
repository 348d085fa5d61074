"""English captions for synth-flowers: a generator grammar and a parser that inverts it.

Facts (see :meth:`SynthFlowers.facts`): ``petal_color``, ``petal_shape``, ``petal_size``,
``petal_count``, ``center_color``, ``center_size``, ``background``.

* :func:`generate_caption` picks a subset of the facts, a template, synonyms and an adjective
  order, e.g. "this flower has large pink petals and a yellow center".
* :func:`parse_caption` returns the facts a caption names. Adjectives attach to the next noun
  ("pink petals", "a yellow center", "a purple flower", "on a dark background") or, after
  "is" / "are", to the previous one ("the petals are yellow and pointed").
  Convention: a noun given several colours ("red and purple petals") yields a list of colours in
  the order said, which for petals is base first, tips second (the truth's ``[base, tip]``: the
  grammar and so the captioner say a mix that way, and an edit needs to know which tone to move);
  every other value is a single string (``petal_count`` an int).
* :func:`caption_matches` / :func:`fact_holds` check named facts against the truth (for scoring
  edits); a colour list must be a visible mix, not any one of the colours.
* :func:`phrase_facts` writes one plain sentence for given facts; :func:`keep_rewrite` replaces the
  facts a target names in a source caption (``keep`` targets).

This module is torch-free.
"""
from __future__ import annotations

import random
import re
from collections.abc import Iterable
from typing import Any

PETAL_COLORS = ["red", "orange", "yellow", "pink", "purple", "blue", "white"]
PETAL_SHAPES = ["round", "pointed", "notched"]
CENTER_COLORS = ["yellow", "brown", "black", "green"]
BACKGROUNDS = ["green", "blue", "dark", "beige"]
FACT_KEYS = ["petal_color", "petal_shape", "petal_size", "petal_count", "center_color", "center_size", "background"]
#: every value the grammar can name, per fact (colour lists are mixes)
FACT_VALUES: dict[str, list[Any]] = {
    "petal_color": PETAL_COLORS + [["red", "purple"], ["yellow", "orange"], ["white", "blue"]],
    "petal_shape": PETAL_SHAPES, "petal_size": ["small", "medium", "large"], "petal_count": [5, 6, 7, 8, 9],
    "center_color": CENTER_COLORS, "center_size": ["small", "medium", "large"], "background": BACKGROUNDS,
}

# -- vocabulary: surface word -> canonical value ------------------------------------------------
_COLOR_WORDS = {
    "red": "red", "scarlet": "red", "crimson": "red", "orange": "orange", "yellow": "yellow",
    "golden": "yellow", "pink": "pink", "purple": "purple", "violet": "purple", "lilac": "purple",
    "blue": "blue", "white": "white", "brown": "brown", "black": "black", "green": "green",
    "dark": "dark", "beige": "beige", "cream": "beige",
}
_SHAPE_WORDS = {"round": "round", "rounded": "round", "pointed": "pointed", "pointy": "pointed", "sharp": "pointed",
                "notched": "notched", "forked": "notched"}
_SIZE_WORDS = {"small": "small", "little": "small", "tiny": "small", "medium": "medium", "medium-sized": "medium",
               "large": "large", "big": "large", "huge": "large"}
_NUMBER_WORDS = {"five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "5": 5, "6": 6, "7": 7, "8": 8, "9": 9}
_PETAL_NOUNS = {"petal", "petals", "flower", "flowers", "bloom", "blossom"}
_CENTER_NOUNS = {"center", "centre", "middle", "pistil"}
_BACKGROUND_NOUNS = {"background", "backdrop"}
_COPULAS = {"is", "are"}
# when a background is called "black" we mean the dark one
_BACKGROUND_ALIASES = {"black": "dark"}

# -- vocabulary used to generate -----------------------------------------------------------------
_GEN_COLOR = {"red": ["red", "red", "scarlet"], "orange": ["orange"], "yellow": ["yellow", "yellow", "golden"],
              "pink": ["pink"], "purple": ["purple", "purple", "violet"], "blue": ["blue"], "white": ["white"],
              "brown": ["brown"], "black": ["black"], "green": ["green"], "dark": ["dark", "black"],
              "beige": ["beige", "cream"]}
_GEN_SHAPE = {"round": ["round", "rounded"], "pointed": ["pointed", "pointy"], "notched": ["notched", "notched"]}
_GEN_SIZE = {"small": ["small", "little"], "medium": ["medium-sized", "medium"], "large": ["large", "big"]}
_GEN_NUMBER = {5: ["five", "5"], 6: ["six", "6"], 7: ["seven", "7"], 8: ["eight", "8"], 9: ["nine", "9"]}
_GEN_CENTER = ["center", "center", "centre", "middle"]


def _pick(rng: random.Random, options: list[str]) -> str:
    return options[rng.randrange(len(options))]


def _color_phrase(rng: random.Random, value: Any) -> str:
    """A colour word, or "red and purple" for a list (a two-tone mix)."""
    if isinstance(value, list):
        return " and ".join(_pick(rng, _GEN_COLOR[c]) for c in value)
    return _pick(rng, _GEN_COLOR[value])


def _petal_adjectives(facts: dict[str, Any], use: set[str], rng: random.Random, with_color: bool = True) -> list[str]:
    """Adjectives before "petals" in the usual English order: number, size, shape, colour."""
    words: list[str] = []
    if "petal_count" in use:
        words.append(_pick(rng, _GEN_NUMBER[int(facts["petal_count"])]))
    if "petal_size" in use:
        words.append(_pick(rng, _GEN_SIZE[facts["petal_size"]]))
    tail = []
    if "petal_shape" in use:
        tail.append(_pick(rng, _GEN_SHAPE[facts["petal_shape"]]))
    if with_color and "petal_color" in use:
        tail.append(_color_phrase(rng, facts["petal_color"]))
    if len(tail) == 2 and rng.random() < 0.3:  # "white pointed petals" as often as "pointed white petals"
        tail.reverse()
    return words + tail


def _center_phrase(facts: dict[str, Any], use: set[str], rng: random.Random) -> str:
    words = []
    if "center_size" in use:
        words.append(_pick(rng, _GEN_SIZE[facts["center_size"]]))
    if "center_color" in use:
        words.append(_pick(rng, _GEN_COLOR[facts["center_color"]]))
    return " ".join(["a", *words, _pick(rng, _GEN_CENTER)])


def _background_phrase(facts: dict[str, Any], rng: random.Random) -> str:
    lead = _pick(rng, ["on a", "against a", "in front of a"])
    return f"{lead} {_pick(rng, _GEN_COLOR[facts['background']])} background"


def _choose_facts(rng: random.Random, require: Iterable[str] = ()) -> set[str]:
    use = set()
    chances = {"petal_color": 0.9, "petal_shape": 0.45, "petal_size": 0.4, "petal_count": 0.3,
               "center_color": 0.5, "center_size": 0.2, "background": 0.15}
    for key, p in chances.items():
        if rng.random() < p:
            use.add(key)
    use |= set(require)  # after the draws, so a caption without ``require`` is the same as before
    if not use & {"petal_color", "petal_shape", "petal_size", "petal_count"}:
        use.add("petal_color")
    if "center_size" in use:
        use.add("center_color")  # "a large center" alone reads oddly
    return use


def random_facts(rng: random.Random) -> dict[str, Any]:
    """One value of every fact, drawn from FACT_VALUES (deterministic given ``rng``)."""
    return {key: rng.choice(values) for key, values in FACT_VALUES.items()}


def random_caption(rng: random.Random) -> str:
    """A caption of random facts in random wording, as the grammar writes them (a random target)."""
    return generate_caption(random_facts(rng), rng)


def _articles(text: str) -> str:
    return re.sub(r"\ba (?=[aeiou])", "an ", text)  # "an orange flower", "an eight-..."


def generate_caption(facts: dict[str, Any], rng: random.Random, require: Iterable[str] = ()) -> str:
    """A varied English caption naming a random subset of ``facts`` that includes ``require``
    (fact keys that must be named; deterministic given ``rng``)."""
    use = _choose_facts(rng, require)
    center = _center_phrase(facts, use, rng) if "center_color" in use else ""
    background = _background_phrase(facts, rng) if "background" in use else ""
    color_word = _color_phrase(rng, facts["petal_color"]) if "petal_color" in use else ""
    template = rng.randrange(6)
    if template == 1 and color_word:
        adj = _petal_adjectives(facts, use, rng, with_color=False)
        text = f"a {color_word} flower" + (f" with {' '.join(adj)} petals" if adj else "")
        text += f" and {center}" if center and adj else (f" with {center}" if center else "")
    elif template == 2 and (use & {"petal_color", "petal_shape"}):
        preds = []
        if "petal_color" in use:
            preds.append(color_word)
        if "petal_shape" in use:
            preds.append(_pick(rng, _GEN_SHAPE[facts["petal_shape"]]))
        rng.shuffle(preds)
        lead = _petal_adjectives(facts, use - {"petal_color", "petal_shape"}, rng)
        subject = f"the {' '.join(lead) + ' ' if lead else ''}petals of this flower are"
        text = f"{subject} {' and '.join(preds)}"
        if center:
            cwords = center.split()[1:-1]
            text += f", and the {center.split()[-1]} is {' and '.join(cwords)}"
    elif template == 3 and center:
        adj = _petal_adjectives(facts, use, rng)
        text = f"{' '.join(adj)} petals surround {center}"
    elif template == 4:
        adj = _petal_adjectives(facts, use, rng)
        text = f"a flower with {' '.join(adj)} petals" + (f" and {center}" if center else "")
    elif template == 5 and color_word:
        adj = _petal_adjectives(facts, use, rng, with_color=False)
        if adj:
            text = f"this {color_word} flower has {' '.join(adj)} petals" + (f" and {center}" if center else "")
        else:
            text = f"this flower is {color_word}" + (f" with {center}" if center else "")
    else:
        adj = _petal_adjectives(facts, use, rng)
        text = f"this flower has {' '.join(adj)} petals" + (f" and {center}" if center else "")
    if background:
        text += (" " if rng.random() < 0.7 else ", ") + background
    return _articles(" ".join(text.split()))


# -- parsing ----------------------------------------------------------------------------------

def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:-[a-z]+)?", text.lower())


def _assign(out: dict[str, Any], noun: str, words: list[str]) -> None:
    """Attach adjective ``words`` to a noun class (petal / center / background)."""
    colors: list[str] = []
    for w in words:
        if w in _COLOR_WORDS:
            colors.append(_COLOR_WORDS[w])
        elif w in _SHAPE_WORDS and noun == "petal":
            out["petal_shape"] = _SHAPE_WORDS[w]
        elif w in _SIZE_WORDS and noun in ("petal", "center"):
            out[f"{noun}_size"] = _SIZE_WORDS[w]
        elif w in _NUMBER_WORDS and noun == "petal":
            out["petal_count"] = _NUMBER_WORDS[w]
    if noun == "petal":
        valid = [c for c in colors if c in PETAL_COLORS]
        key = "petal_color"
    elif noun == "center":
        valid = [c for c in colors if c in CENTER_COLORS]
        key = "center_color"
    else:
        valid = [_BACKGROUND_ALIASES.get(c, c) for c in colors]
        valid = [c for c in valid if c in BACKGROUNDS]
        key = "background"
    if valid:
        previous = out.get(key)
        merged = ([previous] if isinstance(previous, str) else list(previous or [])) + valid
        merged = list(dict.fromkeys(merged))
        out[key] = merged[0] if len(merged) == 1 else merged


def _noun_class(token: str) -> str | None:
    if token in _PETAL_NOUNS:
        return "petal"
    if token in _CENTER_NOUNS:
        return "center"
    if token in _BACKGROUND_NOUNS:
        return "background"
    return None


def _is_adjective(token: str) -> bool:
    return token in _COLOR_WORDS or token in _SHAPE_WORDS or token in _SIZE_WORDS or token in _NUMBER_WORDS


def parse_caption(text: str) -> dict[str, Any]:
    """The facts a caption names, e.g. ``{"petal_color": "pink", "center_color": "yellow"}``.

    Unknown words are ignored; several colours for one noun give a list (``["red", "purple"]``).
    """
    out: dict[str, Any] = {}
    pending: list[str] = []          # adjectives waiting for their noun
    last_noun: str | None = None
    predicate: str | None = None     # noun that adjectives after "is"/"are" describe
    for tok in _tokens(text):
        noun = _noun_class(tok)
        if noun is not None:
            if pending:
                _assign(out, noun, pending)
                pending = []
            last_noun, predicate = noun, None
        elif tok in _COPULAS and last_noun is not None:
            predicate = last_noun
        elif _is_adjective(tok):
            if predicate is not None:
                _assign(out, predicate, [tok])
            else:
                pending.append(tok)
        elif tok in ("and", "or", "a", "an", "the", "that", "very", "bright", "light"):
            continue   # connectives keep the current adjective run / predicate going
        elif tok == "with":
            predicate = None  # "the flower is orange with a brown center": a new noun phrase starts
        else:
            predicate = None
            pending = []
    return out


#: a colour list ("red and purple petals") is a mix: every named colour must cover at least this
#: share of the petal colour, and the named colours together at least ``MIX_MIN_TOTAL``
MIX_MIN_SHARE = 0.2
MIX_MIN_TOTAL = 0.8
#: the fact that holds a flower's colour shares, {colour: weight} (see ``SynthFlowers.facts``)
_MIX_KEYS = {"petal_color": "petal_mix"}


def fact_holds(facts: dict[str, Any], key: str, value: Any) -> bool:
    """Does the truth ``facts`` satisfy one named fact ``key: value``?

    A single value must equal the truth. A list of colours is a *mix*: it holds only when the truth
    shows those colours together (each >= ``MIX_MIN_SHARE`` of the colour, all of them >=
    ``MIX_MIN_TOTAL``), read from the colour-share fact when the world gives one; otherwise the
    truth itself must be that list. A pure red flower does not match "red and purple".
    """
    truth = facts.get(key)
    if not isinstance(value, list):
        return truth == value
    shares = facts.get(_MIX_KEYS.get(key, ""))
    if isinstance(shares, dict):
        named = [float(shares.get(c, 0.0)) for c in value]
        return min(named) >= MIX_MIN_SHARE and sum(named) >= MIX_MIN_TOTAL
    return isinstance(truth, list) and sorted(truth) == sorted(value)


def caption_matches(facts: dict[str, Any], parsed: dict[str, Any]) -> tuple[int, int]:
    """(named, matched): how many facts a parsed caption names and how many of them ``facts`` satisfy
    (each by :func:`fact_holds`; a colour list must be a visible mix)."""
    matched = sum(fact_holds(facts, key, value) for key, value in parsed.items())
    return len(parsed), matched


def _color_words(value: Any) -> str:
    return " and ".join(value) if isinstance(value, list) else str(value)


def phrase_facts(facts: dict[str, Any]) -> str:
    """One plain sentence naming exactly ``facts`` (any subset of FACT_KEYS; colours may be lists).

    Deterministic, in the grammar's main template, e.g. ``{"petal_color": ["red", "purple"],
    "center_color": "brown"}`` -> "this flower has red and purple petals and a brown center";
    :func:`parse_caption` reads it back to ``facts``.
    """
    petal = [str(facts[k]) for k in ("petal_count", "petal_size", "petal_shape") if k in facts]
    if "petal_color" in facts:
        petal.append(_color_words(facts["petal_color"]))
    center = [str(facts[k]) for k in ("center_size",) if k in facts]
    if "center_color" in facts:
        center.append(_color_words(facts["center_color"]))
    parts = []
    if petal:
        parts.append(f"this flower has {' '.join(petal)} petals")
    if center:
        parts.append(f"{'and ' if petal else 'this flower has '}a {' '.join(center)} center")
    text = " ".join(parts) or "this is a flower"
    if "background" in facts:
        text += f" on a {_color_words(facts['background'])} background"
    return _articles(text)


def keep_rewrite(source_caption: str, target_caption: str) -> str:
    """The source's caption with the facts the target names replaced (what a ``keep`` target aims at).

    "this flower has yellow petals and a brown center" + "red petals" ->
    "this flower has red petals and a brown center".
    """
    return phrase_facts({**parse_caption(source_caption), **parse_caption(target_caption)})


def canonical_caption(caption: str) -> str:
    """``caption`` said in the grammar's one template (:func:`phrase_facts` of its facts), so that two
    captions naming the same facts are the same sentence: "this red flower has big round petals" and
    "a flower with large rounded red petals" -> "this flower has large round red petals". A caption
    that names no fact the grammar reads is returned unchanged.
    """
    facts = parse_caption(caption)
    return phrase_facts(facts) if facts else caption
