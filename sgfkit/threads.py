"""How many CPU threads torch uses: ``--threads N``, a recipe's ``threads:``, or a default from the machine.

Why a default of our own: torch starts one thread per core; on a 2-core machine that other processes
keep busy, those threads wait on each other and an SGF fit ran ~25x slower than with one thread
(benchmarks/bench_threads.py measures it). Torch-free until :func:`use_threads` applies a choice.
"""
from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from typing import Any

#: the last choice applied by :func:`use_threads` (recorded in environment.json)
_last_choice: dict[str, Any] | None = None


def cpu_cores() -> int:
    """Cores this process may run on (the affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def load_average() -> float | None:
    """The 1-minute load average, or ``None`` where the OS has none."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def default_threads(cores: int | None = None, load: float | None = None) -> tuple[int, str]:
    """(threads, why): one per core left idle by other work, at least 1.

    ``load`` counts runnable processes; ours is not running yet, so the idle cores are ``cores - load``.
    """
    cores = cpu_cores() if cores is None else cores
    load = load_average() if load is None else load
    if load is None:
        return cores, f"{cores} cores, load unknown"
    idle = math.floor(cores - load + 0.5)  # idle cores, rounded to the nearest whole core
    threads = max(1, min(cores, idle))
    return threads, f"{cores} cores, load {load:.1f}"


def choose_threads(requested: int | None, source: str = "--threads") -> dict[str, Any]:
    """Resolve a request (``None``: the machine default) into {threads, source, reason}."""
    if requested is not None:
        if int(requested) < 1:
            from sgfkit.errors import SgfkitError

            raise SgfkitError(f"threads must be >= 1, got {requested}; use --threads 1 on a busy machine")
        return {"threads": int(requested), "source": source, "reason": "requested"}
    threads, why = default_threads()
    return {"threads": threads, "source": "auto", "reason": why}


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run a block with ``threads`` torch intra-op threads, then restore the previous number."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def use_threads(requested: int | None, source: str = "recipe") -> Iterator[dict[str, Any]]:
    """Set torch's intra-op threads for a block (then restore them); yields the choice, recorded for
    environment.json (training commands that set their own threads use :func:`torch_threads`)."""
    global _last_choice
    choice = choose_threads(requested, source)
    with torch_threads(choice["threads"]):
        _last_choice = choice
        yield choice


def last_choice() -> dict[str, Any] | None:
    """The choice of the current (or last) :func:`use_threads` block, for environment.json."""
    return _last_choice
