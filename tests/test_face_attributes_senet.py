"""face-attributes: the SE-ResNet-50 layout, safe VGGFace2 .pkl loading, original preprocessing,
attribute heads, and clear errors for missing or hostile files."""
from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sgfkit.errors import ComponentError, WeightsError
from sgfkit_face_attributes.checkpoints import load_head, load_senet50, read_vggface2_pkl, save_head
from sgfkit_face_attributes.preprocess import (VGGFACE2_MEAN_BGR, to_uint8, vggface2_fast,
                                               vggface2_from_uint8, vggface2_original)
from sgfkit_face_attributes.senet import SENET50, AttributeHead, SENet, SENetConfig

FIX = Path(__file__).parent / "fixtures" / "face_attributes"
torch.set_num_threads(1)


def py2_style_pickle(state: dict[str, np.ndarray], numpy1_names: bool = True) -> bytes:
    """Protocol-2 pickle of a dict of arrays whose raw data is a latin-1 *str*, as Python 2 wrote them."""
    from numpy._core.multiarray import _reconstruct

    class Py2Pickler(pickle.Pickler):
        def reducer_override(self, obj):
            if isinstance(obj, np.ndarray):
                raw = obj.tobytes().decode("latin1")
                return _reconstruct, (np.ndarray, (0,), b"b"), (1, obj.shape, obj.dtype, False, raw)
            return NotImplemented

    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(state)
    data = buf.getvalue()
    if numpy1_names:   # files written with numpy 1 / Python 2 name numpy.core.multiarray
        data = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    return data


def random_state(net: torch.nn.Module, seed: int = 0) -> dict[str, np.ndarray]:
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for key, value in net.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue   # the released files predate this buffer
        t = torch.randn(value.shape, generator=gen) * 0.1
        if key.endswith("running_var"):
            t = t.abs() + 0.5
        out[key] = t.numpy().astype(np.float32)
    return out


def test_senet50_layout_matches_vggface2_keylist_exactly():
    with torch.device("meta"):
        net = SENet(SENET50)
    ours = [(k, list(v.shape)) for k, v in net.state_dict().items()]
    ref = []
    for line in (FIX / "vggface2_senet50.txt").read_text().splitlines():
        key, shape = line.split("\t")
        ref.append((key, [int(s) for s in shape.strip("[]").split(",") if s.strip()]))
    assert ours == ref
    assert SENET50.feature_dim == 2048


def test_stride_sits_on_the_first_1x1_conv_and_maxpool_uses_ceil():
    net = SENet(SENetConfig(layers=(1, 1), widths=(4, 8), stem_width=4, reduction=4)).eval()
    block = net.layer2[0]
    assert block.conv1.stride == (2, 2) and block.conv2.stride == (1, 1)
    assert block.downsample[0].stride == (2, 2)
    # 224 -> conv 112 -> ceil-mode max-pool 56 (floor mode would give 55)
    seen = []
    net.layer1.register_forward_pre_hook(lambda mod, args: seen.append(args[0].shape[-1]))
    with torch.no_grad():
        net.features(torch.zeros(1, 3, 224, 224))
    assert seen == [56]


def test_squeeze_excitation_gates_the_residual_branch():
    torch.manual_seed(0)
    net = SENet(SENetConfig(layers=(1,), widths=(4,), stem_width=16, reduction=4)).eval()
    block = net.layer1[0]
    x = torch.randn(2, 16, 5, 5)
    with torch.no_grad():
        out = block(x)
        branch = block.bn3(block.conv3(torch.relu(block.bn2(block.conv2(torch.relu(block.bn1(block.conv1(x))))))))
        gate = torch.sigmoid(block.conv5(torch.relu(block.conv4(branch.mean((2, 3), keepdim=True)))))
        torch.testing.assert_close(out, torch.relu(gate * branch + x))
        block.conv5.bias.fill_(-1e4)   # gate closed: only the residual passes
        torch.testing.assert_close(block(x), torch.relu(x))


