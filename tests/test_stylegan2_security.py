"""Network pickles are read as data: embedded source and hostile globals never run."""
from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from sgfkit.errors import WeightsError
from sgfkit.safe_pickle import ForbiddenGlobal
from sgfkit_stylegan2.checkpoints import load_checkpoint
from sgfkit_stylegan2.generator import StyleGAN2Generator
from sgfkit_stylegan2.networks import StyleGAN2Config, channels_from_base, random_network
from sgfkit_stylegan2.nvlabs_pickle import read_network_pickle
from nvlabs_snapshots import persistent_tree, write_snapshot

KWARGS = dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=8, img_channels=3, mapping_kwargs=dict(num_layers=2),
              synthesis_kwargs=dict(channel_base=64, channel_max=8))


@pytest.fixture(scope="module")
def tiny_net():
    cfg = StyleGAN2Config(z_dim=8, w_dim=8, resolution=8, channels=channels_from_base(64, 8, 8), mapping_layers=2)
    return random_network(cfg, seed=0)


def hostile_source(marker: Path) -> str:
    """Module source that creates ``marker`` the moment anything exec()s it."""
    return f"open({str(marker)!r}, 'w').write('the embedded source ran')\nclass Generator: pass\n"


class _Shell:
    """Reduces to os.system(command): what a hostile pickle would call."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_embedded_module_source_is_never_executed(tmp_path, tiny_net):
    marker = tmp_path / "MARKER"
    path = write_snapshot(tmp_path / "snapshot.pkl", tiny_net, KWARGS, hostile_source(marker))
    assert b"the embedded source ran" in path.read_bytes()         # the payload really is in the file
    g = StyleGAN2Generator(checkpoint=str(path))
    assert g.synthesize(g.sample_latents(1, 0)).shape == (1, 3, 8, 8)
    assert not marker.exists()
    obj = read_network_pickle(path)
    assert obj["G_ema"].class_name == "Generator" and len(obj["G_ema"].source_sha256) == 64
    assert not marker.exists()


def test_plain_pickle_would_have_run_the_payload(tmp_path):
    """Control: the same kind of global does run under plain pickle, so the refusal below is meaningful."""
    marker = tmp_path / "CONTROL"
    pickle.loads(pickle.dumps(_Shell(f"touch {marker}")))
    assert marker.exists()


def test_os_system_global_is_refused_and_not_run(tmp_path, tiny_net):
    marker = tmp_path / "PWNED"
    tree = persistent_tree(tiny_net, "class Generator: pass\n", KWARGS,
                           extra_state={"payload": _Shell(f"touch {marker}")})
    path = tmp_path / "evil.pkl"
    import nvlabs_snapshots

    with nvlabs_snapshots._standin_modules():
        path.write_bytes(pickle.dumps({"G_ema": tree}, protocol=3))
    with pytest.raises(ForbiddenGlobal) as err:
        StyleGAN2Generator(checkpoint=str(path))
    msg = str(err.value)
    assert "evil.pkl" in msg and "system" in msg and "never runs code from a checkpoint" in msg
    assert isinstance(err.value, WeightsError)
    assert not marker.exists()


def test_protocol5_numpy_arrays_are_read_as_data(tmp_path, tiny_net):
    import nvlabs_snapshots

    table = np.arange(6.0).reshape(2, 3)
    tree = persistent_tree(tiny_net, "", KWARGS, extra_state={"table": table})
    path = tmp_path / "p5.pkl"
    with nvlabs_snapshots._standin_modules():
        data = pickle.dumps({"G_ema": tree}, protocol=5)
    assert b"_frombuffer" in data
    path.write_bytes(data)
    assert np.array_equal(read_network_pickle(path)["G_ema"].state["table"], table)


def test_hostile_storage_blob_is_refused(tmp_path):
    """A ``_load_from_bytes`` blob is a nested torch file: it is read by the same restricted reader."""
    marker = tmp_path / "BLOB"
    blob = io.BytesIO()
    torch.save({"x": _Shell(f"touch {marker}")}, blob, _use_new_zipfile_serialization=False)

    class _Storage:
        def __reduce__(self):
            return torch.storage._load_from_bytes, (blob.getvalue(),)

    path = tmp_path / "blob.pkl"
    path.write_bytes(pickle.dumps({"G_ema": _Storage()}, protocol=3))
    with pytest.raises(WeightsError, match=r"blob\.pkl: refused to load '(posix|os)\.system'"):
        load_checkpoint(path)
    assert not marker.exists()


def test_tuple_that_is_not_a_tf_snapshot(tmp_path):
    path = tmp_path / "tuple.pkl"
    path.write_bytes(pickle.dumps(({"G": 1}, {"D": 2}, {"Gs": 3}), protocol=3))
    with pytest.raises(WeightsError, match=r"tuple\.pkl: a pickled tuple that is not a TensorFlow StyleGAN2"):
        load_checkpoint(path)


def test_stylegan3_alias_free_generator_is_refused(tmp_path, tiny_net):
    path = write_snapshot(tmp_path / "sg3-t.pkl", tiny_net, KWARGS,
                          "class SynthesisInput(torch.nn.Module): pass\nclass Generator: pass\n")
    with pytest.raises(WeightsError, match=r"sg3-t\.pkl: this is a StyleGAN3 \(alias-free"):
        load_checkpoint(path)


def test_snapshot_without_generator(tmp_path, tiny_net):
    path = tmp_path / "d_only.pkl"
    import nvlabs_snapshots

    with nvlabs_snapshots._standin_modules():
        path.write_bytes(pickle.dumps({"D": persistent_tree(tiny_net, "", {}, class_name="Discriminator")}))
    with pytest.raises(WeightsError, match=r"d_only\.pkl: the pickle holds no generator network.*keys: D"):
        load_checkpoint(path)
