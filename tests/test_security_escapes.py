"""Checkpoints that try to escape "no checkpoint can run code" through state, dtypes or sizes.

Each hostile file is crafted opcode by opcode (as an attacker would) and given to the real loader.
Where the attack works against the unguarded library path, a test shows that too, so the guard
tests cannot pass for want of a live payload.
"""
from __future__ import annotations

import gzip
import io
import pickle
import struct
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from sgfkit.bounded_io import bounded_gunzip, check_npz_archive
from sgfkit.errors import WeightsError
from sgfkit.safe_pickle import load_restricted, numpy_allowlist
from sgfkit.torch_files import LEGACY_MAGIC, LEGACY_PROTOCOL, load_torch_checkpoint, read_torch_bytes

from hostile_weights import frag, glob, stream

REPO = Path(__file__).resolve().parents[1]


# -- crafting (the opcode helpers are shared with the hostile-file corpus) -----------------------------
def legacy_torch_file(main_pickle: bytes, keys: list[str], storages: bytes = b"") -> bytes:
    """A legacy ``torch.save`` layout around a hand-made object pickle."""
    head = b"".join(pickle.dumps(x, protocol=2) for x in
                    (LEGACY_MAGIC, LEGACY_PROTOCOL, {"protocol_version": 1001, "little_endian": True,
                                                     "type_sizes": {"short": 2, "int": 4, "long": 4}}))
    return head + main_pickle + pickle.dumps(keys, protocol=2) + storages


def patch_payload(target_global: tuple[str, str], patch_path: Path) -> bytes:
    """A whole-module checkpoint that arms torch's legacy source check on an allow-listed callable:
    BUILD gives it ``dump_patches=True`` and ``__name__=<path>``, then a ``('module', it, file, source)``
    persistent id with a source that differs makes torch write ``<path>.patch``."""
    armed = (glob(*target_global) + b"N" + frag({"dump_patches": True, "__name__": str(patch_path)})
             + b"\x86" + b"b")  # TUPLE2 (None, slotstate), BUILD
    pid = b"(" + frag("module") + armed + frag("models.py") + frag("echo pwned  # attacker text") + b"tQ"
    return legacy_torch_file(stream(b"}" + frag("encoder") + pid + b"s"), [])