@pytest.mark.parametrize("numpy1_names", [True, False])
def test_py2_style_pkl_loads_through_the_restricted_unpickler(tmp_path, numpy1_names):
    cfg = SENetConfig(layers=(1, 1), widths=(4, 8), stem_width=8, reduction=4, num_classes=5)
    net = SENet(cfg)
    state = random_state(net)
    path = tmp_path / "senet_tiny.pkl"
    path.write_bytes(py2_style_pickle(state, numpy1_names))
    loaded = read_vggface2_pkl(path)
    assert sorted(loaded) == sorted(state)
    for key, arr in state.items():
        np.testing.assert_array_equal(loaded[key].numpy(), arr)


def test_hostile_pkl_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "senet50_ft_weight.pkl"
    path.write_bytes(pickle.dumps({"conv1.weight": Payload()}, protocol=2))
    with pytest.raises(WeightsError, match=r"senet50_ft_weight\.pkl: refused to load '(posix|os|nt)\.system'"):
        read_vggface2_pkl(path)
    assert not marker.exists()


def test_truncated_and_foreign_pkl_files(tmp_path):
    data = py2_style_pickle({"conv1.weight": np.zeros((4, 3, 7, 7), np.float32)})
    cut = tmp_path / "cut.pkl"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match=r"cut\.pkl: not a readable pickle.*truncated"):
        read_vggface2_pkl(cut)
    strings = tmp_path / "strings.pkl"
    strings.write_bytes(pickle.dumps({"conv1.weight": "hello"}, protocol=2))
    with pytest.raises(WeightsError, match="'conv1.weight' is a str, not a numeric array"):
        read_vggface2_pkl(strings)


def test_senet50_shape_mismatch_names_keys(tmp_path):
    tiny = SENet(SENetConfig(layers=(1,), widths=(4,), stem_width=8, reduction=4))
    path = tmp_path / "small.pkl"
    path.write_bytes(py2_style_pickle(random_state(tiny)))
    with pytest.raises(WeightsError) as err:
        load_senet50(path)
    msg = str(err.value)
    assert "small.pkl" in msg and "conv1.weight: file [8, 3, 7, 7] vs model [64, 3, 7, 7]" in msg
    assert "missing keys ['layer1.1.conv1.weight'" in msg


# -- preprocessing ---------------------------------------------------------------------------

def reference_vggface2(arr: np.ndarray) -> np.ndarray:
    """The original data-loader recipe, step by step, on one uint8 RGB image [H, W, 3]."""
    img = Image.fromarray(arr)
    w, h = img.size
    size = (256, int(256 * h / w)) if w <= h else (int(256 * w / h), 256)
    img = img.resize(size, Image.BILINEAR)
    left, top = int(round((size[0] - 224) / 2.0)), int(round((size[1] - 224) / 2.0))
    img = img.crop((left, top, left + 224, top + 224))
    x = np.asarray(img, np.uint8)[:, :, ::-1].astype(np.float32)
    x -= np.array([91.4953, 103.8827, 131.0912], np.float32)
    return x.transpose(2, 0, 1)


@pytest.mark.parametrize("h,w", [(64, 64), (300, 260)])
def test_preprocessing_follows_the_original_recipe(h, w):
    images = torch.rand(2, 3, h, w, generator=torch.Generator().manual_seed(h)) * 2 - 1
    ours = vggface2_original(images)
    assert ours.shape == (2, 3, 224, 224) and ours.dtype == torch.float32
    pixels = to_uint8(images)
    for i in range(2):
        np.testing.assert_allclose(ours[i].numpy(), reference_vggface2(pixels[i]), atol=1e-4)
    # BGR order and mean subtraction, no /255: a pure red image gives B = -mean_B, R = 255 - mean_R
    red = torch.tensor([1.0, -1.0, -1.0]).view(1, 3, 1, 1).expand(1, 3, 32, 32)
    px = vggface2_original(red)[0, :, 100, 100]
    torch.testing.assert_close(px, torch.tensor([-VGGFACE2_MEAN_BGR[0], -VGGFACE2_MEAN_BGR[1],
                                                 255 - VGGFACE2_MEAN_BGR[2]]))


