"""Run the layers of a parsed caffemodel in PyTorch, the way Caffe (and Chainer's CaffeFunction) do.

Layers run in file order; each reads its ``bottom`` blobs and writes its ``top`` blobs (in-place
layers overwrite). Channel counts come from the weight blobs' shapes, kernel/stride/padding from
the layer parameters stored in the caffemodel. Caffe's max pooling rounds the output size up
(``ceil_mode``). Dropout is the identity at test time. Layers whose inputs are never produced
(data, loss and accuracy layers of the training net) are skipped.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sgfkit.errors import WeightsError
from sgfkit_anime.caffe_proto import CaffeLayer, CaffeNet

_SKIPPED_TYPES = {"Data", "ImageData", "Input", "MemoryData", "HDF5Data", "DummyData", "WindowData",
                  "Accuracy", "SoftmaxWithLoss", "SigmoidCrossEntropyLoss", "EuclideanLoss", "Silence",
                  "HingeLoss", "InfogainLoss", "MultinomialLogisticLoss", "ContrastiveLoss"}
_SUPPORTED_TYPES = {"Convolution", "InnerProduct", "Pooling", "ReLU", "Dropout", "Sigmoid", "Softmax",
                    "TanH", "Flatten", "Split"}


def _key(name: str) -> str:
    """A layer name usable as an nn.ParameterDict key (no dots)."""
    return name.replace(".", "_")


class CaffeForward(nn.Module):
    """The computation of a Caffe net up to a requested blob.

    ``forward(data, output)``: ``data`` [N, C, H, W] float32 -> the ``output`` blob.
    """

    def __init__(self, net: CaffeNet, input_blob: str = "data") -> None:
        super().__init__()
        self.input_blob = input_blob
        self.layers: list[CaffeLayer] = []
        self.weights = nn.ParameterDict()
        self.biases = nn.ParameterDict()
        for layer in net.layers:
            if layer.type in _SKIPPED_TYPES:
                continue
            if layer.type not in _SUPPORTED_TYPES:
                # kept: it raises only if the requested output depends on it
                self.layers.append(layer)
                continue
            if layer.type in ("Convolution", "InnerProduct"):
                self._add_weights(layer)
            self.layers.append(CaffeLayer(layer.name, layer.type, layer.bottom, layer.top,
                                          [], layer.conv, layer.pool, layer.relu_slope))

    def _add_weights(self, layer: CaffeLayer) -> None:
        if not layer.blobs:
            raise WeightsError(f"caffemodel layer {layer.name!r} ({layer.type}) has no weight blob")
        weight = torch.from_numpy(layer.blobs[0].copy())
        if layer.type == "Convolution":
            if weight.dim() != 4:
                raise WeightsError(f"convolution {layer.name!r}: weight blob has shape {tuple(weight.shape)}, "
                                   "expected [out, in/group, kh, kw]")
            conv = layer.conv
            if conv is not None and conv.kernel is not None and tuple(weight.shape[2:]) != conv.kernel:
                raise WeightsError(f"convolution {layer.name!r}: weight blob {tuple(weight.shape)} does not "
                                   f"match kernel_size {conv.kernel}")
        else:  # InnerProduct: [O, I] (legacy files store [1, 1, O, I])
            weight = weight.reshape(weight.shape[-2], weight.shape[-1]) if weight.dim() > 2 else weight
        self.weights[_key(layer.name)] = nn.Parameter(weight, requires_grad=False)
        if len(layer.blobs) > 1:
            self.biases[_key(layer.name)] = nn.Parameter(torch.from_numpy(layer.blobs[1].reshape(-1).copy()),
                                                         requires_grad=False)

    def channels(self, layer_name: str) -> int:
        """Output channels of a convolution / inner product layer (from its weight blob)."""
        return int(self.weights[_key(layer_name)].shape[0])

    def _run(self, layer: CaffeLayer, x: torch.Tensor) -> torch.Tensor:
        kind = layer.type
        if kind == "Convolution":
            c = layer.conv
            w = self.weights[_key(layer.name)]
            b = self.biases[_key(layer.name)] if _key(layer.name) in self.biases else None
            return F.conv2d(x, w, b, stride=c.stride, padding=c.pad, dilation=c.dilation, groups=c.group)
        if kind == "InnerProduct":
            w = self.weights[_key(layer.name)]
            b = self.biases[_key(layer.name)] if _key(layer.name) in self.biases else None
            return F.linear(x.flatten(1), w, b)
        if kind == "Pooling":
            p = layer.pool
            kernel = tuple(x.shape[2:]) if p.global_pooling else p.kernel
            if kernel is None:
                raise WeightsError(f"pooling layer {layer.name!r} has no kernel_size")
            stride = (1, 1) if p.global_pooling else p.stride
            if p.method == "MAX":
                return F.max_pool2d(x, kernel, stride, p.pad, ceil_mode=True)
            if p.method == "AVE":
                return F.avg_pool2d(x, kernel, stride, p.pad, ceil_mode=True, count_include_pad=True)
            raise WeightsError(f"pooling layer {layer.name!r}: {p.method} pooling is not supported")
        if kind == "ReLU":
            return F.leaky_relu(x, layer.relu_slope) if layer.relu_slope else F.relu(x)
        if kind in ("Dropout", "Split"):
            return x
        if kind == "Sigmoid":
            return torch.sigmoid(x)
        if kind == "TanH":
            return torch.tanh(x)
        if kind == "Softmax":
            return torch.softmax(x, dim=1)
        if kind == "Flatten":
            return x.flatten(1)
        raise WeightsError(f"caffemodel layer {layer.name!r} has type {kind!r}, which sgfkit cannot run")

    def forward(self, data: torch.Tensor, output: str) -> torch.Tensor:
        blobs = {self.input_blob: data}
        for index, layer in enumerate(self.layers):
            if not layer.bottom or any(b not in blobs for b in layer.bottom):
                continue
            result = self._run(layer, blobs[layer.bottom[0]])
            for top in layer.top or [layer.name]:
                blobs[top] = result
            if output in layer.top and not self._rewritten_later(index, output):
                break
        if output not in blobs:
            raise WeightsError(f"the caffemodel produces no blob named {output!r} from input "
                               f"{self.input_blob!r}; blobs it produced: {', '.join(blobs)}")
        return blobs[output]

    def _rewritten_later(self, index: int, blob: str) -> bool:
        """True when a later layer writes ``blob`` in place (e.g. a ReLU on a conv's output)."""
        return any(blob in la.top and blob in la.bottom for la in self.layers[index + 1:])
