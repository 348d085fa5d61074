"""Every bundled plugin's ``plugin.py`` registers all it has without importing torch (so `sgfkit list`
and `--help` stay fast), checked through the same entry points a third-party plugin uses."""
from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pytest

from sgfkit import hookspecs

BUNDLED = sorted(ep.value for ep in entry_points(group="sgfkit") if ep.dist and ep.dist.name == "sgfkit")
HOOKS = sorted(name for name in vars(hookspecs) if name.startswith("sgfkit_register_"))


def test_every_bundled_plugin_is_found():
    assert len(BUNDLED) >= 8 and all(module.endswith(".plugin") for module in BUNDLED)


@pytest.mark.parametrize("module", BUNDLED)
def test_plugin_registers_everything_without_torch(module):
    code = (f"import sys, click, {module} as plugin\n"
            "calls = 0\n"
            "def register(*args, **kwargs):\n"
            "    global calls\n"
            "    calls += 1\n"
            f"for hook in {HOOKS!r}:\n"
            "    impl = getattr(plugin, hook, None)\n"
            "    if impl is not None:\n"
            "        impl(click.Group() if hook == 'sgfkit_register_commands' else register)\n"
            "assert 'torch' not in sys.modules, 'registering imported torch'\n"
            "print(calls)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.strip()) > 0, f"{module} registered nothing"
