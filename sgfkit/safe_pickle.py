"""Restricted unpickling: checkpoints are data, never code.

Pickle-based checkpoint formats (NVlabs network pickles, VGGFace2 ``.pkl`` weight dicts, legacy
torch files of whole modules) name Python callables that plain ``pickle`` would import and call.
:class:`RestrictedUnpickler` resolves only an explicit allow-list of (module, name) pairs, each
mapped to a callable *we* choose, and reports anything else as a :class:`WeightsError`.

Resolving names is not enough: pickle's state opcodes (BUILD, SETITEM(S), APPEND(S), ADDITEMS)
mutate whatever object is on the stack, and an allow-listed function or class is a process-wide
object. A file that sets ``dump_patches`` and ``__name__`` on a torch function, or a numpy dtype
whose fields overlap an object pointer with an integer, turns "data" into a file write or a wild
memory write. So the unpickler here also decides *which objects may receive state*:

* BUILD: only instances of the record types a format declares (``buildable``), plain ``dict``
  subclass instances (``__dict__`` entries only, no dunder names), and numpy arrays / dtypes whose
  state is validated first (plain numeric dtypes only; the array's raw bytes must be exactly the
  declared shape's size). Never an allow-listed global itself.
* SETITEM(S) only on dicts, APPEND(S) only on lists, ADDITEMS only on sets.

It is built on the pure-Python unpickler (``pickle._Unpickler``) because the C one offers no hook
for those opcodes; checkpoints have few opcodes and large byte strings, so the cost is small.
"""
from __future__ import annotations

import io
import math
import pickle
import struct
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from sgfkit.errors import WeightsError


class ForbiddenGlobal(WeightsError):
    """The pickle asked for a callable that is not on the allow-list."""


class ForbiddenMutation(WeightsError):
    """The pickle tried to give state to an object that must not receive any."""


#: deepest tuple nesting a checkpoint may build: hashing a tuple recurses in C without a recursion
#: guard, so a dict key nested 100,000 deep would crash the process (real checkpoints nest < 10)
MAX_TUPLE_NESTING = 100

#: numpy dtype strings a checkpoint may name: booleans, integers, floats, complex (no object,
#: void / structured, string or datetime types)
PLAIN_NUMERIC_KINDS = "biufc"


def _is_dunder(key: Any) -> bool:
    return isinstance(key, str) and key.startswith("__") and key.endswith("__")


_BaseUnpickler: type = pickle._Unpickler  # type: ignore[attr-defined]  # the pure-Python unpickler


