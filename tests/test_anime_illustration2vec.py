"""illustration2vec: caffemodel wire-format reader, layer runner and tagger encoder.

The tests write tiny caffemodels with their own protobuf *writer* (same wire format as Caffe's
``NetParameter``) and compare the loaded net with a forward pass computed directly from the blobs.
"""
from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sgfkit.errors import ComponentError, WeightsError
from sgfkit_anime.caffe_net import CaffeForward
from sgfkit_anime.caffe_proto import ProtoDecodeError, load_caffemodel, parse_net, read_varint
from sgfkit_anime.illustration2vec import I2V_MEAN_BGR, Illustration2Vec, preprocess

# ------------------------------------------------------------------------------------------
# A minimal protobuf writer (wire format only)
# ------------------------------------------------------------------------------------------


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def field_varint(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def field_bytes(number: int, payload: bytes) -> bytes:
    return varint((number << 3) | 2) + varint(len(payload)) + payload


def field_str(number: int, text: str) -> bytes:
    return field_bytes(number, text.encode())


def blob(array: np.ndarray, legacy_shape: bool = False) -> bytes:
    array = np.asarray(array, dtype=np.float32)
    if legacy_shape:  # num/channels/height/width = 1..4, right-aligned like old Caffe
        dims = [1] * (4 - array.ndim) + list(array.shape)
        head = b"".join(field_varint(i + 1, d) for i, d in enumerate(dims))
    else:
        head = field_bytes(7, field_bytes(1, b"".join(varint(d) for d in array.shape)))
    return head + field_bytes(5, array.astype("<f4").tobytes())


def conv_param(num_output: int, kernel: int, pad: int, stride: int = 1) -> bytes:
    return field_varint(1, num_output) + field_varint(3, pad) + field_varint(4, kernel) + field_varint(6, stride)


def pool_param(method: int, kernel: int, stride: int) -> bytes:
    return field_varint(1, method) + field_varint(2, kernel) + field_varint(3, stride)


V2 = dict(name=1, type=2, bottom=3, top=4, blobs=7, conv=106, pool=121)
V1 = dict(name=4, type=5, bottom=2, top=3, blobs=6, conv=10, pool=19)
V1_ENUM = {"Convolution": 4, "ReLU": 18, "Pooling": 17, "Dropout": 6, "Data": 5, "Sigmoid": 19}


def layer(v1: bool, name: str, kind: str, bottom: str | None, top: str, blobs=(), conv=None, pool=None) -> bytes:
    ids = V1 if v1 else V2
    out = field_str(ids["name"], name)
    out += field_varint(ids["type"], V1_ENUM[kind]) if v1 else field_str(ids["type"], kind)
    if bottom:
        out += field_str(ids["bottom"], bottom)
    out += field_str(ids["top"], top)
    for b in blobs:
        out += field_bytes(ids["blobs"], b)
    if conv:
        out += field_bytes(ids["conv"], conv)
    if pool:
        out += field_bytes(ids["pool"], pool)
    return field_bytes(2 if v1 else 100, out)


# A tiny i2v-shaped tagger: 5 conv stages with 2x2 max pools (224 -> 7), then conv6_* (3 tags).
TINY_CONVS = [("conv1_1", 3, 4), ("conv2_1", 4, 4), ("conv3_1", 4, 4), ("conv4_1", 4, 4), ("conv5_1", 4, 4),
              ("conv6_1", 4, 6), ("conv6_4", 6, 3)]
POOL_AFTER = {"conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"}
TAGS = ["1girl", "smile", "blonde hair"]


def tiny_tagger(seed: int = 0, v1: bool = False) -> tuple[bytes, dict[str, tuple[np.ndarray, np.ndarray]]]:
    rng = np.random.default_rng(seed)
    params: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    data = field_str(1, "illust2vec_tag_tiny") + layer(v1, "data", "Data", None, "data")
    for name, cin, cout in TINY_CONVS:
        w = rng.normal(0, 0.4, (cout, cin, 3, 3)).astype(np.float32)
        b = rng.normal(0, 0.1, cout).astype(np.float32)
        params[name] = (w, b)
        data += layer(v1, name, "Convolution", "data" if name == "conv1_1" else prev, name,
                      blobs=[blob(w, legacy_shape=v1), blob(b, legacy_shape=v1)], conv=conv_param(cout, 3, 1))
        prev = name
        if name != "conv6_4":
            data += layer(v1, "relu" + name[4:], "ReLU", name, name)  # in place, like Caffe nets
        if name == "conv6_1":
            data += layer(v1, "drop6", "Dropout", name, name)
        if name in POOL_AFTER:
            data += layer(v1, "pool" + name[4], "Pooling", name, "pool" + name[4], pool=pool_param(0, 2, 2))
            prev = "pool" + name[4]
    # the release net continues into a global average pool and sigmoid: present, unused by i2v
    data += layer(v1, "pool6", "Pooling", "conv6_4", "pool6", pool=pool_param(1, 7, 1))
    data += layer(v1, "prob", "Sigmoid", "pool6", "prob")
    return data, params


def reference_tags(x: torch.Tensor, params: dict[str, tuple[np.ndarray, np.ndarray]]) -> torch.Tensor:
    """Tag probabilities computed straight from the blobs with torch ops."""
    h = x
    for name, _, _ in TINY_CONVS:
        w, b = (torch.from_numpy(a) for a in params[name])
        h = F.conv2d(h, w, b, padding=1)
        if name != "conv6_4":
            h = F.relu(h)
        if name in POOL_AFTER:
            h = F.max_pool2d(h, 2, 2)
    return torch.sigmoid(h.mean(dim=(2, 3)))


@pytest.fixture
def tagger_files(tmp_path: Path) -> tuple[Path, Path, dict]:
    data, params = tiny_tagger()
    model = tmp_path / "tiny_tag.caffemodel"
    model.write_bytes(data)
    tags = tmp_path / "tag_list.json"
    tags.write_text(json.dumps(TAGS))
    return model, tags, params


# ------------------------------------------------------------------------------------------
# Wire format and caffemodel parsing
# ------------------------------------------------------------------------------------------


def test_varint_round_trip() -> None:
    for value in (0, 1, 127, 128, 300, 2**31, 2**63 - 1):
        decoded, pos = read_varint(memoryview(varint(value)), 0)
        assert decoded == value and pos == len(varint(value))


@pytest.mark.parametrize("v1", [False, True])
def test_parse_caffemodel_layers_and_blobs(v1: bool) -> None:
    data, params = tiny_tagger(seed=3, v1=v1)
    net = parse_net(data)
    assert net.name == "illust2vec_tag_tiny"
    conv = net.layer("conv2_1")
    assert conv.type == "Convolution" and conv.bottom == ["pool1"] and conv.top == ["conv2_1"]
    assert conv.conv.kernel == (3, 3) and conv.conv.pad == (1, 1) and conv.conv.stride == (1, 1)
    np.testing.assert_array_equal(conv.blobs[0], params["conv2_1"][0])
    bias = conv.blobs[1].reshape(-1)
    np.testing.assert_array_equal(bias, params["conv2_1"][1])
    pool = net.layer("pool6")
    assert pool.pool.method == "AVE" and pool.pool.kernel == (7, 7)
    assert net.layer("pool1").pool.method == "MAX"


@pytest.mark.parametrize("v1", [False, True])
def test_loaded_net_matches_forward_from_blobs(v1: bool) -> None:
    data, params = tiny_tagger(seed=1, v1=v1)
    net = CaffeForward(parse_net(data))
    x = torch.randn(2, 3, 224, 224) * 50
    logits = net(x, "conv6_4")
    assert logits.shape == (2, 3, 7, 7)
    got = torch.sigmoid(F.avg_pool2d(logits, 7)).flatten(1)
    torch.testing.assert_close(got, reference_tags(x, params), rtol=1e-5, atol=1e-6)
    # the net's own tail (pool6 + prob) is also runnable
    torch.testing.assert_close(net(x, "prob").flatten(1), got, rtol=1e-5, atol=1e-6)


def test_max_pool_rounds_up_like_caffe() -> None:
    w = np.ones((1, 1, 1, 1), np.float32)
    data = (layer(False, "c", "Convolution", "data", "c", [blob(w), blob(np.zeros(1))], conv_param(1, 1, 0))
            + layer(False, "p", "Pooling", "c", "p", pool=pool_param(0, 3, 2)))
    net = CaffeForward(parse_net(data))
    x = torch.arange(16 * 16, dtype=torch.float32).view(1, 1, 16, 16)
    out = net(x, "p")
    # Caffe: ceil((16 - 3) / 2) + 1 = 8 (floor would give 7); the last window is clipped
    assert out.shape == (1, 1, 8, 8)
    assert out[0, 0, -1, -1] == x.max()


def test_truncated_caffemodel_is_a_clear_error(tmp_path: Path) -> None:
    data, _ = tiny_tagger()
    bad = tmp_path / "cut.caffemodel"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match=r"cut\.caffemodel is not a valid \.caffemodel.*truncated"):
        load_caffemodel(bad)
    with pytest.raises(ProtoDecodeError):
        parse_net(data[:-3])


