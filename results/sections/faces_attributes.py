"""MDS of SGF vs InterFaceGAN vs GANSpace on synth-faces, W and Z space, plus SGF's fit report."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from _bench import FIDELITY_GOALS, fidelity_cell, fidelity_verdict, fit_entries, keep_mdc_figure, mapping_cell, mds_by_method, mds_table_lines

TITLE = "SGF vs InterFaceGAN vs GANSpace on synth-faces (MDS, W and Z space) and SGF's step fidelity"
COMMAND = "make results SECTIONS=faces_attributes"
ROOT = Path(__file__).resolve().parents[2]
RECIPES = {"W": "recipes/faces_attributes.yaml", "Z": "recipes/faces_attributes_z.yaml"}
#: method label in the recipe -> row name in the table
ROWS = {"SGF": "SGF", "SGF-m0": "SGF (m = 0)", "SGF-fast": "SGF (fast)", "InterFaceGAN": "InterFaceGAN",
        "GANSpace": "GANSpace"}


def run(work_dir: Path) -> dict[str, Any]:
    import sgfkit

    out: dict[str, Any] = {}
    for space, recipe in RECIPES.items():
        result = sgfkit.run(ROOT / recipe, out_dir=work_dir)
        values = result.metrics["metrics"]["mds"]
        attributes = list(values["settings"]["strengths"][next(iter(values["settings"]["strengths"]))])
        fit = result.metrics["fit"]["SGF"]
        out[space] = {
            "recipe": recipe, "attributes": attributes,
            "mds": mds_by_method(values, attributes),
            "fit": fit_entries(fit, ("F", "layers_F", "reconstruction_r2", "condition_dependence",
                                     "spectral_radius_median", "spectral_radius_max", "step_fidelity")),
            "timings_s": result.timings,
        }
        figure = keep_mdc_figure(result.run_dir, f"faces_attributes_mdc_{space.lower()}")
        if figure is not None:
            out[space]["figure"] = figure
    return out


def _num(x: Any) -> str:
    return "-" if x is None else f"{x:.3f}"


def render(data: dict[str, Any]) -> str:
    lines: list[str] = []
    for space, block in data.items():
        lines += mds_table_lines(space, block, ROWS)
        lines.append("")
    figures = [f"![MDC, {space} space]({block['figure']})" for space, block in data.items() if block.get("figure")]
    if figures:
        lines += [" ".join(figures), ""]
    lines += ["SGF's fit report (held-out samples; step fidelity = one step towards a random small change "
              f"of two attributes, medians; goals {FIDELITY_GOALS}):", "",
              "| space | F | R^2 | condition dependence | rho(dF/dz) median / max "
              "| SGF cosine / gain / leak | SGF: goals | InterFaceGAN cosine / gain / leak |",
              "|---|---|---|---|---|---|---|---|"]
    for space, block in data.items():
        fit = block["fit"]
        fid = fit.get("step_fidelity")
        lines.append(f"| {space} | {mapping_cell(fit)} | {_num(fit['reconstruction_r2'])} | "
                     f"{_num(fit['condition_dependence'])} | {_num(fit['spectral_radius_median'])} / "
                     f"{_num(fit['spectral_radius_max'])} | {fidelity_cell(fid, 'SGF')} | "
                     f"{fidelity_verdict(fid)} | {fidelity_cell(fid, 'InterFaceGAN')} |")
    return "\n".join(lines) + "\n"
