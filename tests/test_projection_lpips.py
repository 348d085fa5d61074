"""LPIPS-VGG16 of the optimize projector equals the ``lpips`` package (0.1, net='vgg') on random VGG weights.

``lpips`` imports torchvision only to build VGG16's ``features``; torchvision has no build for this
torch, so a stand-in module hands it a VGG16 layer stack (random weights). Everything LPIPS itself
computes (scaling, layer taps, normalisation, lin layers from its own vgg.pth, averaging) is the
package's code, compared with ours given the same VGG16 state dict.
"""
from __future__ import annotations

import sys
import types

import pytest
import torch

from sgfkit.errors import WeightsError
from sgfkit_projectors.lpips_vgg import LIN_WEIGHTS, LpipsVGG16, load_vgg16_features, vgg16_features


@pytest.fixture
def lpips_package(monkeypatch: pytest.MonkeyPatch):
    models = types.ModuleType("torchvision.models")

    def vgg16(pretrained: bool = False, **_):
        assert not pretrained  # never a download
        net = torch.nn.Module()
        net.features = vgg16_features()
        return net

    models.vgg16 = vgg16
    tv = types.ModuleType("torchvision")
    tv.models = models
    monkeypatch.setitem(sys.modules, "torchvision", tv)
    monkeypatch.setitem(sys.modules, "torchvision.models", models)
    for name in [m for m in sys.modules if m == "lpips" or m.startswith("lpips.")]:
        monkeypatch.delitem(sys.modules, name)
    return pytest.importorskip("lpips", reason="install lpips (make setup does, without its dependencies)")


def test_equals_the_lpips_package_on_random_vgg_weights(lpips_package, tmp_path) -> None:
    torch.manual_seed(0)
    ref = lpips_package.LPIPS(net="vgg", version="0.1", pretrained=True, pnet_rand=True, verbose=False).eval()
    # the package's VGG slices hold the random VGG16 modules; rebuild the torchvision-keyed state dict
    state = {}
    for s in range(1, 6):
        for idx, module in getattr(ref.net, f"slice{s}")._modules.items():
            for key, value in module.state_dict().items():
                state[f"features.{idx}.{key}"] = value.clone()
    state["classifier.0.weight"] = torch.zeros(1)  # ignored, as in a real torchvision file
    torch.save(state, tmp_path / "vgg16.pth")
    ours = LpipsVGG16.from_files(tmp_path / "vgg16.pth").eval()
    a = torch.rand(3, 3, 48, 48) * 2 - 1
    b = (a + 0.3 * torch.randn_like(a)).clamp(-1, 1)
    with torch.no_grad():
        expected = ref(a, b).flatten()
        got = ours(a, ours.prepare(b))
        assert torch.allclose(got, expected, rtol=1e-5, atol=1e-6), (got, expected)
        assert torch.allclose(ours(b, ours.prepare(b)), torch.zeros(3), atol=1e-7)


def test_lin_layers_are_the_packages(lpips_package) -> None:
    from safetensors.torch import load_file

    ref = lpips_package.LPIPS(net="vgg", version="0.1", pretrained=True, pnet_rand=True, verbose=False)
    shipped = load_file(str(LIN_WEIGHTS))
    for i in range(5):
        assert torch.equal(shipped[f"lin{i}.model.1.weight"], getattr(ref, f"lin{i}").model[1].weight.detach())


def test_a_wrong_state_dict_is_a_weights_error(tmp_path) -> None:
    with pytest.raises(WeightsError, match="not a torchvision VGG16 state dict"):
        load_vgg16_features({"features.0.weight": torch.zeros(64, 3, 3, 3)}, "x.pth")
    (tmp_path / "bad.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="not a readable torch state dict"):
        LpipsVGG16.from_files(tmp_path / "bad.pth")


def test_optimize_projector_runs_on_lpips(tmp_path) -> None:
    import sgfkit

    torch.manual_seed(1)
    state = {f"features.{k}": v for k, v in vgg16_features().state_dict().items()}
    torch.save(state, tmp_path / "vgg16-397923af.pth")
    gen = sgfkit.get_generator("synth-faces", space="w", latent_dim=32, num_ws=8, resolution=32)
    target = gen.synthesize(gen.to_latents(gen.z_from_seeds([7_000_040])))
    proj = sgfkit.get_projector("optimize", space="w", steps=5, stats_samples=100, init="w_avg",
                                vgg16_weights=str(tmp_path / "vgg16-397923af.pth"))
    result = proj.project(target, gen)
    assert result.info["distance"] == "lpips-vgg16" and len(result.losses) == 5
    assert result.latents.tensor.shape == (1, 32) and torch.isfinite(result.latents.tensor).all()
