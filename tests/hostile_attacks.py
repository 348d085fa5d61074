"""The attack matrix of the hostile-file corpus (issue 13 item 2): every loader that reads user bytes
against the ways a file can try to run code, exhaust memory or crash the reader.

Each attack writes one file whose payload, if it ever ran, would create ``<file>.ran`` (the corpus
test checks it does not). :data:`ATTACK_CASES` crosses attacks with the loaders that read that kind
of file; :mod:`hostile_weights` appends them to its corpus, so they run through ``sgfkit run`` too.
"""
from __future__ import annotations

import io
import json
import random
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import torch

from hostile_weights import (Case, anime_keypoints, array_opcodes, caffemodel_with_blob_dims, embedded_faces,
                             face_head, flower_caption, frag, glob, i2v_model, i2v_tags, progan, stream, stylegan2,
                             tiny_stylegan2, vggface2)

Writer = Callable[[Path], None]


def _ran(path: Path) -> str:
    return f"touch {path}.ran"


# -- pickle opcodes that try to escape -------------------------------------------------------
def os_system(path: Path) -> bytes:
    """REDUCE to ``os.system`` (and ``posix.system``, its pickled name on Linux)."""
    return glob("posix", "system") + frag(_ran(path)) + b"\x85R"


def subprocess_call(path: Path) -> bytes:
    return glob("subprocess", "check_call") + frag(["sh", "-c", _ran(path)]) + b"\x85R"


def getattr_chain(path: Path) -> bytes:
    """``getattr(__import__('os'), 'system')(cmd)``: builtins reached through a getattr chain."""
    return (glob("builtins", "getattr") + b"(" + glob("builtins", "__import__") + frag("os") + b"\x85R"
            + frag("system") + b"tR" + frag(_ran(path)) + b"\x85R")


def reconstruct_foreign_class(path: Path) -> bytes:
    """numpy's allowed ``_reconstruct`` asked to build a foreign class (``subprocess.Popen``)."""
    return (glob("numpy.core.multiarray", "_reconstruct") + b"(" + glob("subprocess", "Popen")
            + frag((0,)) + frag(b"b") + b"tR" + frag(["sh", "-c", _ran(path)]) + b"b")


def _legacy_torch_payload(path: Path) -> bytes:
    buffer = io.BytesIO()
    torch.save({"x": _Shell(_ran(path))}, buffer, _use_new_zipfile_serialization=False)
    return buffer.getvalue()


def load_from_bytes(path: Path) -> bytes:
    """``torch.storage._load_from_bytes`` on a nested legacy torch file that carries a payload."""
    return glob("torch.storage", "_load_from_bytes") + frag(_legacy_torch_payload(path)) + b"\x85R"


def build_on_global(path: Path) -> bytes:
    """BUILD (``__setstate__`` / ``__dict__`` update) on an allow-listed class object itself."""
    return glob("collections", "OrderedDict") + frag({"__repr__": "x"}) + b"b"


def build_on_allowed_instance(path: Path) -> bytes:
    """BUILD with slot state that would set an allowed instance's ``__class__``."""
    return glob("collections", "OrderedDict") + b")R" + frag((None, {"__class__": "posix.system"})) + b"b"


def terabyte_array(path: Path) -> bytes:
    """A float array declaring 2^40 elements (4 TiB) over 8 bytes."""
    return array_opcodes("f4", (1 << 40,), b"\x00" * 8)


def deep_lists(path: Path) -> bytes:
    """Lists nested 200,000 deep (built iteratively by pickle; anything recursive over them dies)."""
    depth = 200_000
    return b"(" * depth + b"]" + b"l" * depth


def pickle_file(opcodes: Callable[[Path], bytes]) -> Writer:
    """A pickle of ``{'w': <payload>}``: the shape the dict-reading loaders reach first."""
    return lambda path: path.write_bytes(stream(b"}" + frag("w") + opcodes(path) + b"s"))


