"""A corpus of malformed and hostile weight files, one per way a loader can be led astray.

Each case writes one file and names the recipe section that loads it; :func:`run_case` runs
``sgfkit run`` on a recipe around it (in-process, through click) and reports the exit code, whether
the CLI handled the error itself, and the output. ``tests/test_hostile_corpus.py`` runs the whole
corpus in one subprocess with a capped address space and checks every case ends in exit 1 with a
one-paragraph sgfkit error and no traceback.
"""
from __future__ import annotations

import gzip
import json
import pickle
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

TESTS = Path(__file__).resolve().parent


# -- crafting helpers ---------------------------------------------------------------------------
def glob(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def frag(obj: Any) -> bytes:
    """Opcodes that push ``obj`` (plain data), without the protocol header and STOP."""
    return pickle.dumps(obj, protocol=2)[2:-1]


def stream(*parts: bytes) -> bytes:
    return b"\x80\x02" + b"".join(parts) + b"."


def array_opcodes(dtype: str, shape: tuple, raw: bytes) -> bytes:
    """``numpy._reconstruct`` + BUILD with an explicit dtype, shape and raw bytes."""
    dtype_ops = glob("numpy", "dtype") + frag((dtype, False, True)) + b"R" + frag(
        (3, "|", None, None, None, -1, -1, 0)) + b"b"
    return (glob("numpy.core.multiarray", "_reconstruct") + b"(" + glob("numpy", "ndarray") + frag((0,)) + frag(b"b")
            + b"tR" + b"(" + frag(1) + frag(shape) + dtype_ops + frag(False) + frag(raw) + b"tb")


def tiny_stylegan2() -> tuple[Any, dict[str, Any]]:
    from sgfkit_stylegan2.networks import StyleGAN2Config, channels_from_base, random_network

    cfg = StyleGAN2Config(z_dim=8, w_dim=8, resolution=8, channels=channels_from_base(64, 8, 8), mapping_layers=2)
    kwargs = dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=8, img_channels=3, mapping_kwargs=dict(num_layers=2),
                  synthesis_kwargs=dict(channel_base=64, channel_max=8))
    return random_network(cfg, seed=0), kwargs


def nvlabs_snapshot(path: Path, **changes: Any) -> None:
    """A genuine tiny NVlabs snapshot whose Generator constructor kwargs are changed by ``changes``."""
    from nvlabs_snapshots import write_snapshot

    net, kwargs = tiny_stylegan2()
    kwargs.update(changes)
    write_snapshot(path, net, kwargs, "class Generator: pass\n")


def tf_snapshot(path: Path, variables: Any) -> None:
    """A TensorFlow-era (G, D, Gs) tuple whose Gs holds ``variables`` (pushed as plain data)."""
    state = b"}" + b"(" + frag("version") + frag(4) + frag("name") + frag("Gs") + frag("static_kwargs") + b"}" + \
        frag("components") + b"}" + frag("variables") + variables + b"u"
    network = glob("dnnlib.tflib.network", "Network") + b")\x81" + state + b"b"
    path.write_bytes(stream(b"N" + b"N" + network + b"\x87"))


def stride0_state_dict(path: Path, key: str, shape: tuple[int, ...]) -> None:
    """A zip torch file whose ``key`` is a one-element storage viewed with stride 0 as ``shape``."""
    torch.save({key: torch.zeros(1).expand(*shape)}, path)


def safetensors_with_config(path: Path, meta_key: str, meta: Any, tensors: dict[str, torch.Tensor] | None = None,
                            raw_meta: str | None = None, other: dict[str, str] | None = None) -> None:
    from safetensors.torch import save_file

    text = raw_meta if raw_meta is not None else json.dumps(meta)
    save_file(tensors or {"x": torch.zeros(2)}, str(path), metadata={meta_key: text, **(other or {})})


def caffemodel_with_blob_dims(path: Path, dims: list[int]) -> None:
    sys.path.insert(0, str(TESTS))
    from test_anime_illustration2vec import field_bytes, field_str, varint

    blob = field_bytes(7, field_bytes(1, b"".join(varint(d) for d in dims))) + field_bytes(5, b"\x00" * 16)
    layer = field_str(1, "conv1_1") + field_str(2, "Convolution") + field_str(4, "conv1_1") + field_bytes(7, blob)
    path.write_bytes(field_str(1, "tiny") + field_bytes(100, layer))


def deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


# -- the corpus ---------------------------------------------------------------------------------
@dataclass
class Case:
    """One hostile file: ``write(path)`` makes it; ``section(path)`` is the recipe section that loads it."""

    id: str
    suffix: str
    write: Callable[[Path], None]
    section: Callable[[Path], dict[str, Any]]
    expect: str            # a fragment the one-line error must contain
    role: str = "generator"


def stylegan2(path: Path) -> dict[str, Any]:
    return {"type": "stylegan2", "checkpoint": str(path)}


