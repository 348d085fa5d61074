"""Counterfactual twins: renders in which one attribute moved and the rest held, and the shipped
face-attributes network reading such a change where it happened (what an edit step relies on)."""
from __future__ import annotations

import pytest
import torch
from sgfkit_face_attributes.counterfactual_pairs import (
    MAX_STEP_NORM,
    counterfactual_codes,
    truth_of_w,
    twin_reading,
)
from sgfkit_face_attributes.encoder import FaceAttributes
from sgfkit_synthetic import SynthFaces, SynthFacesTruth

torch.set_num_threads(2)
NAMES = list(SynthFacesTruth.attribute_names)


@pytest.fixture(scope="module")
def codes():
    """Fresh renders' codes (neither the encoder's training nor its held-out seed)."""
    gen = SynthFaces(resolution=64, truncation=0.8)
    return gen, gen.ws_of(gen.sample_latents(96, seed=2718))[:, 0]


def test_a_twin_moves_one_attribute_and_holds_the_rest(codes):
    gen, w = codes
    twin = counterfactual_codes(gen, NAMES, w, 0.15, torch.Generator().manual_seed(0))
    with torch.no_grad():
        change = (truth_of_w(gen, NAMES, twin) - truth_of_w(gen, NAMES, w)).abs()
    moved = change.max(dim=1).values
    others = change.sum(dim=1) - moved
    assert 0.03 < float(moved.median()) <= 0.15
    assert float((twin - w).norm(dim=1).max()) <= MAX_STEP_NORM + 1e-4
    assert float((others / moved.clamp_min(1e-6)).median()) < 0.01
    assert len(set(change.argmax(dim=1).tolist())) > len(NAMES) // 2   # every kind of attribute gets twins


def test_the_shipped_network_reads_which_attribute_moved(codes):
    """It reads the moved attribute moving the right way, and what it reads in the held ones stays
    below the moved change for most attributes (those it confuses are named in the report)."""
    gen, w = codes
    reading = twin_reading(FaceAttributes(), gen, w, 0.15, seed=0)
    assert reading["sign_agreement"] >= 0.9
    assert reading["leak"] < 0.6
    by_attribute = reading["leak_by_attribute"]
    assert set(by_attribute) <= set(NAMES) and len(by_attribute) >= 8
    assert sum(v < 1.0 for v in by_attribute.values()) >= len(by_attribute) // 2
