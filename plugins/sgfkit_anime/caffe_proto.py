"""Read a Caffe ``.caffemodel`` (a binary protobuf ``NetParameter``) without Caffe or protobuf.

Only the protobuf wire format is needed: every field is a varint key ``(number << 3) | wire_type``
followed by a varint, a fixed 32/64-bit value, or a length-prefixed byte string (sub-messages,
strings and packed repeated numbers). Field numbers come from Caffe's ``caffe.proto``:

- ``NetParameter``: ``layer = 100`` (``LayerParameter``), legacy ``layers = 2`` (``V1LayerParameter``).
- ``LayerParameter``: name 1, type 2 (string), bottom 3, top 4, blobs 7, convolution_param 106,
  inner_product_param 117, pooling_param 121, relu_param 123.
- ``V1LayerParameter``: bottom 2, top 3, name 4, type 5 (enum), blobs 6, convolution_param 10,
  inner_product_param 17, pooling_param 19, relu_param 30.
- ``BlobProto``: shape 7 (``BlobShape.dim = 1``, packed int64), legacy num/channels/height/width
  1-4, data 5 (packed float32), double_data 8.

Nothing in the file is executed: it is numbers and strings only.
"""
from __future__ import annotations

import math

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sgfkit.errors import WeightsError

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5

#: V1LayerParameter.LayerType enum -> the V2 type string
V1_LAYER_TYPES = {
    0: "None", 35: "AbsVal", 1: "Accuracy", 30: "ArgMax", 2: "BNLL", 3: "Concat", 37: "ContrastiveLoss",
    4: "Convolution", 5: "Data", 39: "Deconvolution", 6: "Dropout", 32: "DummyData", 7: "EuclideanLoss",
    25: "Eltwise", 38: "Exp", 8: "Flatten", 9: "HDF5Data", 10: "HDF5Output", 28: "HingeLoss", 11: "Im2col",
    12: "ImageData", 13: "InfogainLoss", 14: "InnerProduct", 15: "LRN", 29: "MemoryData",
    16: "MultinomialLogisticLoss", 34: "MVN", 17: "Pooling", 26: "Power", 18: "ReLU", 19: "Sigmoid",
    27: "SigmoidCrossEntropyLoss", 36: "Silence", 20: "Softmax", 21: "SoftmaxWithLoss", 22: "Split",
    33: "Slice", 23: "TanH", 24: "WindowData", 31: "Threshold",
}

# field numbers of the two layer messages: (name, type, bottom, top, blobs, conv, inner_product, pooling, relu)
_V2_FIELDS = dict(name=1, type=2, bottom=3, top=4, blobs=7, conv=106, ip=117, pool=121, relu=123)
_V1_FIELDS = dict(name=4, type=5, bottom=2, top=3, blobs=6, conv=10, ip=17, pool=19, relu=30)


class ProtoDecodeError(ValueError):
    """The bytes are not valid protobuf wire format (truncated or not protobuf at all)."""


# --------------------------------------------------------------------------------------------
# Wire format
# --------------------------------------------------------------------------------------------


def read_varint(buf: memoryview, pos: int) -> tuple[int, int]:
    """Decode the base-128 varint at ``pos``; return (value, position after it)."""
    result = shift = 0
    end = len(buf)
    while True:
        if pos >= end:
            raise ProtoDecodeError(f"varint runs past the end of the data at byte {pos}")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtoDecodeError(f"varint longer than 10 bytes at byte {pos}")


def iter_fields(buf: memoryview) -> Iterator[tuple[int, int, Any]]:
    """Yield ``(field_number, wire_type, value)`` for each field of one message.

    ``value`` is an int for varint fields, a memoryview for length-delimited fields and the
    raw 4/8 bytes for fixed-width fields.
    """
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtoDecodeError(f"field number 0 at byte {pos}")
        if wire == VARINT:
            value, pos = read_varint(buf, pos)
        elif wire == LENGTH:
            size, pos = read_varint(buf, pos)
            if pos + size > end:
                raise ProtoDecodeError(f"field {number} claims {size} bytes but only {end - pos} remain")
            value, pos = buf[pos:pos + size], pos + size
        elif wire == FIXED32:
            if pos + 4 > end:
                raise ProtoDecodeError(f"fixed32 field {number} runs past the end")
            value, pos = buf[pos:pos + 4], pos + 4
        elif wire == FIXED64:
            if pos + 8 > end:
                raise ProtoDecodeError(f"fixed64 field {number} runs past the end")
            value, pos = buf[pos:pos + 8], pos + 8
        else:  # 3/4 are deprecated groups, 6/7 do not exist
            raise ProtoDecodeError(f"unsupported wire type {wire} for field {number} at byte {pos}")
        yield number, wire, value