def progan(path: Path) -> dict[str, Any]:
    return {"type": "progan", "checkpoint": str(path)}


def face_head(path: Path) -> dict[str, Any]:
    backbone = path.with_name("senet50.pkl")  # must exist; the head is read (and refused) first
    backbone.write_bytes(b"")
    return {"type": "face-attributes", "config": "senet50", "weights": str(backbone), "head": str(path)}


def _stride0_head(path: Path) -> None:
    torch.save({"state_dict": {"layers.0.weight": torch.zeros(1).expand(1 << 20, 1 << 20),
                               "layers.0.bias": torch.zeros(1).expand(1 << 20)},
                "attribute_names": ["smile"]}, path)


def vggface2(path: Path) -> dict[str, Any]:
    from sgfkit_face_attributes.checkpoints import save_head
    from sgfkit_face_attributes.senet import AttributeHead

    head = path.with_name("head.safetensors")  # a genuine head: the backbone file is the hostile one
    save_head(head, AttributeHead([2048, 1]), ["smile"])
    return {"type": "face-attributes", "config": "senet50", "weights": str(path), "head": str(head)}


def embedded_faces(path: Path) -> dict[str, Any]:
    return {"type": "face-attributes", "weights": str(path)}


def anime_keypoints(path: Path) -> dict[str, Any]:
    return {"type": "anime-keypoints", "weights": str(path)}


def flower_caption(path: Path) -> dict[str, Any]:
    return {"type": "flower-caption", "weights": str(path)}


def i2v_model(path: Path) -> dict[str, Any]:
    tags = path.with_name("tag_list.json")
    tags.write_text('["1girl", "smile"]')
    return {"type": "illustration2vec", "weights": str(path), "tag_list": str(tags)}


def i2v_tags(path: Path) -> dict[str, Any]:
    model = path.with_name("model.caffemodel")  # must exist; the tag list is read (and refused) first
    model.write_bytes(b"")
    return {"type": "illustration2vec", "weights": str(model), "tag_list": str(path)}


