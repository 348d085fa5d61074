"""Pure-PyTorch equivalents of the NVlabs custom ops (bias_act, upfirdn2d, modulated conv).

Written from the published maths (see ``docs`` in the plugin README); no CUDA extensions, so every op
runs on CPU and CUDA and is differentiable with plain autograd. Shapes follow the NCHW convention.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

#: gain that keeps the signal variance of a leaky ReLU(0.2) layer near 1 (NVlabs' ``def_gain``)
LRELU_GAIN = math.sqrt(2.0)
ACTIVATIONS = ("linear", "lrelu")


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale each row of x [N, D] to unit mean square (StyleGAN's pixel norm on latents)."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


def bias_act(x: torch.Tensor, bias: torch.Tensor | None = None, activation: str = "linear",
             gain: float | None = None, clamp: float | None = None) -> torch.Tensor:
    """``act(x + bias) * gain``, then clamp to [-clamp, clamp].

    ``bias`` [C] is added along dim 1 of x [N, C, ...]. ``gain`` defaults to the activation's
    natural gain (sqrt(2) for lrelu, 1 for linear).
    """
    if bias is not None:
        x = x + bias.reshape([1, -1] + [1] * (x.dim() - 2))
    if activation == "lrelu":
        x = F.leaky_relu(x, 0.2)
        default_gain = LRELU_GAIN
    elif activation == "linear":
        default_gain = 1.0
    else:
        raise ValueError(f"unsupported activation {activation!r}; expected one of {ACTIVATIONS}")
    gain = default_gain if gain is None else gain
    if gain != 1:
        x = x * gain
    if clamp is not None and clamp >= 0:
        x = x.clamp(-clamp, clamp)
    return x


def upfirdn2d(x: torch.Tensor, f: torch.Tensor, up: int = 1, padding: tuple[int, int, int, int] = (0, 0, 0, 0),
              gain: float = 1.0) -> torch.Tensor:
    """Upsample by zero insertion, pad (x0, x1, y0, y1; negative crops), then FIR-filter with f [fh, fw].

    The filter is applied as a true convolution (flipped); the [1, 3, 3, 1] filters used here are
    symmetric so the flip only matters for odd filters. ``gain`` scales the filter.
    """
    n, c, h, w = x.shape
    if up > 1:
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    px0, px1, py0, py1 = padding
    x = F.pad(x, [max(px0, 0), max(px1, 0), max(py0, 0), max(py1, 0)])
    x = x[:, :, max(-py0, 0): x.shape[2] - max(-py1, 0), max(-px0, 0): x.shape[3] - max(-px1, 0)]
    kernel = (f * gain).to(x.dtype).flip([0, 1])
    kernel = kernel[None, None].repeat(c, 1, 1, 1)
    return F.conv2d(x, kernel, groups=c)


def upsample2d(x: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
    """2x upsampling [N, C, H, W] -> [N, C, 2H, 2W] with the FIR filter f [4, 4] (sum 1)."""
    fw = f.shape[-1]
    p0, p1 = (fw + 1) // 2, (fw - 2) // 2
    return upfirdn2d(x, f, up=2, padding=(p0, p1, p0, p1), gain=4.0)


def conv3x3_up2(x: torch.Tensor, weight: torch.Tensor, f: torch.Tensor, groups: int = 1) -> torch.Tensor:
    """3x3 convolution with 2x upsampling, as a strided transposed conv followed by the FIR filter.

    x [N, groups*I, H, W], weight [groups*O, I, 3, 3] -> [N, groups*O, 2H, 2W].
    The transposed conv gives 2H+1 pixels; the [1, 3, 3, 1] filter with padding 1 brings it to 2H.
    The weight is not flipped (NVlabs' ``flip_weight=False`` for up-sampling layers).
    """
    out_total, in_per_group, kh, kw = weight.shape
    out_per_group = out_total // groups
    # conv_transpose2d wants [groups*I, O, kh, kw]: swap in/out inside each group
    w = weight.reshape(groups, out_per_group, in_per_group, kh, kw).transpose(1, 2)
    w = w.reshape(groups * in_per_group, out_per_group, kh, kw)
    x = F.conv_transpose2d(x, w, stride=2, padding=0, groups=groups)
    fw = f.shape[-1]
    # padding of conv2d_resample for up=2, k=3, pad=1, filter 4: (1, 1, 1, 1)
    p0 = 1 + (fw + 1) // 2 - (kw - 1)
    p1 = 1 + (fw - 2) // 2 - (kw - 2)
    return upfirdn2d(x, f, padding=(p0, p1, p0, p1), gain=4.0)


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, *, up: bool = False,
                     demodulate: bool = True, resample_filter: torch.Tensor | None = None,
                     noise: torch.Tensor | None = None, fused: bool = True) -> torch.Tensor:
    """StyleGAN2's modulated convolution.

    Args:
        x: [N, I, H, W] input features.
        weight: [O, I, k, k] base weight (k = 1 or 3; padding k // 2).
        styles: [N, I] per-sample input scales (the affine output).
        up: 2x upsampling (3x3 only), with ``resample_filter`` [4, 4].
        demodulate: normalise each output filter to unit L2 norm (per sample).
        noise: optional [N or 1, 1, H', W'] added after the convolution.
        fused: one grouped convolution over the batch (else scale activations instead of weights;
            the two are equal up to float rounding).
    Returns:
        [N, O, H', W'] with H' = 2H when ``up`` else H.
    """
    n = x.shape[0]
    out_c, in_c, kh, kw = weight.shape
    if x.dtype == torch.float16 and demodulate:
        # keep half-precision activations from overflowing; cancels out under demodulation
        weight = weight * (1 / math.sqrt(in_c * kh * kw) / weight.abs().amax(dim=[1, 2, 3], keepdim=True))
        styles = styles / styles.abs().amax(dim=1, keepdim=True)
    w = weight.unsqueeze(0) * styles.reshape(n, 1, in_c, 1, 1)          # [N, O, I, k, k]
    dcoefs = (w.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt() if demodulate else None   # [N, O]
    if fused:
        if dcoefs is not None:
            w = w * dcoefs.reshape(n, out_c, 1, 1, 1)
        xg = x.reshape(1, n * in_c, *x.shape[2:])
        wg = w.reshape(n * out_c, in_c, kh, kw).to(x.dtype)
        if up:
            out = conv3x3_up2(xg, wg, resample_filter, groups=n)
        else:
            out = F.conv2d(xg, wg, padding=kh // 2, groups=n)
        out = out.reshape(n, out_c, *out.shape[2:])
        return out + noise.to(out.dtype) if noise is not None else out
    x = x * styles.to(x.dtype).reshape(n, in_c, 1, 1)
    wx = weight.to(x.dtype)
    out = conv3x3_up2(x, wx, resample_filter) if up else F.conv2d(x, wx, padding=kh // 2)
    if dcoefs is not None:
        out = out * dcoefs.to(out.dtype).reshape(n, out_c, 1, 1)
    return out + noise.to(out.dtype) if noise is not None else out
