"""README result blocks are generated: each equals render() of its committed results/data JSON."""
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _build():
    spec = importlib.util.spec_from_file_location("results_build", ROOT / "results" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _build()
README = (ROOT / "README.md").read_text()
NAMES = re.findall(r"<!-- results:([a-z0-9_]+) -->", README)


def test_readme_has_generated_blocks_with_closing_markers():
    assert NAMES, "the README holds no generated results block"
    assert len(NAMES) == len(set(NAMES)), "a results section appears twice in the README"
    for name in NAMES:
        assert f"<!-- /results:{name} -->" in README, f"results block {name!r} is not closed"


@pytest.mark.parametrize("name", NAMES)
def test_block_matches_its_committed_results(name):
    assert (ROOT / "results" / "sections" / f"{name}.py").is_file(), f"no module for results section {name!r}"
    assert (ROOT / "results" / "data" / f"{name}.json").is_file(), f"no committed data for results section {name!r}"
    block = re.search(rf"<!-- results:{name} -->\n(.*?)<!-- /results:{name} -->", README, re.S).group(1)
    assert block == build.rendered_block(name), (
        f"README block {name!r} differs from results/data/{name}.json; run: python results/build.py render")


def test_render_detects_hand_edits(tmp_path):
    """The check above can fail: a typed-in number is not what render() produces."""
    name = NAMES[0]
    good = f"<!-- results:{name} -->\n{build.rendered_block(name)}<!-- /results:{name} -->"
    assert build.render_readme(good) == good
    tampered = good.replace("0.", "9.", 1)
    assert tampered != good and build.render_readme(tampered) == good


def test_marker_without_section_is_a_clear_error():
    with pytest.raises(SystemExit, match="no section 'no_such_section'"):
        build.render_readme("<!-- results:no_such_section -->\nx\n<!-- /results:no_such_section -->")