def test_text_file_is_not_a_caffemodel(tmp_path: Path) -> None:
    proto = tmp_path / "illust2vec_tag.prototxt"
    proto.write_text('name: "illust2vec"\nlayer { name: "conv1_1" type: "Convolution" }\n')
    with pytest.raises(WeightsError, match=r"is not a valid \.caffemodel"):
        load_caffemodel(proto)
    empty = tmp_path / "empty.caffemodel"
    empty.write_bytes(field_str(1, "just a name"))
    with pytest.raises(WeightsError, match="holds no Caffe layers with weights"):
        load_caffemodel(empty)


# ------------------------------------------------------------------------------------------
# The encoder
# ------------------------------------------------------------------------------------------


def test_preprocess_is_bgr_minus_mean_at_224() -> None:
    img = torch.zeros(1, 3, 224, 224)
    img[:, 0] = 1.0   # red = 255
    img[:, 1] = -1.0  # green = 0
    x = preprocess(img)
    assert x.shape == (1, 3, 224, 224)
    # BGR order: channel 0 is blue (127.5), channel 2 is red (255)
    assert torch.allclose(x[0, :, 0, 0], torch.tensor([127.5 - I2V_MEAN_BGR[0], 0 - I2V_MEAN_BGR[1],
                                                       255 - I2V_MEAN_BGR[2]]))
    assert preprocess(torch.zeros(2, 3, 64, 64)).shape == (2, 3, 224, 224)
    with pytest.raises(ComponentError, match=r"\[N, 3, H, W\]"):
        preprocess(torch.zeros(3, 64, 64))


