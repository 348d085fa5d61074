"""TensorFlow-era NVlabs/stylegan2 pickles: converted to the official layout, build source never run."""
from __future__ import annotations

import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from sgfkit.errors import WeightsError
from sgfkit.latents import Latents
from sgfkit_stylegan2.checkpoints import load_checkpoint
from sgfkit_stylegan2.generator import StyleGAN2Generator

FIXTURES = Path(__file__).parent / "fixtures" / "stylegan2"


class Network:
    """Pickles like dnnlib.tflib.network.Network (NEWOBJ + BUILD with a plain state dict)."""

    def __init__(self, state: dict) -> None:
        self._state = state

    def __getstate__(self) -> dict:
        return self._state


@pytest.fixture
def tflib_standin(monkeypatch):
    module = types.ModuleType("dnnlib.tflib.network")
    module.Network = Network
    Network.__module__, Network.__qualname__ = "dnnlib.tflib.network", "Network"
    for name, mod in [("dnnlib", types.ModuleType("dnnlib")), ("dnnlib.tflib", types.ModuleType("dnnlib.tflib")),
                      ("dnnlib.tflib.network", module)]:
        monkeypatch.setitem(sys.modules, name, mod)


@pytest.fixture(scope="module")
def ref() -> dict[str, torch.Tensor]:
    with np.load(FIXTURES / "reference_outputs.npz") as data:
        return {k: torch.from_numpy(np.array(data[k])) for k in data.files}


def tf_variables(sd: dict[str, np.ndarray]) -> tuple[list, list, list]:
    """Official PyTorch layout -> TF variables (inverse of checkpoints.md section 1.6)."""
    top, mapping, synthesis = [("dlatent_avg", sd["mapping.w_avg"])], [], [("lod", np.float32(0))]
    scopes = {"b4.conv1": "4x4/Conv", "b4.torgb": "4x4/ToRGB"}
    noise_index = {"b4.conv1": 0}
    for res in (8, 16, 32):
        log2 = int(np.log2(res))
        scopes.update({f"b{res}.conv0": f"{res}x{res}/Conv0_up", f"b{res}.conv1": f"{res}x{res}/Conv1",
                       f"b{res}.torgb": f"{res}x{res}/ToRGB"})
        noise_index.update({f"b{res}.conv0": 2 * log2 - 5, f"b{res}.conv1": 2 * log2 - 4})
    for key, value in sd.items():
        parts = key.split(".")
        if parts[0] == "mapping" and parts[1].startswith("fc"):
            mapping.append((f"Dense{parts[1][2:]}/{parts[2]}", value.T if parts[2] == "weight" else value))
        elif key == "synthesis.b4.const":
            synthesis.append(("4x4/Const/const", value[None]))
        elif parts[0] == "synthesis" and not key.endswith("resample_filter"):
            layer, leaf = ".".join(parts[1:3]), ".".join(parts[3:])
            scope = scopes[layer]
            if leaf == "weight":
                w = value.transpose(2, 3, 1, 0)
                synthesis.append((f"{scope}/weight", w[::-1, ::-1] if "Conv0_up" in scope else w))
            elif leaf == "affine.weight":
                synthesis.append((f"{scope}/mod_weight", value.T))
            elif leaf == "affine.bias":
                synthesis.append((f"{scope}/mod_bias", value - 1))
            elif leaf == "noise_const":
                synthesis.append((f"noise{noise_index[layer]}", value[None, None]))
            else:
                synthesis.append((f"{scope}/{leaf}", value))
    return top, mapping, synthesis


def write_tf_pickle(path: Path, marker: Path, extra_synthesis=(), **static) -> Path:
    with np.load(FIXTURES / "G_ema_state_dict.npz") as data:
        sd = {k: np.array(data[k]) for k in data.files}
    top, mapping, synthesis = tf_variables(sd)
    src = f"open({str(marker)!r}, 'w').write('tf build code ran')\n"

    def net(name, variables, components=None, **kw):
        return Network({"version": 4, "name": name, "static_kwargs": kw, "components": components or {},
                        "build_module_src": src, "build_func_name": f"training.networks_stylegan2.G_{name}",
                        "variables": variables})

    kwargs = dict(num_channels=3, resolution=32, label_size=0, fmap_base=512, fmap_max=64, mapping_layers=8,
                  latent_size=64, dlatent_size=64, **static)
    gs = net("G_main", top, {"mapping": net("G_mapping", mapping),
                             "synthesis": net("G_synthesis", synthesis + list(extra_synthesis))}, **kwargs)
    path.write_bytes(pickle.dumps((net("G", []), net("D", []), gs), protocol=4))
    return path


def test_tf_pickle_reproduces_reference(tmp_path, tflib_standin, ref):
    marker = tmp_path / "RAN"
    path = write_tf_pickle(tmp_path / "stylegan2-test-config-f.pkl", marker)
    loaded = load_checkpoint(path)
    assert loaded.format == "nvlabs-pkl" and loaded.info["codebase"] == "stylegan2 (TensorFlow)"
    assert loaded.config.channels == {4: 64, 8: 64, 16: 64, 32: 32} and loaded.config.conv_clamp is None
    g = StyleGAN2Generator(checkpoint=str(path), clamp=False, truncation=0.7)
    assert (g.to_latents(ref["z"], "w+").tensor - ref["ws_psi0.7"]).abs().max() < 1e-4
    assert (g.synthesize(Latents(ref["ws_psi0.7"], "w+")) - ref["img_psi0.7_const"]).abs().max() < 1e-4
    assert not marker.exists()


def test_tf_resnet_generator_is_refused(tmp_path, tflib_standin):
    path = write_tf_pickle(tmp_path / "resnet.pkl", tmp_path / "RAN",
                           extra_synthesis=[("8x8/Skip/weight", np.zeros((1, 1, 64, 64), np.float32))])
    with pytest.raises(WeightsError, match=r"resnet\.pkl: this TensorFlow StyleGAN2 generator is not supported: "
                                           r"a resnet generator"):
        load_checkpoint(path)


def test_tf_conv_clamp_setting_is_applied(tmp_path, tflib_standin):
    loaded = load_checkpoint(write_tf_pickle(tmp_path / "ada-tf.pkl", tmp_path / "RAN", conv_clamp=256, num_fp16_res=2))
    assert loaded.config.conv_clamp == 256 and loaded.config.num_fp16_res == 2


def test_tf_without_latent_normalisation_is_refused(tmp_path, tflib_standin):
    path = write_tf_pickle(tmp_path / "nonorm.pkl", tmp_path / "RAN", normalize_latents=False)
    with pytest.raises(WeightsError, match="normalize_latents=False"):
        load_checkpoint(path)


def test_tf_unknown_settings_are_refused(tmp_path, tflib_standin):
    path = write_tf_pickle(tmp_path / "odd.pkl", tmp_path / "RAN", mystery_option=3)
    with pytest.raises(WeightsError, match="unknown settings mystery_option"):
        load_checkpoint(path)