class RestrictedUnpickler(_BaseUnpickler):
    """An unpickler that only resolves allow-listed globals and only mutates fresh, permitted objects.

    Args:
        file: binary stream.
        allowed: maps ``(module, qualname)`` to the object to use in its place.
        source: a label for error messages (usually the file path).
        persistent_load: optional handler for persistent ids (torch storages).
        encoding: how Python-2 ``str`` objects are decoded (``"latin1"`` for numpy-era pickles).
        buildable: record types whose instances may receive BUILD state (each should define
            ``__setstate__``; otherwise only non-dunder ``__dict__`` entries are set).
    """

    dispatch = dict(_BaseUnpickler.dispatch)

    def __init__(self, file: BinaryIO, allowed: Mapping[tuple[str, str], Any], *, source: str = "<stream>",
                 persistent_load: Callable[[Any], Any] | None = None, encoding: str = "ASCII",
                 buildable: tuple[type, ...] = ()) -> None:
        super().__init__(file, encoding=encoding)
        self._allowed = dict(allowed)
        self._allowed_ids = {id(obj) for obj in self._allowed.values()}
        self._source = source
        self._buildable = tuple(buildable)
        self._tuple_depths: dict[int, tuple[int, tuple]] = {}  # id -> (nesting depth, the tuple: keeps id valid)
        if persistent_load is not None:
            self.persistent_load = persistent_load  # type: ignore[method-assign]

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except (KeyError, TypeError):
            raise ForbiddenGlobal(
                f"{self._source}: refused to load '{module}.{name}': sgfkit never runs code from a "
                "checkpoint, and this object is not part of any weights format it knows. "
                "If this is a genuine checkpoint, convert it to a plain state dict (or safetensors).") from None

    def load(self) -> Any:
        """Unpickle; errors raised by our stand-ins are prefixed with the file they came from."""
        try:
            return super().load()
        except WeightsError as err:
            if str(err).startswith(self._source):
                raise
            raise type(err)(f"{self._source}: {err}") from None

    def persistent_load(self, pid: Any) -> Any:  # noqa: D401 - pickle's hook name
        raise pickle.UnpicklingError(f"{self._source}: unexpected persistent id in this pickle")

    # -- guarded state opcodes -------------------------------------------------------------------
    def _refuse(self, what: str, target: Any) -> None:
        raise ForbiddenMutation(
            f"{self._source}: refused {what} on a {type(target).__name__} object: a checkpoint may only fill "
            "in the data records it creates, never change other objects; the file is malformed or hostile")

    def _check_target(self, what: str, target: Any, kinds: tuple[type, ...]) -> None:
        if id(target) in self._allowed_ids or isinstance(target, type) or not isinstance(target, kinds):
            self._refuse(what, target)

    def _load_build(self) -> None:
        state = self.stack.pop()
        inst = self.stack[-1]
        if id(inst) in self._allowed_ids or isinstance(inst, type):
            self._refuse("BUILD", inst)
        np = _numpy_if_loaded()
        if np is not None and type(inst) is np.ndarray:
            inst.__setstate__(_checked_array_state(state, self._source))
        elif np is not None and isinstance(inst, np.dtype):
            inst.__setstate__(_checked_dtype_state(inst, state, self._source))
        elif self._buildable and isinstance(inst, self._buildable):
            setstate = getattr(type(inst), "__setstate__", None)
            if setstate is not None and setstate is not object.__dict__.get("__setstate__"):
                setstate(inst, state)
            else:
                self._update_dict(inst, state)
        elif isinstance(inst, dict):
            self._update_dict(inst, state)
        else:
            self._refuse("BUILD", inst)

    def _update_dict(self, inst: Any, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2:  # (dict state, slot state): both plain entries here
            state = {**(state[0] or {}), **(state[1] or {})}
        if not isinstance(state, dict) or not hasattr(inst, "__dict__"):
            self._refuse("BUILD", inst)
        for key, value in state.items():
            if not isinstance(key, str) or _is_dunder(key):
                raise ForbiddenMutation(f"{self._source}: refused the attribute {key!r} in a pickled record: "
                                        "special attributes are never set from a checkpoint")
            inst.__dict__[key] = value

    def _load_setitem(self) -> None:
        value = self.stack.pop()
        key = self.stack.pop()
        target = self.stack[-1]
        self._check_target("SETITEM", target, (dict,))
        target[key] = value

    def _load_setitems(self) -> None:
        items = self.pop_mark()
        target = self.stack[-1]
        self._check_target("SETITEMS", target, (dict,))
        for i in range(0, len(items) - 1, 2):
            target[items[i]] = items[i + 1]

    def _load_append(self) -> None:
        value = self.stack.pop()
        target = self.stack[-1]
        self._check_target("APPEND", target, (list,))
        target.append(value)

    def _load_appends(self) -> None:
        items = self.pop_mark()
        target = self.stack[-1]
        self._check_target("APPENDS", target, (list,))
        target.extend(items)

    def _load_additems(self) -> None:
        items = self.pop_mark()
        target = self.stack[-1]
        self._check_target("ADDITEMS", target, (set,))
        target.update(items)

    # -- tuples: nesting depth checked as each is built ---------------------------------------------
    def _track_tuple(self) -> None:
        value = self.stack[-1]
        if type(value) is not tuple or not value:
            return
        depth = 1 + max(self._tuple_depths.get(id(item), (0,))[0] for item in value)
        if depth > MAX_TUPLE_NESTING:
            raise WeightsError(f"{self._source}: the pickle nests tuples more than {MAX_TUPLE_NESTING} deep; "
                               "no checkpoint does: the file is malformed or hostile")
        self._tuple_depths[id(value)] = (depth, value)

    def _tracked(opcode: bytes, base: dict = _BaseUnpickler.dispatch):  # noqa: N805 - class-body helper
        build = base[opcode[0]]

        def load(self: RestrictedUnpickler) -> None:
            build(self)
            self._track_tuple()
        return load

    for _opcode in (pickle.TUPLE, pickle.TUPLE1, pickle.TUPLE2, pickle.TUPLE3, pickle.REDUCE, pickle.NEWOBJ):
        dispatch[_opcode[0]] = _tracked(_opcode)
    del _opcode, _tracked

    dispatch[pickle.BUILD[0]] = _load_build
    dispatch[pickle.SETITEM[0]] = _load_setitem
    dispatch[pickle.SETITEMS[0]] = _load_setitems
    dispatch[pickle.APPEND[0]] = _load_append
    dispatch[pickle.APPENDS[0]] = _load_appends
    dispatch[pickle.ADDITEMS[0]] = _load_additems


def _numpy_if_loaded() -> Any:
    import sys

    return sys.modules.get("numpy")


# -- numpy: plain numeric dtypes and arrays rebuilt from exactly their bytes ------------------------
def check_plain_dtype(dtype: Any, source: str) -> Any:
    """``dtype`` as a numpy dtype if it is a plain numeric one; otherwise :class:`WeightsError`."""
    import numpy as np

    if not isinstance(dtype, np.dtype):
        raise WeightsError(f"{source}: an array in this pickle has no valid dtype ({type(dtype).__name__})")
    if dtype.kind not in PLAIN_NUMERIC_KINDS or dtype.hasobject or dtype.fields is not None \
            or dtype.subdtype is not None:
        raise WeightsError(f"{source}: refused the numpy dtype {dtype.str!r}: only plain numeric arrays "
                           "(bool, int, float, complex) can come from a checkpoint")
    return dtype


def _plain_dtype(obj: Any, align: Any = False, copy: Any = False) -> Any:
    """Stand-in for ``numpy.dtype`` in pickles: a *fresh* plain numeric dtype, nothing else."""
    import numpy as np

    if isinstance(obj, bytes):
        obj = obj.decode("latin1")
    if not isinstance(obj, str) or len(obj) > 4 or obj[:1] not in tuple(PLAIN_NUMERIC_KINDS):
        raise WeightsError(f"refused the numpy dtype {obj!r} in a checkpoint: only plain numeric dtypes "
                           "(b1, i1-i8, u1-u8, f2-f8, c8-c16) are accepted")
    try:
        dtype = np.dtype(obj, False, True)  # copy=True: never hand out numpy's shared builtin dtype
    except TypeError as exc:
        raise WeightsError(f"refused the numpy dtype {obj!r} in a checkpoint ({exc})") from None
    return check_plain_dtype(dtype, "checkpoint")


def _checked_dtype_state(dtype: Any, state: Any, source: str) -> tuple:
    """A dtype's pickled state, accepted only in the plain form numpy writes for numeric dtypes."""
    check_plain_dtype(dtype, source)
    plain = (isinstance(state, tuple) and len(state) in (8, 9) and state[0] in (3, 4)
             and state[1] in ("<", ">", "|", "=") and state[2] is None and state[3] is None
             and state[4] is None and state[5] == -1 and state[6] == -1 and state[7] == 0
             and (len(state) == 8 or state[8] is None or state[8] == {}))
    if not plain:
        raise WeightsError(f"{source}: refused a numpy dtype state with fields, sub-arrays or sizes of its own: "
                           "only plain numeric dtypes can come from a checkpoint")
    return state


def _checked_array_state(state: Any, source: str) -> tuple:
    """An ndarray's pickled state with its raw bytes checked against the declared shape and dtype."""
    if not (isinstance(state, tuple) and len(state) == 5):
        raise WeightsError(f"{source}: malformed numpy array state in this pickle")
    version, shape, dtype, fortran, raw = state
    dtype = check_plain_dtype(dtype, source)
    if not isinstance(shape, tuple) or len(shape) > 32 \
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise WeightsError(f"{source}: a numpy array in this pickle declares an invalid shape {shape!r}")
    if isinstance(raw, str):  # Python-2 pickles carry the bytes as a latin-1 str
        raw = raw.encode("latin1")
    if not isinstance(raw, (bytes, bytearray)):
        raise WeightsError(f"{source}: a numpy array in this pickle carries no raw bytes ({type(raw).__name__})")
    expected = math.prod(shape) * dtype.itemsize
    if expected != len(raw):
        raise WeightsError(f"{source}: a numpy array declares shape {shape} of {dtype.str} ({expected} bytes) "
                           f"but the file holds {len(raw)} bytes for it; the file is corrupt or hostile")
    return (version, shape, dtype, bool(fortran), bytes(raw))


def _empty_array(subtype: Any, shape: Any, dtype: Any) -> Any:
    """Stand-in for ``numpy.core.multiarray._reconstruct``: an empty ndarray that BUILD then fills."""
    import numpy as np

    if subtype is not np.ndarray:
        raise WeightsError(f"refused to rebuild a numpy array as {getattr(subtype, '__name__', subtype)!r}: "
                           "only plain numpy.ndarray can come from a checkpoint")
    return np.ndarray((0,), dtype=np.uint8)


def _plain_scalar(dtype: Any, data: Any = None) -> Any:
    """Stand-in for ``numpy.core.multiarray.scalar``: a numeric scalar from exactly itemsize bytes."""
    import numpy as np

    dtype = check_plain_dtype(dtype, "checkpoint")
    if isinstance(data, str):
        data = data.encode("latin1")
    if not isinstance(data, (bytes, bytearray)) or len(data) != dtype.itemsize:
        raise WeightsError("a numpy scalar in this checkpoint has the wrong number of bytes")
    return np.frombuffer(bytes(data), dtype=dtype)[0]


def _latin1_encode(obj: Any, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """Stand-in for ``_codecs.encode``: protocol-2 pickles rebuild bytes with latin-1, nothing else."""
    if encoding.replace("-", "").replace("_", "").lower() not in ("latin1", "iso88591") or not isinstance(obj, str):
        raise WeightsError(f"refused _codecs.encode with encoding {encoding!r} in a checkpoint: only the "
                           "latin-1 byte strings that Python-2 era pickles hold are accepted")
    return obj.encode("latin1")


def _numpy_globals() -> dict[tuple[str, str], Any]:
    import collections

    import numpy as np

    allowed: dict[tuple[str, str], Any] = {}
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(mod, "_reconstruct")] = _empty_array
        allowed[(mod, "scalar")] = _plain_scalar
    allowed[("numpy", "ndarray")] = np.ndarray
    allowed[("numpy", "dtype")] = _plain_dtype
    allowed[("collections", "OrderedDict")] = collections.OrderedDict
    allowed[("_codecs", "encode")] = _latin1_encode
    return allowed


def numpy_allowlist() -> dict[tuple[str, str], Any]:
    """Allow-list for pickles of plain containers holding plain numeric numpy arrays and scalars."""
    return _numpy_globals()


#: what a malformed (not hostile) stream can raise from the unpickler itself
UNPICKLING_ERRORS = (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
                     KeyError, OverflowError, UnicodeDecodeError, struct.error, MemoryError)


def unpickle_restricted(data: bytes, allowed: Mapping[tuple[str, str], Any], *, source: str,
                        encoding: str = "ASCII", persistent_load: Callable[[Any], Any] | None = None,
                        buildable: tuple[type, ...] = ()) -> Any:
    """Unpickle ``data`` with only ``allowed`` globals; malformed streams become :class:`WeightsError`."""
    try:
        return RestrictedUnpickler(io.BytesIO(data), allowed, source=source, encoding=encoding,
                                   persistent_load=persistent_load, buildable=buildable).load()
    except WeightsError:
        raise
    except RecursionError:
        raise WeightsError(f"{source}: the pickle nests objects too deeply; the file is malformed") from None
    except UNPICKLING_ERRORS as exc:
        raise WeightsError(f"{source}: not a readable pickle ({type(exc).__name__}: {exc}); "
                           "the file may be truncated or of another format") from None


def load_restricted(path: str | Path, allowed: Mapping[tuple[str, str], Any], *, encoding: str = "ASCII",
                    persistent_load: Callable[[Any], Any] | None = None,
                    buildable: tuple[type, ...] = ()) -> Any:
    """Unpickle ``path`` with only ``allowed`` globals. Errors name the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    return unpickle_restricted(path.read_bytes(), allowed, source=str(path), encoding=encoding,
                               persistent_load=persistent_load, buildable=buildable)