def test_encoder_reproduces_reference(tagger_files) -> None:
    model, tags, params = tagger_files
    enc = Illustration2Vec(weights=str(model), tag_list=str(tags))
    assert enc.names == TAGS and enc.condition_kind == "attributes"
    images = torch.rand(2, 3, 224, 224) * 2 - 1
    expected = reference_tags(preprocess(images), params)
    torch.testing.assert_close(enc.encode(images), expected, rtol=1e-5, atol=1e-6)
    sub = Illustration2Vec(weights=str(model), tag_list=str(tags), tags=["smile", "1girl"])
    torch.testing.assert_close(sub.encode(images), expected[:, [1, 0]], rtol=1e-5, atol=1e-6)
    assert sub.target({"smile": 1.0}, expected[:, [1, 0]])[:, 0].eq(1).all()


def test_gzipped_tag_list_is_found(tagger_files, tmp_path: Path) -> None:
    model, tags, _ = tagger_files
    gz = tmp_path / "gz" / "tag_list.json.gz"
    gz.parent.mkdir()
    gz.write_bytes(gzip.compress(json.dumps(TAGS).encode()))
    enc = Illustration2Vec(weights=str(model), tag_list=str(gz.parent / "tag_list.json"))
    assert enc.names == TAGS


def test_missing_weights_say_what_to_download(no_weight_dirs: Path) -> None:
    with pytest.raises(WeightsError, match=r"illust2vec_tag_ver200\.caffemodel.*illustration2vec/releases"):
        Illustration2Vec()


