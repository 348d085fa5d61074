"""Shared test fixtures.

Every test starts and ends with a fresh plugin set (no registry state leaks between tests).
Core tests use the tiny test plugin in tests/fixtures/core/site (found through its dist-info,
like any installed plugin) and select it with SGFKIT_LOAD_PLUGINS, so they do not depend on the
bundled plugins.
"""
from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
TINY_SITE = REPO / "tests" / "fixtures" / "core" / "site"
CORE_FIXTURES = REPO / "tests" / "fixtures" / "core"


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> None:
    """Tiny tensors on a shared 2-core machine: one thread is hundreds of times faster than two."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _fresh_plugins() -> Iterator[None]:
    from sgfkit.plugins import reset_plugins

    reset_plugins()
    yield
    reset_plugins()


@pytest.fixture
def tiny_plugins(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Only the tiny test plugin is loaded (through its entry point)."""
    from sgfkit.plugins import reset_plugins

    monkeypatch.syspath_prepend(str(TINY_SITE))
    monkeypatch.setenv("SGFKIT_LOAD_PLUGINS", "sgfkit-tiny")
    monkeypatch.delenv("SGFKIT_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("SGFKIT_STRICT_PLUGINS", raising=False)
    reset_plugins()
    return TINY_SITE


@pytest.fixture
def no_weight_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Isolate the weights search path ($SGFKIT_HOME, the user cache, the working folder) in ``tmp_path``,
    so that no weights file outside it is found."""
    monkeypatch.setenv("SGFKIT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def make_dist() -> Callable[..., Path]:
    """Write an installed-looking plugin (module + dist-info with an entry point) into ``site``."""

    def make(site: Path, dist: str, module: str, code: str, version: str = "0.1.0",
             ep_name: str | None = None) -> Path:
        site.mkdir(parents=True, exist_ok=True)
        (site / f"{module}.py").write_text(textwrap.dedent(code))
        info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[sgfkit]\n{ep_name or module} = {module}\n")
        return site

    return make


@pytest.fixture
def subprocess_env() -> Callable[..., dict[str, str]]:
    """Environment for running ``python -m sgfkit`` with extra sys.path entries and a plugin selection."""

    def env(*paths: Path, load: str | None = "sgfkit-tiny", **extra: str) -> dict[str, str]:
        out = {k: v for k, v in os.environ.items() if not k.startswith("SGFKIT_")}
        out["PYTHONPATH"] = os.pathsep.join([*map(str, paths), str(TINY_SITE)])
        out["OMP_NUM_THREADS"] = "1"
        if load is not None:
            out["SGFKIT_LOAD_PLUGINS"] = load
        out.update(extra)
        return out

    return env


@pytest.fixture
def python() -> str:
    return sys.executable
