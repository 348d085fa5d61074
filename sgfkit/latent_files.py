"""Latent codes from files (``edits.latents``): sgfkit's own latents.npz, other tools' projections.

Accepted layouts (arrays only; nothing is unpickled):

* ``.npz`` — one array, or the array under ``key``; the official StyleGAN2-ADA / StyleGAN3 projector
  writes ``projected_w.npz`` with ``w`` [1, num_ws, w_dim], which is picked without a key.
  sgfkit's run folders write ``latents.npz`` with ``<edit>_sources`` / ``_results`` / ``_path`` keys.
* ``.npy`` — one numeric array (InterFaceGAN / GANSpace latent codes [N, dim]).
* ``.pt`` / ``.pth`` — a tensor, or a dict holding it under ``key``, read with
  ``torch.load(weights_only=True)``; e4e's inference writes ``latents.pt`` [N, 18, 512].

Shapes: [dim] (one code), [N, dim] (z or w) or [N, num_ws, w_dim] (w+). A 2-D array is z when the
generator works in z, else w; w broadcasts to w+ when the generator works in w+.
"""
from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sgfkit.errors import ComponentError, did_you_mean
from sgfkit.latents import Latents

SUFFIXES = (".npz", ".npy", ".pt", ".pth")
#: a grid row per source: more than this makes an unreadable edits.png
MAX_SOURCES = 64


def _pick(arrays: dict[str, Any], key: str | None, path: Path, what: str, setting: str) -> Any:
    """The entry under ``key``, the only entry, or the projector's ``w``; else a clear error."""
    names = sorted(arrays)
    if key is not None:
        if key not in arrays:
            raise ComponentError(f"{what} {str(path)!r} has no array {key!r}; it holds {', '.join(names)}."
                                 + did_you_mean(key, names) + f" Set {setting}_key to one of them")
        return arrays[key]
    if len(names) == 1:
        return arrays[names[0]]
    if "w" in arrays:
        return arrays["w"]
    shown = ", ".join(names[:8]) + (" ..." if len(names) > 8 else "")
    raise ComponentError(f"{what} {str(path)!r} holds {len(names)} arrays ({shown}); "
                         f"name the one to use with {setting}_key")


def read_latent_array(path: str | Path, key: str | None = None, what: str = "latents file",
                      setting: str = "edits.latents") -> np.ndarray:
    """Read one numeric array (float32) from ``path``; raises ComponentError naming the problem and the fix.

    ``what`` names the file in messages; ``setting`` is the recipe key that names it (``<setting>_key`` picks
    an array).
    """
    path = Path(path)
    if not path.is_file():
        raise ComponentError(f"{what} {str(path)!r} not found; set {setting} to an .npz, .npy or .pt "
                             "file (a relative path is looked up beside the recipe, then in the current folder)")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ComponentError(f"{what} {str(path)!r} has an unknown extension; use one of {', '.join(SUFFIXES)}")
    try:
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                value: Any = _pick({name: npz[name] for name in npz.files}, key, path, what, setting)
        elif suffix == ".npy":
            value = np.load(path, allow_pickle=False)
        else:
            value = torch.load(path, map_location="cpu", weights_only=True)
            if isinstance(value, dict):
                value = _pick(value, key, path, what, setting)
    except ComponentError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc):  # e.g. ReStyle's latents.npy is a pickled dict of arrays
            raise ComponentError(f"{what} {str(path)!r} holds Python objects (a pickled dict?), which "
                                 "sgfkit does not unpickle; save the codes as one numeric array "
                                 "(np.save('codes.npy', np.stack(list(d.values()))))") from None
        raise ComponentError(f"{what} {str(path)!r} cannot be read: {exc}") from None
    except pickle.UnpicklingError:
        raise ComponentError(f"{what} {str(path)!r} cannot be read as tensors: it is not a torch file, or it "
                             "holds objects that torch.load(weights_only=True) refuses; save a plain tensor "
                             "(torch.save(codes, 'codes.pt'))") from None
    except (OSError, zipfile.BadZipFile, RuntimeError, EOFError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ComponentError(f"{what} {str(path)!r} cannot be read ({first}); "
                             "check that it is a complete .npz/.npy/.pt file") from None
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if not isinstance(value, np.ndarray) or not np.issubdtype(value.dtype, np.number) or \
            np.issubdtype(value.dtype, np.complexfloating):
        got = f"dtype {value.dtype}" if isinstance(value, np.ndarray) else type(value).__name__
        raise ComponentError(f"{what} {str(path)!r}: expected a numeric array, got {got}")
    return value.astype(np.float32)


def latents_from_array(array: np.ndarray, generator: Any, origin: str, max_rows: int | None = MAX_SOURCES) -> Latents:
    """Check ``array`` against the generator's space and sizes; return Latents in the generator's space.

    ``max_rows`` caps the number of codes (edit sources make one grid row each); ``None``: no cap.
    """
    space = generator.space
    if array.ndim == 1:
        array = array[None]
    if array.ndim not in (2, 3):
        raise ComponentError(f"{origin}: expected latents of shape [N, dim] or [N, num_ws, w_dim], "
                             f"got {list(array.shape)}")
    if array.shape[0] == 0:
        raise ComponentError(f"{origin}: the file holds no latent codes (shape {list(array.shape)})")
    if max_rows is not None and array.shape[0] > max_rows:
        raise ComponentError(f"{origin}: {array.shape[0]} codes is too many for the edit grid (at most "
                             f"{max_rows}); save the rows you want to edit in a smaller file")
    if array.ndim == 3:
        if space != "w+":
            raise ComponentError(f"{origin}: the file holds w+ latents {list(array.shape)} but the generator works "
                                 f"in {space}; set generator.space: w+")
        want = [generator.num_ws, generator.w_dim]
        if list(array.shape[1:]) != want:
            raise ComponentError(f"{origin}: w+ latents of shape {list(array.shape)} do not fit this generator, "
                                 f"which expects [N, {want[0]}, {want[1]}] (num_ws, w_dim)")
    else:
        dim, name = (generator.z_dim, "z_dim") if space == "z" else (generator.w_dim, "w_dim")
        if array.shape[1] != dim:
            raise ComponentError(f"{origin}: {'z' if space == 'z' else 'w'} latents of shape {list(array.shape)} "
                                 f"do not fit this generator, which expects [N, {dim}] ({name})")
    latents = Latents(torch.from_numpy(np.ascontiguousarray(array)), "w+" if array.ndim == 3 else
                      ("z" if space == "z" else "w"))
    latents.check_finite(origin)
    if latents.space == "w" and space == "w+":
        latents = latents.to_wplus(generator.num_ws)
    return latents.to(generator.device)


def resolve_user_file(spec: str, base_dir: Path) -> Path:
    """A user file named in a recipe: beside the recipe when it is there, else as given (the current folder)."""
    path = Path(spec).expanduser()
    if not path.is_absolute() and (base_dir / path).is_file():  # else the current folder (--set from a shell)
        path = base_dir / path
    return path


def load_source_latents(spec: str, key: str | None, generator: Any, base_dir: Path) -> Latents:
    """``edits.latents`` (relative to the recipe folder, else the current one) -> checked Latents in the
    generator's space."""
    path = resolve_user_file(spec, base_dir)
    origin = f"edits.latents {spec!r}" + (f" [{key}]" if key else "")
    return latents_from_array(read_latent_array(path, key), generator, origin)