def _write(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def _nested_keys_pickle(depth: int) -> bytes:
    key = frag(()) + b"\x85" * depth  # a tuple nested `depth` deep: hashing it recurses
    return stream(b"}" + key + array_opcodes("f4", (1,), b"\x00" * 4) + b"s")


def _huge_sizes(path: Path) -> None:
    nvlabs_snapshot(path, z_dim=1 << 30, w_dim=1 << 30)


SENET_SMALL = {"layers": [1, 1, 1, 1], "widths": [16, 32, 64, 128], "stem_width": 16, "reduction": 8,
               "stem_pool": False}

CASES: list[Case] = [
    Case("vggface2-codecs-encoding", ".pkl",
         _write(stream(b"}" + frag("w") + glob("_codecs", "encode") + frag(("abc", "..os")) + b"R" + b"s")),
         vggface2, "latin-1", "encoder"),
    Case("vggface2-object-array-2^31", ".pkl",
         _write(stream(b"}" + frag("w") + array_opcodes("O8", (1 << 31,), b"") + b"s")),
         vggface2, "refused the numpy dtype", "encoder"),
    Case("vggface2-deeply-nested-keys", ".pkl", _write(_nested_keys_pickle(200_000)), vggface2, "nests", "encoder"),
    Case("nvlabs-huge-constructor-sizes", ".pkl", _huge_sizes, stylegan2, "weights but the file holds"),
    Case("nvlabs-resolution-0", ".pkl", lambda p: nvlabs_snapshot(p, img_resolution=0), stylegan2, "malformed"),
    Case("nvlabs-resolution-text", ".pkl", lambda p: nvlabs_snapshot(p, img_resolution="x"), stylegan2, "malformed"),
    Case("nvlabs-z-dim-none", ".pkl", lambda p: nvlabs_snapshot(p, z_dim=None), stylegan2, "malformed"),
    Case("nvlabs-mapping-kwargs-int", ".pkl", lambda p: nvlabs_snapshot(p, mapping_kwargs=7), stylegan2, "malformed"),
    Case("tf-malformed-variable-list", ".pkl", lambda p: tf_snapshot(p, frag([1, 2, 3])), stylegan2, "malformed"),
    Case("tf-malformed-kernel", ".pkl",
         lambda p: tf_snapshot(p, b"(" + b"(" + frag("G_mapping/Dense0/weight") + array_opcodes("f4", (3,), b"\x00" * 12)
                               + b"t" + b"l"), stylegan2, "malformed"),
    Case("stylegan2-state-dict-stride-0", ".pt",
         lambda p: stride0_state_dict(p, "mapping.fc0.weight", (1 << 20, 1 << 20)), stylegan2, "views"),
    Case("progan-state-dict-stride-0", ".pth",
         lambda p: stride0_state_dict(p, "layer0.conv.weight", (1 << 16, 1 << 16, 3, 3)), progan, "views"),
    Case("face-head-stride-0", ".pt", _stride0_head, face_head, "views", "encoder"),
    Case("embedded-faces-huge-config", ".safetensors",
         lambda p: safetensors_with_config(p, "config", {**SENET_SMALL, "widths": [1 << 20] * 4},
                                           other={"attribute_names": '["smile"]', "input_size": "64"}),
         embedded_faces, "weights but the file holds", "encoder"),
    Case("embedded-faces-unknown-config-keys", ".safetensors",
         lambda p: safetensors_with_config(p, "config", {**SENET_SMALL, "exec": "rm -rf /"},
                                           other={"attribute_names": '["smile"]', "input_size": "64"}),
         embedded_faces, "unknown keys", "encoder"),
    Case("embedded-faces-deeply-nested-config", ".safetensors",
         lambda p: safetensors_with_config(p, "config", None, raw_meta=deep_json(100_000),
                                           other={"attribute_names": '["smile"]', "input_size": "64"}),
         embedded_faces, "nests too deeply", "encoder"),
    Case("anime-keypoints-huge-config", ".safetensors",
         lambda p: safetensors_with_config(p, "sgfkit", {"format": "sgfkit-anime-keypoints/1", "landmark_names": [],
                                                         "attribute_names": [],
                                                         "config": {"num_points": 11, "num_attributes": 2,
                                                                    "width": 1 << 20}}),
         anime_keypoints, "weights but the file holds", "encoder"),
    Case("flower-caption-huge-config", ".safetensors",
         lambda p: safetensors_with_config(p, "sgfkit", {"config": {"vocab_size": 1 << 30}, "word_map": {},
                                                         "mean": [0, 0, 0], "std": [1, 1, 1]}),
         flower_caption, "weights but the file holds", "encoder"),
    Case("caffemodel-overflowing-dims", ".caffemodel",
         lambda p: caffemodel_with_blob_dims(p, [1 << 32, 1 << 32]), i2v_model, "invalid shape|instead of", "encoder"),
    Case("caffemodel-negative-dims", ".caffemodel",
         lambda p: caffemodel_with_blob_dims(p, [-4, -1]), i2v_model, "invalid shape", "encoder"),
    Case("tag-list-deeply-nested", ".json", lambda p: p.write_text(deep_json(100_000)), i2v_tags, "nests too deeply",
         "encoder"),
    Case("tag-list-gzip-bomb", ".json.gz", lambda p: p.write_bytes(gzip.compress(b" " * (64 << 20))), i2v_tags,
         "decompression bomb", "encoder"),
    Case("progan-200000-mark-opcodes", ".pth", _write(b"\x80\x02" + b"(" * 200_000 + b"."), progan, "not a readable"),
    Case("stylegan2-unidentified-bytes", ".pt", _write(b"GIF89a\x00\x01garbage"), stylegan2, "first bytes b'GIF89a"),
    Case("stylegan2-torch-payload", ".pt",
         lambda p: torch.save({"x": _Shell(f"touch {p}.ran")}, p), stylegan2, "refused as unsafe"),
]


class _Shell:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        import os

        return os.system, (self.command,)


def recipe_for(case: Case, path: Path) -> dict[str, Any]:
    section = case.section(path)
    generator = section if case.role == "generator" else {"type": "synth-faces", "space": "w"}
    encoder = section if case.role == "encoder" else {"type": "synth-faces-truth"}
    return {"name": "hostile", "device": "cpu", "generator": generator, "encoder": encoder,
            "dataset": {"samples": 4, "batch_size": 4}, "output": {"dir": str(path.parent / "runs"),
                                                                     "cache": False}}


def run_case(case: Case, folder: Path) -> dict[str, Any]:
    """Write the file, run ``sgfkit run`` on a recipe around it; what the user would see."""
    import yaml
    from click.testing import CliRunner

    from sgfkit.cli import cli

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{case.id}{case.suffix}"
    case.write(path)
    recipe = folder / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(recipe_for(case, path)))
    result = CliRunner().invoke(cli, ["run", str(recipe), "--no-progress"])
    handled = result.exception is None or isinstance(result.exception, SystemExit)
    return {"id": case.id, "exit_code": result.exit_code, "handled": handled, "output": result.output[-3000:],
            "exception": None if handled else repr(result.exception)[:500], "ran": Path(f"{path}.ran").exists()}


def all_cases() -> list[Case]:
    """The issue-18 cases above plus the attack matrix of :mod:`hostile_attacks` (every loader)."""
    from hostile_attacks import ATTACK_CASES

    return CASES + ATTACK_CASES


def main(folder: str, only: list[str] | None = None) -> None:
    """Run every case (or those named in ``only``) in this process and print one JSON line each."""
    for case in all_cases():
        if only and case.id not in only:
            continue
        print(json.dumps(run_case(case, Path(folder) / case.id)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