def load_in_limited_process(module: str, loader: str, path: Path, limit_gib: float = 2.0) -> tuple[int, str]:
    """Call ``module.loader(path)`` in a fresh interpreter whose address space is capped, so a resource
    attack fails fast and a crash shows as a signal. Returns (exit code, what it printed)."""
    code = textwrap.dedent(f"""
        import resource
        limit = int({limit_gib} * (1 << 30))
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        from sgfkit.errors import WeightsError
        from {module} import {loader}
        try:
            {loader}({str(path)!r})
        except WeightsError as exc:
            print("refused:", exc)
            raise SystemExit(1)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    return result.returncode, result.stdout + result.stderr[-2000:]


# -- 1. state opcodes never reach allow-listed objects ----------------------------------------------
@pytest.mark.filterwarnings("ignore::torch.serialization.SourceChangeWarning")
def test_patch_payload_is_live_against_torchs_legacy_loader(tmp_path, monkeypatch):
    """Shows the crafted file is a real attack: torch's own legacy loader writes the .patch file."""
    monkeypatch.chdir(tmp_path)
    victim = tmp_path / "victim"
    path = tmp_path / "evil.pth.tar"
    path.write_bytes(patch_payload(("torch.nn.functional", "relu"), victim))
    import torch.nn.functional as F

    name = F.relu.__name__
    try:
        torch.load(path, weights_only=False)  # noqa: S614 - demonstrating the attack on torch itself
    except Exception:  # noqa: BLE001 - torch may complain afterwards; the write already happened
        pass
    finally:
        written = Path(str(victim) + ".patch").exists()
        F.relu.__name__ = name
        F.relu.__dict__.pop("dump_patches", None)
    assert written


def test_show_attend_tell_checkpoint_cannot_write_a_patch_file(tmp_path, monkeypatch):
    from sgfkit_caption.sat_checkpoint import read_tutorial_checkpoint

    monkeypatch.chdir(tmp_path)
    victim = tmp_path / "victim"
    for target in (("collections", "OrderedDict"), ("collections", "defaultdict"), ("models", "Encoder"),
                   ("torch._utils", "_rebuild_tensor_v2"), ("torch", "FloatStorage")):
        path = tmp_path / "evil.pth.tar"
        path.write_bytes(patch_payload(target, victim))
        with pytest.raises(WeightsError, match="refused BUILD"):
            read_tutorial_checkpoint(path)
    assert not list(tmp_path.glob("*.patch"))
    assert torch._utils._rebuild_tensor_v2.__name__ == "_rebuild_tensor_v2"
    assert not hasattr(torch._utils._rebuild_tensor_v2, "dump_patches")


def test_module_persistent_id_with_a_foreign_source_is_read_without_source_checks(tmp_path, monkeypatch):
    """A genuine whole-module save whose source differs still loads: the source is never compared."""
    from sgfkit_caption.sat_checkpoint import PickledModule, read_tutorial_checkpoint

    monkeypatch.chdir(tmp_path)
    record = b"(" + frag("module") + glob("models", "Encoder") + frag("models.py") + frag("class X: pass") + b"tQ"
    built = record + b")\x81" + frag({"enc_image_size": 14}) + b"b"   # EMPTY_TUPLE NEWOBJ, BUILD
    body = b"}" + b"(" + frag("encoder") + built + frag("decoder") + record + b")\x81" + frag({}) + b"b" + b"u"
    path = tmp_path / "ok.pth.tar"
    path.write_bytes(legacy_torch_file(stream(body), []))
    data = read_tutorial_checkpoint(path)
    assert isinstance(data["encoder"], PickledModule) and data["encoder"].enc_image_size == 14
    assert not list(tmp_path.glob("*.patch"))


@pytest.mark.parametrize("opcodes, what", [
    (glob("collections", "OrderedDict") + frag("k") + frag("v") + b"s", "SETITEM"),
    (glob("collections", "OrderedDict") + b"(" + frag("k") + frag("v") + b"u", "SETITEMS"),
    (glob("numpy", "ndarray") + frag({"x": 1}) + b"b", "BUILD"),
    (frag(("a",)) + frag(1) + b"a", "APPEND"),
])
def test_state_opcodes_on_globals_or_immutables_are_refused(tmp_path, opcodes, what):
    path = tmp_path / "state.pkl"
    path.write_bytes(stream(opcodes))
    with pytest.raises(WeightsError, match=f"refused {what}"):
        load_restricted(path, numpy_allowlist())


def test_records_never_take_special_attributes(tmp_path):
    from sgfkit_caption.sat_checkpoint import tutorial_allowlist
    from sgfkit.safe_pickle import RestrictedUnpickler

    allowed = tutorial_allowlist()
    payload = stream(glob("models", "Encoder") + b")\x81" + frag({"__class__": "x", "__dict__": {}}) + b"b")
    from sgfkit_caption.sat_checkpoint import PickledModule

    with pytest.raises(WeightsError, match="special attributes"):
        RestrictedUnpickler(io.BytesIO(payload), allowed, buildable=(PickledModule,)).load()


# -- 2. numpy: plain numeric dtypes only, arrays exactly their bytes -------------------------------------
def _array(dtype_opcodes: bytes, shape: tuple, raw: bytes) -> bytes:
    """``_reconstruct(ndarray, (0,), b'b')`` then BUILD ``(1, shape, <dtype>, False, raw)``."""
    return (glob("numpy.core.multiarray", "_reconstruct") + b"(" + glob("numpy", "ndarray") + frag((0,)) + frag(b"b")
            + b"t" + b"R"
            + b"(" + frag(1) + frag(shape) + dtype_opcodes + frag(False) + frag(raw) + b"t" + b"b")


def _dtype(spec: str, state: tuple | None = None) -> bytes:
    made = glob("numpy", "dtype") + frag((spec, False, True)) + b"R"
    return made + (frag(state) + b"b" if state is not None else b"")


OVERLAP_STATE = (3, "|", None, ("ptr", "num"), {"ptr": (np.dtype("<i8"), 0), "num": (np.dtype("<i8"), 0)}, 8, 8, 0)


@pytest.mark.parametrize("dtype_opcodes, message", [
    (_dtype("V8"), "refused the numpy dtype"),                       # void / structured base
    (_dtype("O8"), "refused the numpy dtype"),                       # object pointers
    (_dtype("f8", OVERLAP_STATE), "fields, sub-arrays"),            # fields given to a plain dtype by BUILD
    (_dtype("f8", (3, "<", None, None, None, 64, 8, 0)), "fields, sub-arrays"),  # a size of its own
])
def test_vggface2_pickle_with_crafted_dtypes_is_refused(tmp_path, dtype_opcodes, message):
    from sgfkit_face_attributes.checkpoints import read_vggface2_pkl

    path = tmp_path / "senet50_ft_weight.pkl"
    path.write_bytes(stream(b"}" + frag("conv1.weight") + _array(dtype_opcodes, (1,), b"\x00" * 8) + b"s"))
    with pytest.raises(WeightsError, match=message):
        read_vggface2_pkl(path)


#: an object field laid over an int field, with the has-object flag cleared so numpy takes raw bytes
OBJECT_OVER_INT = (3, "|", None, ("obj", "addr"), {"obj": (np.dtype("O"), 0), "addr": (np.dtype("<i8"), 0)}, 8, 8, 0)


def _pointer_forging_weights() -> bytes:
    """A VGGFace2-style weights dict whose one array forges the object pointer 0x4141."""
    return stream(b"}" + frag("conv1.weight") + _array(_dtype("V8", OBJECT_OVER_INT), (1,), struct.pack("<q", 0x4141))
                  + b"s")


def test_pointer_forging_payload_crashes_plain_numpy(tmp_path):
    """Shows the dtype payload is live: plain unpickling dereferences the forged pointer (SIGSEGV)."""
    code = ("import pickle, resource\n"
            "resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file from the crash\n"
            f"obj = pickle.loads({_pointer_forging_weights()!r}, encoding='latin1')\n"
            "print(repr(obj['conv1.weight']['obj']))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120, cwd=tmp_path)
    assert result.returncode < 0, result  # killed by a signal, not an exception


def test_pointer_forging_dtype_is_refused_and_the_process_survives(tmp_path):
    path = tmp_path / "senet50_ft_weight.pkl"
    path.write_bytes(_pointer_forging_weights())
    code, output = load_in_limited_process("sgfkit_face_attributes.checkpoints", "read_vggface2_pkl", path)
    assert code == 1 and "refused: " in output and "dtype" in output, output


@pytest.mark.parametrize("shape, raw", [((4,), b"\x00" * 8), ((2 ** 40,), b"\x00" * 8), ((-1,), b"\x00" * 4)])
def test_array_bytes_must_match_the_declared_shape(tmp_path, shape, raw):
    path = tmp_path / "weights.pkl"
    path.write_bytes(stream(b"}" + frag("w") + _array(_dtype("f8"), shape, raw) + b"s"))
    with pytest.raises(WeightsError, match="shape"):
        load_restricted(path, numpy_allowlist())


def test_reconstruct_with_a_foreign_class_and_codecs_tricks_are_refused(tmp_path):
    path = tmp_path / "weights.pkl"
    path.write_bytes(stream(glob("numpy.core.multiarray", "_reconstruct") + b"(" + glob("collections", "OrderedDict")
                            + frag((0,)) + frag(b"b") + b"t" + b"R"))
    with pytest.raises(WeightsError, match="only plain numpy.ndarray"):
        load_restricted(path, numpy_allowlist())
    path.write_bytes(stream(glob("_codecs", "encode") + frag(("abc", "..os")) + b"R"))
    with pytest.raises(WeightsError, match="latin-1"):
        load_restricted(path, numpy_allowlist())


def test_genuine_numpy_pickles_still_load(tmp_path):
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1, 2], dtype=">i4"),
              "c": np.asfortranarray(np.ones((2, 3))), "s": np.float64(2.5)}
    path = tmp_path / "ok.pkl"
    path.write_bytes(pickle.dumps(arrays, protocol=2))
    loaded = load_restricted(path, numpy_allowlist())
    for key, value in arrays.items():
        assert np.array_equal(loaded[key], value) and loaded[key].dtype.newbyteorder("=") == value.dtype.newbyteorder("=")
    assert np.dtype("f4").byteorder == "="  # numpy's shared dtypes were never touched