def _ints(wire: int, value: Any) -> list[int]:
    """A repeated integer field: one varint, or a packed run of varints."""
    if wire == VARINT:
        return [value]
    if wire != LENGTH:
        raise ProtoDecodeError(f"expected an integer field, got wire type {wire}")
    out, pos = [], 0
    while pos < len(value):
        v, pos = read_varint(value, pos)
        out.append(v)
    return out


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _floats(wire: int, value: Any, fmt: str) -> np.ndarray:
    """A repeated float (``fmt='<f4'``) or double (``'<f8'``) field, packed or not."""
    width = np.dtype(fmt).itemsize
    if wire == LENGTH:
        if len(value) % width:
            raise ProtoDecodeError(f"packed {fmt} data of {len(value)} bytes is not a multiple of {width}")
        return np.frombuffer(value, dtype=fmt)
    return np.frombuffer(bytes(value), dtype=fmt)


# --------------------------------------------------------------------------------------------
# Caffe messages
# --------------------------------------------------------------------------------------------


def parse_blob(buf: memoryview) -> np.ndarray:
    """``BlobProto`` -> float32 array in its declared shape (legacy 4-d shapes squeezed like Caffe)."""
    shape: list[int] | None = None
    legacy = {1: 0, 2: 0, 3: 0, 4: 0}
    chunks32: list[np.ndarray] = []
    chunks64: list[np.ndarray] = []
    for number, wire, value in iter_fields(buf):
        if number == 7 and wire == LENGTH:
            shape = []
            for n, w, v in iter_fields(value):
                if n == 1:
                    shape.extend(_signed64(d) for d in _ints(w, v))
        elif number in legacy and wire == VARINT:
            legacy[number] = _signed64(value)
        elif number == 5:
            chunks32.append(_floats(wire, value, "<f4"))
        elif number == 8:
            chunks64.append(_floats(wire, value, "<f8"))
    data = np.concatenate(chunks32) if chunks32 else (
        np.concatenate(chunks64).astype(np.float32) if chunks64 else np.zeros(0, np.float32))
    if shape is None:
        shape = [legacy[1], legacy[2], legacy[3], legacy[4]]
    if len(shape) > 8 or any(d < 0 for d in shape):
        raise ProtoDecodeError(f"blob declares an invalid shape {shape[:8]}")
    count = math.prod(shape)  # exact (Python ints): no overflow can make a huge shape look small
    if count != data.size:
        raise ProtoDecodeError(f"blob of shape {shape} holds {data.size} values instead of {count}")
    return data.astype(np.float32, copy=False).reshape(shape)


def _param_message(buf: memoryview) -> dict[int, list[tuple[int, Any]]]:
    """A small parameter message as {field: [(wire, value), ...]}."""
    fields: dict[int, list[tuple[int, Any]]] = {}
    for number, wire, value in iter_fields(buf):
        fields.setdefault(number, []).append((wire, value))
    return fields


def _int_param(fields: dict[int, list[tuple[int, Any]]], number: int) -> list[int]:
    out: list[int] = []
    for wire, value in fields.get(number, []):
        out.extend(_ints(wire, value))
    return out


def _hw(fields: dict, single: int, h: int, w: int, default: int | None) -> tuple[int, int] | None:
    """Caffe's 2-d size rule: explicit *_h/*_w win, else the repeated value (1 or 2 entries)."""
    hv, wv = _int_param(fields, h), _int_param(fields, w)
    if hv and wv:
        return hv[-1], wv[-1]
    vals = _int_param(fields, single)
    if len(vals) == 1:
        return vals[0], vals[0]
    if len(vals) >= 2:
        return vals[0], vals[1]
    return None if default is None else (default, default)


@dataclass
class ConvParams:
    num_output: int | None
    kernel: tuple[int, int] | None
    stride: tuple[int, int]
    pad: tuple[int, int]
    dilation: tuple[int, int]
    group: int
    bias_term: bool


@dataclass
class PoolParams:
    method: str  # "MAX" | "AVE" | "STOCHASTIC"
    kernel: tuple[int, int] | None
    stride: tuple[int, int]
    pad: tuple[int, int]
    global_pooling: bool


def parse_conv_params(buf: memoryview | None) -> ConvParams:
    f = _param_message(buf) if buf is not None else {}
    num_output = _int_param(f, 1)
    bias = _int_param(f, 2)
    dil = _int_param(f, 18)
    group = _int_param(f, 5)
    return ConvParams(
        num_output=num_output[-1] if num_output else None,
        kernel=_hw(f, 4, 11, 12, None),
        stride=_hw(f, 6, 13, 14, 1),
        pad=_hw(f, 3, 9, 10, 0),
        dilation=(dil[0], dil[-1]) if dil else (1, 1),
        group=group[-1] if group else 1,
        bias_term=bool(bias[-1]) if bias else True,
    )