PICKLE_ATTACKS: dict[str, Callable[[Path], bytes]] = {
    "os-system": os_system, "subprocess": subprocess_call, "getattr-chain": getattr_chain,
    "reconstruct-foreign-class": reconstruct_foreign_class, "load-from-bytes": load_from_bytes,
    "build-on-global": build_on_global, "build-on-allowed-instance": build_on_allowed_instance,
    "terabyte-array": terabyte_array, "deep-nesting": deep_lists,
}


# -- torch zip archives --------------------------------------------------------------------------
def torch_zip(path: Path, data_pkl: bytes, storages: dict[str, bytes]) -> None:
    """A torch zip archive (stored members, as torch writes them) around a hand-made ``data.pkl``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("archive/data.pkl", data_pkl)
        zf.writestr("archive/byteorder", "little")
        for key, raw in storages.items():
            zf.writestr(f"archive/data/{key}", raw)
        zf.writestr("archive/version", "3\n")


def crafted_storage_tensor(numel: int, size: tuple[int, ...], stride: tuple[int, ...]) -> bytes:
    """``_rebuild_tensor_v2`` over storage '0' declared with ``numel`` float elements."""
    storage = b"(" + frag("storage") + glob("torch", "FloatStorage") + frag("0") + frag("cpu") + frag(numel) + b"tQ"
    return (glob("torch._utils", "_rebuild_tensor_v2") + b"(" + storage + frag(0) + frag(size) + frag(stride)
            + frag(False) + glob("collections", "OrderedDict") + b")R" + b"tR")


def zip_payload(path: Path) -> None:
    """A genuine torch zip archive whose data.pkl reduces to ``os.system``."""
    torch.save({"x": _Shell(_ran(path))}, path)


def zip_load_from_bytes(path: Path) -> None:
    torch_zip(path, stream(b"}" + frag("x") + load_from_bytes(path) + b"s"), {})


def zip_terabyte_storage(path: Path) -> None:
    """Storage '0' declared with 2^40 floats; the archive holds 4 bytes of it."""
    tensor = crafted_storage_tensor(1 << 40, (1 << 40,), (1,))
    torch_zip(path, stream(b"}" + frag("x") + tensor + b"s"), {"0": b"\x00" * 4})


def zip_negative_size(path: Path) -> None:
    tensor = crafted_storage_tensor(1, (-4,), (1,))
    torch_zip(path, stream(b"}" + frag("x") + tensor + b"s"), {"0": b"\x00" * 4})


def zip_deep_nesting(path: Path) -> None:
    torch_zip(path, stream(b"}" + frag("x") + deep_lists(path) + b"s"), {})


def truncated(write: Writer) -> Writer:
    """``write`` a genuine file, then keep only its first half (a broken download)."""
    def make(path: Path) -> None:
        write(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    return make


def random_bytes(path: Path) -> None:
    path.write_bytes(random.Random(path.name).randbytes(4096))


def genuine_state_dict(path: Path) -> None:
    net, _kwargs = tiny_stylegan2()
    torch.save(net.state_dict(), path)


ZIP_ATTACKS: dict[str, Writer] = {
    "zip-payload": zip_payload, "zip-load-from-bytes": zip_load_from_bytes,
    "zip-terabyte-storage": zip_terabyte_storage, "zip-negative-size": zip_negative_size,
    "zip-deep-nesting": zip_deep_nesting, "zip-truncated": truncated(genuine_state_dict),
    "random-bytes": random_bytes,
}


# -- safetensors ---------------------------------------------------------------------------------
def safetensors_raw(path: Path, header: bytes, body: bytes, declared_len: int | None = None) -> None:
    length = len(header) if declared_len is None else declared_len
    path.write_bytes(struct.pack("<Q", length) + header + body)


def st_header_length_lies(path: Path) -> None:
    """The 8-byte header length claims 2^60 bytes."""
    safetensors_raw(path, b'{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', b"\x00" * 4, 1 << 60)


def st_offsets_past_end(path: Path) -> None:
    """A 1M x 1M float tensor (4 TiB) whose offsets point far past the 16 bytes present."""
    header = json.dumps({"x": {"dtype": "F32", "shape": [1 << 20, 1 << 20], "data_offsets": [0, 4 << 40]}})
    safetensors_raw(path, header.encode(), b"\x00" * 16)


def st_shape_mismatch(path: Path) -> None:
    """The shape claims 2^40 elements; the offsets cover 16 bytes."""
    header = json.dumps({"x": {"dtype": "F32", "shape": [1 << 40], "data_offsets": [0, 16]}})
    safetensors_raw(path, header.encode(), b"\x00" * 16)


def st_deep_header(path: Path) -> None:
    depth = 100_000
    safetensors_raw(path, b'{"x":' + b"[" * depth + b"]" * depth + b"}", b"")


def genuine_safetensors(path: Path) -> None:
    from safetensors.torch import save_file

    net, _kwargs = tiny_stylegan2()
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))


SAFETENSORS_ATTACKS: dict[str, Writer] = {
    "st-header-length-lies": st_header_length_lies, "st-offsets-past-end": st_offsets_past_end,
    "st-shape-mismatch": st_shape_mismatch, "st-deep-header": st_deep_header,
    "st-truncated": truncated(genuine_safetensors), "random-bytes": random_bytes,
}


# -- .npz ------------------------------------------------------------------------------------------
def npz_member(path: Path, header: dict, body: bytes) -> None:
    from numpy.lib import format as npy_format

    buffer = io.BytesIO()
    npy_format.write_array_header_1_0(buffer, header)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("x.npy", buffer.getvalue() + body)


def npz_object_array(path: Path) -> None:
    """An object array: numpy would unpickle its body (a payload) if allowed to."""
    npz_member(path, {"descr": "|O", "fortran_order": False, "shape": (1,)},
               stream(b"]" + os_system(path) + b"a"))


def npz_terabyte(path: Path) -> None:
    npz_member(path, {"descr": "<f4", "fortran_order": False, "shape": (1 << 20, 1 << 20)}, b"\x00" * 16)


def npz_bomb(path: Path) -> None:
    """A deflated member that inflates 1000-fold."""
    from numpy.lib import format as npy_format

    buffer = io.BytesIO()
    npy_format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False, "shape": (256 << 20,)})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("x.npy", "w", force_zip64=True) as member:
            member.write(buffer.getvalue())
            chunk = b"\x00" * (1 << 20)
            for _ in range(1024):
                member.write(chunk)


NPZ_ATTACKS: dict[str, Writer] = {
    "npz-object-array": npz_object_array, "npz-terabyte": npz_terabyte, "npz-bomb": npz_bomb,
    "random-bytes": random_bytes,
}


def show_attend_tell(path: Path) -> dict:
    word_map = path.with_name("WORDMAP.json")
    word_map.write_text('{"<pad>": 0, "<unk>": 1, "<start>": 2, "<end>": 3}')
    return {"type": "show-attend-tell", "checkpoint": str(path), "word_map": str(word_map)}


def sat_legacy_payload(opcodes: Callable[[Path], bytes]) -> Writer:
    """A legacy torch file (magic number, protocol, sys info) whose object pickle is hostile."""
    def make(path: Path) -> None:
        magic = stream(frag(0x1950A86A20F9469CFC6C))
        protocol = stream(frag(1001))
        sys_info = stream(frag({"protocol_version": 1001, "little_endian": True,
                                "type_sizes": {"short": 2, "int": 4, "long": 4}}))
        body = stream(b"}" + frag("encoder") + opcodes(path) + b"s")
        path.write_bytes(magic + protocol + sys_info + body + stream(frag([])))
    return make


#: what the one-line error must say for each attack (the refusal is for the reason the attack tries);
#: deep nesting only has to end in any sgfkit error: it attacks the reader, not a check
EXPECT: dict[str, str] = {
    "os-system": r"posix\.system", "subprocess": r"subprocess\.check_call", "getattr-chain": r"builtins\.getattr",
    "reconstruct-foreign-class": r"subprocess\.Popen", "load-from-bytes": r"_load_from_bytes|posix\.system",
    "build-on-global": r"refused BUILD on a type", "build-on-allowed-instance": r"'__class__'",
    "terabyte-array": r"declares shape \(1099511627776,\)|refused to load 'numpy", "deep-nesting": "",
    "random-bytes": r"not a (checkpoint format|readable|valid)|header too large|cannot read",
    "truncated": r"truncated|incomplete|claims \d+ bytes but only", "zip-payload": r"posix\.system",
    "zip-load-from-bytes": r"_load_from_bytes", "zip-terabyte-storage": r"4398046511104",
    "zip-negative-size": r"overflow|invalid shape", "zip-deep-nesting": "", "zip-truncated": r"damaged zip",
    "st-header-length-lies": r"header too large|first bytes", "st-offsets-past-end": r"not fully covered",
    "st-shape-mismatch": r"invalid shape", "st-deep-header": r"recursion limit",
    "st-truncated": r"not fully covered", "npz-object-array": r"holds Python objects",
    "npz-terabyte": r"declares shape \(1048576, 1048576\)", "npz-bomb": r"decompression bomb",
    "not-a-list": r"not a JSON list",
}


def _case(loader: str, attack: str, suffix: str, write: Writer, section: Callable[[Path], dict], role: str) -> Case:
    return Case(f"{loader}-{attack}", suffix, write, section, EXPECT[attack], role)


def _cases() -> list[Case]:
    cases: list[Case] = []
    pickle_loaders = [("nvlabs", ".pkl", stylegan2, "generator"), ("vggface2", ".pkl", vggface2, "encoder")]
    for loader, suffix, section, role in pickle_loaders:
        for attack, opcodes in PICKLE_ATTACKS.items():
            cases.append(_case(loader, attack, suffix, pickle_file(opcodes), section, role))
        cases.append(_case(loader, "random-bytes", suffix, random_bytes, section, role))
    cases.append(_case("nvlabs", "truncated", ".pkl", truncated(_genuine_nvlabs), stylegan2, "generator"))
    for attack in ("os-system", "getattr-chain", "load-from-bytes", "build-on-allowed-instance", "terabyte-array",
                   "deep-nesting"):
        cases.append(_case("show-attend-tell", attack, ".pth.tar", sat_legacy_payload(PICKLE_ATTACKS[attack]),
                           show_attend_tell, "encoder"))
    zip_loaders = [("rosinality", ".pt", stylegan2, "generator"), ("ganzoo", ".pth", progan, "generator"),
                   ("face-head", ".pt", face_head, "encoder"), ("show-attend-tell", ".pth.tar", show_attend_tell,
                                                                "encoder")]
    for loader, suffix, section, role in zip_loaders:
        for attack, write in ZIP_ATTACKS.items():
            cases.append(_case(loader, attack, suffix, write, section, role))
    st_loaders = [("stylegan2-st", ".safetensors", stylegan2, "generator"),
                  ("embedded-faces", ".safetensors", embedded_faces, "encoder"),
                  ("face-head-st", ".safetensors", face_head, "encoder"),
                  ("anime-keypoints", ".safetensors", anime_keypoints, "encoder"),
                  ("flower-caption", ".safetensors", flower_caption, "encoder")]
    for loader, suffix, section, role in st_loaders:
        for attack, write in SAFETENSORS_ATTACKS.items():
            cases.append(_case(loader, attack, suffix, write, section, role))
    for attack, write in NPZ_ATTACKS.items():
        cases.append(_case("stylegan2-npz", attack, ".npz", write, stylegan2, "generator"))
    cases.append(_case("caffemodel", "random-bytes", ".caffemodel", random_bytes, i2v_model, "encoder"))
    cases.append(_case("caffemodel", "truncated", ".caffemodel",
                       truncated(lambda p: caffemodel_with_blob_dims(p, [1, 1, 2, 2])), i2v_model, "encoder"))
    cases.append(_case("tag-list", "random-bytes", ".json", random_bytes, i2v_tags, "encoder"))
    cases.append(_case("tag-list", "not-a-list", ".json", lambda p: p.write_text('{"a": {"b": 1}}'), i2v_tags,
                       "encoder"))
    return cases


def _genuine_nvlabs(path: Path) -> None:
    from hostile_weights import nvlabs_snapshot

    nvlabs_snapshot(path)


class _Shell:
    """Pickles as a call to ``os.system``: proof of code execution if it ever runs."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        import os

        return os.system, (self.command,)


ATTACK_CASES: list[Case] = _cases()