def test_tag_problems_are_clear(tagger_files, tmp_path: Path) -> None:
    model, tags, _ = tagger_files
    with pytest.raises(ComponentError, match="no tag 'smil'. did you mean 'smile'"):
        Illustration2Vec(weights=str(model), tag_list=str(tags), tags=["smil"])
    wrong = tmp_path / "wrong.json"
    wrong.write_text(json.dumps(TAGS + ["extra"]))
    with pytest.raises(WeightsError, match="predicts 3 tags but .* lists 4"):
        Illustration2Vec(weights=str(model), tag_list=str(wrong))
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(WeightsError, match="cannot read the illustration2vec tag list"):
        Illustration2Vec(weights=str(model), tag_list=str(broken))


def test_feature_model_is_rejected(tmp_path: Path, tagger_files) -> None:
    _, tags, _ = tagger_files
    data = layer(False, "encode1", "Convolution", "data", "encode1",
                 [blob(np.ones((3, 3, 1, 1))), blob(np.zeros(3))], conv_param(3, 1, 0))
    model = tmp_path / "illust2vec_ver200.caffemodel"
    model.write_bytes(data)
    with pytest.raises(WeightsError, match="no convolution named 'conv6_4'.*tag model"):
        Illustration2Vec(weights=str(model), tag_list=str(tags))


def test_animeface_tags_concatenates_points_and_tags(tagger_files) -> None:
    """animeface-tags (the paper's real KeypointsAttr): animeface points, then i2v tags."""
    from sgfkit_anime.animeface_encoder import import_animeface

    try:
        import_animeface()
    except ComponentError as exc:
        pytest.skip(f"animeface unusable here: {exc}")
    from PIL import Image

    from sgfkit_anime.animeface_tags import AnimeFaceTagsEncoder

    model, tags, params = tagger_files
    enc = AnimeFaceTagsEncoder(weights=str(model), tag_list=str(tags), tags=["smile", "1girl"],
                               points=["nose_tip", "chin"], upscale_to=0)
    assert enc.names == ["nose_tip_x", "nose_tip_y", "chin_x", "chin_y", "smile", "1girl"]
    fixture = Path(__file__).parent / "fixtures" / "anime" / "drawn_face_256.png"
    arr = torch.from_numpy(np.asarray(Image.open(fixture).convert("RGB"), dtype=np.float32))
    image = (arr.permute(2, 0, 1) / 127.5 - 1)[None]
    c = enc.encode(image)
    expected_tags = reference_tags(preprocess(image), params)[:, [1, 0]]
    torch.testing.assert_close(c[:, 4:], expected_tags, rtol=1e-5, atol=1e-6)
    assert abs(float(c[0, 2]) - 128) < 12 and abs(float(c[0, 3]) - 228) < 12  # the drawn chin
    c1 = enc.target({"move": {"chin": [0, 2]}, "smile": 1.0}, c)
    assert enc.target_dims({"move": {"chin": [0, 2]}, "smile": 1.0}) == [2, 3, 4]
    assert float(c1[0, 3]) == pytest.approx(float(c[0, 3]) + 2) and float(c1[0, 4]) == 1.0