def parse_pool_params(buf: memoryview | None) -> PoolParams:
    f = _param_message(buf) if buf is not None else {}
    method = _int_param(f, 1)
    glob = _int_param(f, 12)
    return PoolParams(
        method={0: "MAX", 1: "AVE", 2: "STOCHASTIC"}.get(method[-1] if method else 0, "MAX"),
        kernel=_hw(f, 2, 5, 6, None),
        stride=_hw(f, 3, 7, 8, 1),
        pad=_hw(f, 4, 9, 10, 0),
        global_pooling=bool(glob[-1]) if glob else False,
    )


@dataclass
class CaffeLayer:
    """One layer of a caffemodel: its wiring, parameter blobs and the settings the forward needs."""

    name: str
    type: str
    bottom: list[str] = field(default_factory=list)
    top: list[str] = field(default_factory=list)
    blobs: list[np.ndarray] = field(default_factory=list)
    conv: ConvParams | None = None
    pool: PoolParams | None = None
    relu_slope: float = 0.0


def parse_layer(buf: memoryview, v1: bool) -> CaffeLayer:
    ids = _V1_FIELDS if v1 else _V2_FIELDS
    layer = CaffeLayer(name="", type="")
    conv_buf = pool_buf = None
    for number, wire, value in iter_fields(buf):
        if number == ids["name"] and wire == LENGTH:
            layer.name = bytes(value).decode("utf-8", "replace")
        elif number == ids["type"]:
            if v1 and wire == VARINT:
                layer.type = V1_LAYER_TYPES.get(value, f"V1 type {value}")
            elif not v1 and wire == LENGTH:
                layer.type = bytes(value).decode("utf-8", "replace")
        elif number == ids["bottom"] and wire == LENGTH:
            layer.bottom.append(bytes(value).decode("utf-8", "replace"))
        elif number == ids["top"] and wire == LENGTH:
            layer.top.append(bytes(value).decode("utf-8", "replace"))
        elif number == ids["blobs"] and wire == LENGTH:
            layer.blobs.append(parse_blob(value))
        elif number == ids["conv"] and wire == LENGTH:
            conv_buf = value
        elif number == ids["pool"] and wire == LENGTH:
            pool_buf = value
        elif number == ids["relu"] and wire == LENGTH:
            for n, w, v in iter_fields(value):
                if n == 1 and w == FIXED32:
                    layer.relu_slope = struct.unpack("<f", bytes(v))[0]
    if layer.type in ("Convolution", "Deconvolution"):
        layer.conv = parse_conv_params(conv_buf)
    if layer.type == "Pooling":
        layer.pool = parse_pool_params(pool_buf)
    return layer


@dataclass
class CaffeNet:
    """A parsed caffemodel: its name, declared input blob names and layers in file order."""

    name: str
    inputs: list[str]
    layers: list[CaffeLayer]

    def layer(self, name: str) -> CaffeLayer | None:
        return next((la for la in self.layers if la.name == name), None)


def parse_net(data: bytes | memoryview) -> CaffeNet:
    """Parse ``NetParameter`` bytes. Raises :class:`ProtoDecodeError` on malformed data."""
    buf = memoryview(data)
    name, inputs, layers = "", [], []
    for number, wire, value in iter_fields(buf):
        if number == 1 and wire == LENGTH:
            name = bytes(value).decode("utf-8", "replace")
        elif number == 3 and wire == LENGTH:
            inputs.append(bytes(value).decode("utf-8", "replace"))
        elif number == 100 and wire == LENGTH:
            layers.append(parse_layer(value, v1=False))
        elif number == 2 and wire == LENGTH:
            layers.append(parse_layer(value, v1=True))
    return CaffeNet(name=name, inputs=inputs, layers=layers)


def load_caffemodel(path: str | Path) -> CaffeNet:
    """Read and parse a ``.caffemodel``; any problem becomes a :class:`WeightsError` naming the file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WeightsError(f"cannot read caffemodel {path}: {exc}") from None
    try:
        net = parse_net(data)
    except ProtoDecodeError as exc:
        raise WeightsError(
            f"{path} is not a valid .caffemodel ({exc}); the file is truncated or of another format. "
            "Download it again (illust2vec_tag_ver200.caffemodel from the illustration2vec v2.0.0 release).") from None
    if not any(layer.blobs for layer in net.layers):
        raise WeightsError(f"{path} parses as protobuf but holds no Caffe layers with weights; "
                           "it is not a trained .caffemodel (a .prototxt or another file?)")
    return net
