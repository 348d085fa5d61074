"""The Show-Attend-Tell tutorial checkpoint loader: synthetic checkpoints with the real structure,
hostile and broken files, and word maps."""
from __future__ import annotations

import json
import os
import pickle
import sys
import types

import pytest
import torch

from sgfkit.errors import WeightsError
from sgfkit_caption import sat_model
from sgfkit_caption.beam_search import DecoderStepModel, beam_search
from sgfkit_caption.sat_checkpoint import load_tutorial_captioner, read_tutorial_checkpoint
from sgfkit_caption.vocabulary import WordMap

pytestmark = pytest.mark.filterwarnings("ignore:Couldn.t retrieve source code:UserWarning")


def _fake_tutorial_modules(monkeypatch) -> dict[str, type]:
    """Register modules named like the tutorial's (``models``, ``torchvision.models.resnet``)."""
    classes = {}
    for module_name, name, base in (("models", "Encoder", sat_model.Encoder),
                                    ("models", "Attention", sat_model.Attention),
                                    ("models", "DecoderWithAttention", sat_model.DecoderWithAttention),
                                    ("torchvision.models.resnet", "Bottleneck", sat_model.Bottleneck)):
        if module_name not in sys.modules or not hasattr(sys.modules[module_name], "_sgfkit_fake"):
            module = types.ModuleType(module_name)
            module._sgfkit_fake = True
            monkeypatch.setitem(sys.modules, module_name, module)
        cls = type(name, (base,), {"__module__": module_name, "__qualname__": name})
        setattr(sys.modules[module_name], name, cls)
        classes[name] = cls
    for parent in ("torchvision", "torchvision.models"):
        monkeypatch.setitem(sys.modules, parent, types.ModuleType(parent))
    return classes


def _tutorial_checkpoint(tmp_path, monkeypatch, vocab_size: int = 12, tamper=None):
    """A legacy-format checkpoint of whole modules with the tutorial's class names and keys (``tamper``:
    changes the decoder before it is saved)."""
    torch.manual_seed(0)
    classes = _fake_tutorial_modules(monkeypatch)
    cfg = sat_model.CaptionerConfig(vocab_size=vocab_size, encoder="resnet", encoder_dim=2048, enc_image_size=14,
                                    attention_dim=16, embed_dim=8, decoder_dim=12, resnet_layers=[1, 1, 2, 1])
    encoder, decoder = sat_model.Encoder(cfg), sat_model.DecoderWithAttention(cfg)
    for module in encoder.modules():
        if isinstance(module, sat_model.Bottleneck):
            module.__class__ = classes["Bottleneck"]
        if isinstance(module, torch.nn.BatchNorm2d):   # non-trivial statistics
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    encoder.__class__ = classes["Encoder"]
    encoder.enc_image_size = 14
    decoder.__class__ = classes["DecoderWithAttention"]
    decoder.attention.__class__ = classes["Attention"]
    if tamper is not None:
        tamper(decoder)
    optimizer = torch.optim.Adam(decoder.parameters())
    path = tmp_path / "BEST_checkpoint_coco_5_cap_per_img_5_min_word_freq.pth.tar"
    torch.save({"epoch": 3, "epochs_since_improvement": 0, "bleu-4": 0.2, "encoder": encoder, "decoder": decoder,
                "encoder_optimizer": None, "decoder_optimizer": optimizer}, path,
               _use_new_zipfile_serialization=False)
    return path, encoder.eval(), decoder.eval()


def test_tutorial_checkpoint_loads_into_our_modules_with_identical_outputs(tmp_path, monkeypatch):
    path, encoder, decoder = _tutorial_checkpoint(tmp_path, monkeypatch)
    assert not path.read_bytes().startswith(b"PK")               # legacy stream, not a zip archive
    captioner = load_tutorial_captioner(path)
    assert captioner.config.resnet_layers == [1, 1, 2, 1]
    assert captioner.config.vocab_size == 12 and captioner.config.decoder_dim == 12
    images = torch.rand(2, 3, 64, 64) * 2 - 1
    x = captioner.preprocess(images)
    assert x.shape == (2, 3, 256, 256)                            # the tutorial's input size
    with torch.no_grad():
        ours = captioner.features(images)
        theirs = decoder.flatten(encoder(x))
        assert ours.shape == (2, 196, 2048)
        assert torch.allclose(ours, theirs, atol=1e-5)
        a = beam_search(DecoderStepModel(captioner.decoder, ours), 2, start=9, end=10, beam_size=3, max_len=8)
        b = beam_search(DecoderStepModel(decoder, theirs), 2, start=9, end=10, beam_size=3, max_len=8)
    assert a.sequences == b.sequences


class _Payload:
    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_hostile_checkpoint_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    payload = _Payload()
    payload.marker = marker
    path = tmp_path / "evil.pth.tar"
    torch.save({"encoder": payload}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(WeightsError, match=r"refused to load 'posix\.system'|refused to load 'nt\.system'"):
        read_tutorial_checkpoint(path)
    assert not marker.exists()


def test_broken_and_foreign_files_give_clear_errors(tmp_path, monkeypatch):
    path, _, _ = _tutorial_checkpoint(tmp_path, monkeypatch)
    truncated = tmp_path / "truncated.pth.tar"
    truncated.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(WeightsError, match="truncated.pth.tar: not a readable Show-Attend-Tell checkpoint"):
        read_tutorial_checkpoint(truncated)
    state_only = tmp_path / "state.pth"
    torch.save({"model": {"w": torch.zeros(2)}}, state_only)
    with pytest.raises(WeightsError, match="expected a dict with 'encoder' and 'decoder'"):
        read_tutorial_checkpoint(state_only)
    with pytest.raises(WeightsError, match="checkpoint not found"):
        read_tutorial_checkpoint(tmp_path / "missing.pth.tar")


def test_a_checkpoint_off_the_tutorial_layout_names_what_differs(tmp_path, monkeypatch):
    def tamper(decoder):
        decoder.extra = torch.nn.Linear(2, 2)                   # a layer the tutorial's decoder has not
        decoder.init_c = torch.nn.Linear(2048, 5)               # and one of the wrong size

    path, _, _ = _tutorial_checkpoint(tmp_path, monkeypatch, tamper=tamper)
    with pytest.raises(WeightsError, match=r"does not fit the Show-Attend-Tell decoder layout: unexpected keys "
                                           r"\['extra.weight', 'extra.bias'\]; shape mismatches init_c.weight"):
        load_tutorial_captioner(path)


def test_word_map_format_and_errors(tmp_path):
    wm = WordMap.from_words(["red", "a", "flower", "red"])
    assert wm.word_to_id["<pad>"] == 0 and wm.start == len(wm) - 2 and wm.end == len(wm) - 1
    ids = wm.encode("A red Flower!", max_len=10)
    assert wm.decode(ids) == "a red flower"
    assert wm.decode(wm.encode("a blue flower", 10)) == "a <unk> flower"
    good = tmp_path / "WORDMAP.json"
    good.write_text(json.dumps(wm.word_to_id))
    assert WordMap.load(good).word_to_id == wm.word_to_id
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"a": 1, "b": 2}))
    with pytest.raises(WeightsError, match="lacks the special tokens"):
        WordMap.load(bad)
    bad.write_text("not json")
    with pytest.raises(WeightsError, match="not a JSON word map"):
        WordMap.load(bad)
    bad.write_text('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(WeightsError, match="nests too deeply"):
        WordMap.load(bad)
