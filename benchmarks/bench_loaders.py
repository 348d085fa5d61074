"""How closely the real-model loaders reproduce the reference implementations (tests/fixtures).

    python benchmarks/bench_loaders.py

StyleGAN2 (res-32 NVlabs stylegan2-ada-pytorch fixture): max |ours - official| of the mapping with
truncation (w), of the images (every noise mode and truncation in the fixture) and of the gradient of
sum(image * R) with respect to w+; ProGAN (InterFaceGAN's res-32 fixture): max image error; the
full-size layouts (StyleGAN2 paper256 / config-f, SE-ResNet-50) against the released key lists, built
on PyTorch's meta device (no memory). The tests assert the same errors under 1e-4.
"""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import torch

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
#: truncation settings of the StyleGAN2 fixture: (psi, cutoff, ws key, image keys per noise mode)
SG2_CASES = [(1.0, None, "ws_psi1", {"const": "img_psi1_const", "none": "img_psi1_none"}),
             (0.7, None, "ws_psi0.7", {"const": "img_psi0.7_const", "none": "img_psi0.7_none"}),
             (0.5, 4, "ws_psi0.5_cutoff4", {"const": "img_psi0.5_cutoff4_const"})]


def _keylist(path: Path) -> list[tuple[str, tuple[int, ...]]]:
    out = []
    for line in path.read_text().splitlines():
        key, shape = line.split("\t")
        out.append((key, tuple(ast.literal_eval(shape))))
    return out


def _shapes(module_cls, cfg) -> list[tuple[str, tuple[int, ...]]]:
    with torch.device("meta"):
        net = module_cls(cfg)
    return [(k, tuple(v.shape)) for k, v in net.state_dict().items()]


def stylegan2_errors() -> dict[str, float]:
    """Max abs errors against the NVlabs reference outputs: mapping (w), images, gradient w.r.t. w+."""
    from sgfkit_stylegan2.generator import StyleGAN2Generator

    from sgfkit.latents import Latents

    state = str(FIXTURES / "stylegan2" / "G_ema_state_dict.npz")
    with np.load(FIXTURES / "stylegan2" / "reference_outputs.npz") as data:
        ref = {k: torch.from_numpy(np.array(data[k])) for k in data.files}
    mapping, image = 0.0, 0.0
    with torch.no_grad():
        for psi, cutoff, ws_key, images in SG2_CASES:
            g = StyleGAN2Generator(checkpoint=state, clamp=False, truncation=psi, truncation_cutoff=cutoff)
            mapping = max(mapping, float((g.to_latents(ref["z"], "w+").tensor - ref[ws_key]).abs().max()))
            for noise_mode, img_key in images.items():
                g = StyleGAN2Generator(checkpoint=state, clamp=False, noise_mode=noise_mode)
                img = g.synthesize(Latents(ref[ws_key], "w+"))
                image = max(image, float((img - ref[img_key]).abs().max()))
    g = StyleGAN2Generator(checkpoint=state, clamp=False)
    ws = ref["ws_psi1"].clone().requires_grad_(True)
    (g.synthesis(ws) * ref["grad_R"]).sum().backward()
    expected = ref["grad_ws_of_sum_img_times_R"]
    return {"mapping": mapping, "image": image, "gradient": float((ws.grad - expected).abs().max()),
            "gradient_scale": float(expected.abs().max())}


def progan_error() -> float:
    """Max abs image error against InterFaceGAN's ProGAN reference outputs."""
    from sgfkit_progan.generator import ProGANGenerator

    from sgfkit.latents import Latents

    with np.load(FIXTURES / "progan" / "reference_outputs.npz") as ref:
        gen = ProGANGenerator(checkpoint=str(FIXTURES / "progan" / "generator_state_dict.pth"), clamp=False)
        with torch.no_grad():
            img = gen.synthesize(Latents(torch.from_numpy(ref["z"]), "z"))
        return float(np.abs(img.numpy() - ref["img"]).max())


def layouts() -> dict[str, dict[str, int | bool]]:
    """Our full-size networks against the released checkpoints' key lists: keys compared, exact match."""
    from sgfkit_face_attributes.senet import SENET50, SENet
    from sgfkit_stylegan2.networks import StyleGAN2Config, StyleGAN2Network, channels_from_base

    out = {}
    ref = _keylist(FIXTURES / "face_attributes" / "vggface2_senet50.txt")
    out["senet50"] = {"keys": len(ref), "exact": _shapes(SENet, SENET50) == ref}
    for name, res, base in (("stylegan2_256_paper256", 256, 16384), ("stylegan2_1024_configf", 1024, 32768)):
        cfg = StyleGAN2Config(z_dim=512, w_dim=512, resolution=res, channels=channels_from_base(base, 512, res))
        ref = _keylist(FIXTURES / "stylegan2" / "keylists" / f"nvlabs_sg2ada_G_{res}_{name.rsplit('_', 1)[1]}.txt")
        out[name] = {"keys": len(ref), "exact": dict(_shapes(StyleGAN2Network, cfg)) == dict(ref)}
    return out


def measure() -> dict:
    torch.set_num_threads(1)
    return {"stylegan2": stylegan2_errors(), "progan": progan_error(), "layouts": layouts()}


def main() -> None:
    r = measure()
    sg = r["stylegan2"]
    print(f"StyleGAN2 vs NVlabs reference: mapping {sg['mapping']:.1e}, images {sg['image']:.1e}, "
          f"gradient {sg['gradient']:.1e} (largest gradient entry {sg['gradient_scale']:.1e})")
    print(f"ProGAN vs InterFaceGAN reference: images {r['progan']:.1e}")
    for name, m in r["layouts"].items():
        print(f"{name:<24} {m['keys']:4d} keys, exact match: {m['exact']}")


if __name__ == "__main__":
    main()