def test_nvlabs_protocol5_array_with_object_dtype_is_refused(tmp_path):
    from sgfkit_stylegan2.nvlabs_pickle import read_network_pickle

    path = tmp_path / "net.pkl"
    body = (glob("numpy.core.numeric", "_frombuffer") + b"(" + frag(b"\x00" * 8) + _dtype("f8", OVERLAP_STATE)
            + frag((1,)) + frag("C") + b"t" + b"R")
    path.write_bytes(stream(b"}" + frag("G_ema") + body + b"s"))
    with pytest.raises(WeightsError, match="fields, sub-arrays"):
        read_network_pickle(path)


# -- 3. sizes are checked against the bytes present ---------------------------------------------------
def _huge_storage_blob(numel: int) -> bytes:
    """A legacy torch file of one FloatStorage that claims ``numel`` elements and holds none."""
    pid = b"(" + frag("storage") + glob("torch", "FloatStorage") + frag("0") + frag("cpu") + frag(numel) + b"Nt" + b"Q"
    return legacy_torch_file(stream(pid), ["0"], struct.pack("<q", numel))


def test_tiny_nvlabs_pickle_cannot_claim_gigabytes(tmp_path):
    blob = _huge_storage_blob(1_500_000_000)  # 6 GB of float32
    path = tmp_path / "tiny.pkl"
    tensor = (glob("torch._utils", "_rebuild_tensor_v2") + b"(" + glob("torch.storage", "_load_from_bytes")
              + b"(" + frag(blob) + b"tR" + frag(0) + frag((1_500_000_000,)) + frag((1,)) + frag(False)
              + glob("collections", "OrderedDict") + b")R" + b"tR")
    path.write_bytes(stream(b"}" + frag("G_ema") + tensor + b"s"))
    assert path.stat().st_size < 1024
    code, output = load_in_limited_process("sgfkit_stylegan2.nvlabs_pickle", "read_network_pickle", path)
    assert code == 1 and "more tensor data than it holds" in output, output


