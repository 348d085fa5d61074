"""Shared by the results sections: import a benchmark script by path (benchmarks/ is not a package)."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
#: issue #9's goals for SGF's one-step fidelity (median cosine at least, median leak at most)
FIDELITY_COSINE_GOAL, FIDELITY_LEAK_GOAL = 0.8, 0.3
#: the goals as every section states them
FIDELITY_GOALS = f"cosine >= {FIDELITY_COSINE_GOAL}, leak <= {FIDELITY_LEAK_GOAL}"


def load_benchmark(name: str) -> ModuleType:
    """The module ``benchmarks/<name>.py``."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def mds_by_method(values: dict, attributes: list[str]) -> dict[str, dict[str, float]]:
    """Per method: the MDS of each attribute and ``overall``, from an ``mds`` metric's values."""
    return {m: {a: v[a]["mds"] for a in attributes} | {"overall": v["overall"]}
            for m, v in values.items() if m != "settings"}


def keep_mdc_figure(run_dir: Path, name: str) -> str | None:
    """Copy a run's MDC plot to ``docs/images/<name>.png``; its repository path, or None without a plot."""
    import shutil

    mdc = run_dir / "mds_mdc.png"
    if not mdc.is_file():
        return None
    image = Path("docs/images") / f"{name}.png"
    (ROOT / image).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(mdc, ROOT / image)
    return str(image)


def fidelity_cell(fidelity: dict | None, method: str) -> str:
    """"cosine / gain / leak" of one method in a fit report's ``step_fidelity`` ("-" where absent)."""
    stats = (fidelity or {}).get("methods", {}).get(method)
    if stats is None:
        return "-"
    return " / ".join("-" if stats[k] is None else f"{stats[k]:.3f}" for k in ("cosine", "gain", "leak"))


def fidelity_verdict(fidelity: dict | None, method: str = "SGF") -> str:
    """Whether one method's one-step fidelity meets :data:`FIDELITY_GOALS`: "met", or "missed" with the
    figures that miss ("missed: leak 0.401 > 0.3"); a leak that is undefined (every dim a target) is said so
    and checked no further."""
    stats = (fidelity or {}).get("methods", {}).get(method)
    if stats is None:
        return "-"
    misses = []
    if stats["cosine"] < FIDELITY_COSINE_GOAL:
        misses.append(f"cosine {stats['cosine']:.3f} < {FIDELITY_COSINE_GOAL}")
    if stats["leak"] is not None and stats["leak"] > FIDELITY_LEAK_GOAL:
        misses.append(f"leak {stats['leak']:.3f} > {FIDELITY_LEAK_GOAL}")
    verdict = "missed: " + ", ".join(misses) if misses else "met"
    return verdict + (" (leak undefined)" if stats["leak"] is None else "")


def mds_table_lines(space: str, block: dict, rows: dict[str, str]) -> list[str]:
    """Markdown rows of an MDS table: one row per method (in ``rows`` order, labelled by it), one column per
    attribute and ``overall`` (the best in bold)."""
    def num(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    attrs, mds = block["attributes"], block["mds"]
    lines = [f"| MDS, {space} space | " + " | ".join(attrs) + " | overall |", "|---" * (len(attrs) + 2) + "|"]
    best = max(v["overall"] for v in mds.values())
    order = list(rows)
    for method in sorted(mds, key=lambda m: order.index(m) if m in order else len(order)):
        row = mds[method]
        overall = f"**{num(row['overall'])}**" if row["overall"] == best else num(row["overall"])
        lines.append(f"| {rows.get(method, method)} | " + " | ".join(num(row[a]) for a in attrs) + f" | {overall} |")
    return lines


def fit_entries(fit: dict, keys: tuple[str, ...]) -> dict:
    """The fit-report entries a section keeps: ``keys`` (None where absent) and, for an ensemble F, ``ensemble``."""
    return {k: fit.get(k) for k in keys} | ({"ensemble": fit["ensemble"]} if "ensemble" in fit else {})


def mapping_cell(fit: dict) -> str:
    """F as the fit report describes it: "contractive (15 blocks)", "contractive, mean of 3 (15 blocks)"."""
    size = fit.get("ensemble", {}).get("size", 1)
    blocks = f" ({fit['layers_F']} blocks)" if "layers_F" in fit else ""
    return f"{fit['F']}{f', mean of {size}' if size > 1 else ''}{blocks}"