def test_fast_preprocessing_stays_close_to_the_original():
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 96), torch.linspace(-1, 1, 96), indexing="ij")
    smooth = torch.stack([torch.sin(3 * xx), torch.cos(2 * yy), xx * yy]).unsqueeze(0) * 0.9
    diff = (vggface2_fast(smooth) - vggface2_original(smooth)).abs()
    assert float(diff.mean()) < 1.0 and float(diff.max()) < 4.0
    assert vggface2_from_uint8(to_uint8(smooth)).shape == (1, 3, 224, 224)


# -- attribute heads and the senet50 encoder -------------------------------------------------

def test_head_round_trip_and_errors(tmp_path):
    head = AttributeHead([16, 8, 3])
    path = tmp_path / "head.safetensors"
    save_head(path, head, ["smile", "bald", "beard"])
    loaded, names = load_head(path)
    assert names == ["smile", "bald", "beard"] and loaded.dims == [16, 8, 3]
    x = torch.randn(4, 16)
    torch.testing.assert_close(loaded(x), head(x))
    torch.save({"state_dict": head.state_dict(), "attribute_names": ["a", "b"]}, tmp_path / "head.pth")
    with pytest.raises(WeightsError, match="3 outputs but 2 attribute names"):
        load_head(tmp_path / "head.pth")
    torch.save({"state_dict": head.state_dict()}, tmp_path / "nameless.pth")
    with pytest.raises(WeightsError, match="no attribute names"):
        load_head(tmp_path / "nameless.pth")


def test_senet50_missing_weights_say_what_to_download(no_weight_dirs):
    from sgfkit_face_attributes.encoder import FaceAttributes

    with pytest.raises(WeightsError) as err:
        FaceAttributes(config="senet50", head="head.safetensors")
    msg = str(err.value)
    assert "senet50_ft_weight.pkl" in msg and "github.com/cydonia999/VGGFace2-pytorch" in msg
    assert str(no_weight_dirs / "home" / "weights") in msg


@pytest.mark.slow
def test_senet50_encoder_end_to_end(no_weight_dirs):
    """A full-size (random) senet50 .pkl + head: outputs are the head's sigmoid on the pooled features."""
    from sgfkit_face_attributes.encoder import FaceAttributes

    net = SENet(SENetConfig(num_classes=0))
    state = random_state(net, seed=1)
    for key in [k for k in state if k.endswith("running_var")]:
        state[key] = state[key] * 0 + 1.0
    weights = no_weight_dirs / "home" / "weights"
    weights.mkdir(parents=True)
    (weights / "senet50_ft_weight.pkl").write_bytes(py2_style_pickle(state))
    with pytest.raises(WeightsError, match="needs an attribute head"):
        FaceAttributes(config="senet50")
    head = AttributeHead([2048, 3])
    save_head(weights / "attrs.safetensors", head, ["smile", "bald", "beard"])
    enc = FaceAttributes(config="senet50", head="attrs.safetensors")
    assert enc.names == ["smile", "bald", "beard"]
    images = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1
    out = enc.encode(images)
    assert out.shape == (2, 3) and out.dtype == torch.float32 and (out >= 0).all() and (out <= 1).all()
    reference = SENet(SENetConfig(num_classes=0))
    reference.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
    with torch.no_grad():
        expected = torch.sigmoid(head(reference.eval().features(vggface2_original(images))))
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-4)
    with pytest.raises(ComponentError, match=r"images \[N, 3, H, W\]"):
        enc.encode(torch.zeros(2, 64, 64))


def test_registered_with_its_known_weights():
    from sgfkit.registry import get_registry

    registry = get_registry()
    assert "face-attributes" in registry.names("condition-encoder")
    assert any(w.weights.file_name == "senet50_ft_weight.pkl" for w in registry.weights)