def test_legacy_state_dict_cannot_claim_more_than_it_holds(tmp_path):
    path = tmp_path / "head.pt"
    path.write_bytes(_huge_storage_blob(2_000_000_000))
    with pytest.raises(WeightsError, match="more tensor data than it holds"):
        load_torch_checkpoint(path)


def test_tensor_views_must_fit_their_storage(tmp_path):
    def tensor(size, stride, offset=0):
        pid = b"(" + frag("storage") + glob("torch", "FloatStorage") + frag("0") + frag("cpu") + frag(4) + b"Nt" + b"Q"
        return (glob("torch._utils", "_rebuild_tensor_v2") + b"(" + pid + frag(offset) + frag(size) + frag(stride)
                + frag(False) + glob("collections", "OrderedDict") + b")R" + b"tR")

    data = struct.pack("<q", 4) + struct.pack("<4f", 1, 2, 3, 4)
    ok = legacy_torch_file(stream(tensor((2, 2), (2, 1))), ["0"], data)
    assert torch.equal(read_torch_bytes(ok, source="ok"), torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    for size, stride, offset in (((2 ** 40,), (0,), 0), ((3,), (1,), 2), ((2, 2), (4, 1), 0), ((1,), (1,), -1)):
        bad = legacy_torch_file(stream(tensor(size, stride, offset)), ["0"], data)
        with pytest.raises(WeightsError):
            read_torch_bytes(bad, source="bad")


def test_compressed_torch_archive_is_refused_before_inflating(tmp_path):
    buf = io.BytesIO()
    torch.save({"w": torch.zeros(4)}, buf)
    path = tmp_path / "bomb.pt"
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info), compress_type=zipfile.ZIP_DEFLATED)
        dst.writestr("archive/data/bomb", b"\x00" * (64 << 20), compress_type=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 1 << 20
    with pytest.raises(WeightsError, match="compressed"):
        load_torch_checkpoint(path)


def test_npz_arrays_cannot_claim_more_than_their_members(tmp_path):
    path = tmp_path / "weights.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10 ** 10,)})
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("w.npy", b"\x93NUMPY\x01\x00" + header.getvalue()[8:] + b"\x00" * 16)
    with pytest.raises(WeightsError, match="declares shape"):
        check_npz_archive(path)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("w.npy", b"\x00" * (256 << 20), compress_type=zipfile.ZIP_DEFLATED)
    with pytest.raises(WeightsError, match="decompression bomb"):
        check_npz_archive(path)
    np.savez(path, w=np.ones(3))
    check_npz_archive(path)


def test_gzip_tag_list_bomb_is_bounded(tmp_path):
    from sgfkit_anime.declarations import read_tag_list

    bomb = gzip.compress(b"[" + b" " * (64 << 20) + b"]", compresslevel=9)
    path = tmp_path / "tag_list.json.gz"
    path.write_bytes(bomb)
    assert len(bomb) < 1 << 20
    with pytest.raises(WeightsError, match="decompression bomb"):
        read_tag_list(path)
    path.write_bytes(gzip.compress(b'["1girl", "smile"]'))
    assert read_tag_list(path) == ["1girl", "smile"]
    with pytest.raises(WeightsError, match="truncated"):
        bounded_gunzip(gzip.compress(b"x" * 1000)[:-12], source="t")
