"""Time StyleGAN2 synthesis with random weights of the released networks' size.

    python benchmarks/bench_stylegan2.py                      # 256 and 1024 px, batch 1 and 4, auto device
    python benchmarks/bench_stylegan2.py --resolutions 256 --batches 1 4 --device cpu --threads 2

Architectures: 256 px = stylegan2-ada "paper256" (channel_base 16384, channel_max 512), 1024 px =
config-f (channel_base 32768); z = w = 512, 8 mapping layers, 4 fp16 resolutions, conv_clamp 256.
Prints ms per batch and per image, the fused/non-fused modulated-conv ratio (same weights, side by
side), and on CUDA the half-precision/fp32 ratio of the fp16 blocks.
"""
from __future__ import annotations

import argparse
import time

import torch

from sgfkit_stylegan2.networks import StyleGAN2Config, channels_from_base, random_network

CHANNEL_BASE = {256: 16384, 512: 32768, 1024: 32768}


def build(resolution: int, device: torch.device):
    cfg = StyleGAN2Config(z_dim=512, w_dim=512, resolution=resolution,
                          channels=channels_from_base(CHANNEL_BASE.get(resolution, 32768), 512, resolution),
                          num_fp16_res=4, conv_clamp=256)
    return random_network(cfg, seed=0).to(device)


def timed(fn, device: torch.device, repeats: int) -> float:
    """Median seconds of ``repeats`` calls after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def measure(resolutions: tuple[int, ...] = (256, 1024), batch: int = 1, threads: int = 1, repeats: int = 3,
            device: str = "cpu") -> dict:
    """Median seconds per image of fused fp32 synthesis at each resolution (batch ``batch``), with the load."""
    import os

    torch.set_num_threads(threads)
    dev = torch.device(device)
    out: dict = {"device": device, "threads": threads, "batch": batch, "repeats": repeats, "cores": os.cpu_count(),
                 "torch": torch.__version__, "seconds_per_image": {}, "params_millions": {}}
    for res in resolutions:
        net = build(res, dev)
        z = torch.randn(batch, 512, generator=torch.Generator().manual_seed(batch)).to(dev)
        with torch.no_grad():
            ws = net.mapping(z)[:, None].repeat(1, net.cfg.num_ws, 1)
            out["seconds_per_image"][str(res)] = round(timed(lambda: net.synthesis(ws, fused=True), dev, repeats)
                                                       / batch, 3)
        out["params_millions"][str(res)] = round(sum(p.numel() for p in net.parameters()) / 1e6, 1)
    out["load_average"] = round(os.getloadavg()[0], 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--resolutions", type=int, nargs="+", default=[256, 1024])
    ap.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2, help="CPU threads (torch.set_num_threads)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {args.threads} threads"
    print(f"device: {name}; torch {torch.__version__}")
    print(f"{'res':>5} {'batch':>5} {'params':>8} {'fp32 ms':>9} {'ms/img':>8} {'nonfused/fused':>15}"
          + (f" {'half ms':>9} {'half/fp32':>9}" if device.type == "cuda" else ""))
    for res in args.resolutions:
        net = build(res, device)
        params = sum(p.numel() for p in net.parameters()) / 1e6
        for batch in args.batches:
            gen = torch.Generator().manual_seed(batch)
            z = torch.randn(batch, 512, generator=gen).to(device)
            with torch.no_grad():
                ws = net.mapping(z)[:, None].repeat(1, net.cfg.num_ws, 1)
                fused = timed(lambda: net.synthesis(ws, fused=True), device, args.repeats)
                unfused = timed(lambda: net.synthesis(ws, fused=False), device, args.repeats)
                line = (f"{res:>5} {batch:>5} {params:>7.1f}M {fused * 1e3:>9.1f} {fused * 1e3 / batch:>8.1f} "
                        f"{unfused / fused:>15.2f}")
                if device.type == "cuda":
                    half = timed(lambda: net.synthesis(ws, half=True), device, args.repeats)
                    line += f" {half * 1e3:>9.1f} {half / fused:>9.2f}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
