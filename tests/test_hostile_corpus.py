"""Every hostile or malformed weight file in the corpus ends in exit 1 with one sgfkit error: no
traceback, no code run, and memory bounded (the corpus runs under a 3 GiB address-space limit)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hostile_weights import all_cases

CASES = all_cases()

TESTS = Path(__file__).resolve().parent
LIMIT_GIB = 3


@pytest.fixture(scope="module")
def corpus_results(tmp_path_factory) -> dict[str, dict]:
    folder = tmp_path_factory.mktemp("hostile")
    code = textwrap.dedent(f"""
        import resource, sys
        limit = {LIMIT_GIB} << 30
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        sys.path.insert(0, {str(TESTS)!r})
        import hostile_weights
        hostile_weights.main({str(folder)!r})
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SGFKIT_")}
    env["OMP_NUM_THREADS"] = "1"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, env=env)
    results = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            results[record["id"]] = record
    assert done.returncode == 0, f"the corpus run itself died (exit {done.returncode}): {done.stderr[-3000:]}"
    return results


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_file_is_refused_with_one_clear_error(corpus_results, case):
    result = corpus_results[case.id]
    output = result["output"]
    assert result["handled"], f"not an sgfkit error: {result['exception']}"
    assert result["exit_code"] == 1, output
    assert "Traceback" not in output
    assert not result["ran"], "the file's payload ran"
    error = [line for line in output.splitlines() if line.startswith("Error: ")]
    assert len(error) == 1, output
    assert re.search(case.expect, error[0]), error[0]
    assert f"{case.id}{case.suffix}" in error[0], f"the error does not name the file: {error[0]}"
