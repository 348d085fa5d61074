"""YAML recipes: read, apply ``--set`` overrides, validate everything before anything heavy loads.

Every problem is reported at once, each with its key path, YAML line, the bad value and what is
accepted (with a did-you-mean). ``type:`` is resolved only through the registry, never as an
import path. Component parameters are checked against the class's ``all_params()`` and its
``check_recipe`` classmethod; nothing is built and no weights are read here.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sgfkit.errors import ParamError, SgfkitError, did_you_mean
from sgfkit.executors import EXECUTOR
from sgfkit.params import Param, check_value, validate_params

KeyPath = tuple[str | int, ...]

#: top-level sections that hold one component, and the registry kind of their ``type``
COMPONENT_SECTIONS = {"generator": "generator", "encoder": "condition-encoder", "evaluator": "condition-encoder",
                      "projector": "projector"}
#: top-level sections that hold a list of components
COMPONENT_LISTS = {"manipulators": "manipulator", "metrics": "metric"}

DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")

TOP_LEVEL: dict[str, Param] = {
    "name": Param(str, None, "run name, used in the run folder name (default: the file name)", nullable=True),
    "seed": Param(int, 0, "seed of the dataset sampling and of everything random"),
    "device": Param(str, "auto", "cpu | cuda | cuda:N | auto (cuda when available)"),
    "threads": Param(int, None, "torch CPU threads (default: one per idle core, from the machine's load)",
                     nullable=True, min=1),
    "generator": Param(dict, help="the generator: {type: NAME, ...its params}"),
    "encoder": Param(dict, help="the condition encoder C that manipulators use: {type: NAME, ...}"),
    "evaluator": Param(dict, None, "condition encoder that scores edits (default: the encoder)", nullable=True),
    "dataset": Param(dict, {}, "the (z, w, c) sample set: {samples, batch_size}"),
    "manipulators": Param(list, [], "manipulators to fit and compare: [{type: NAME, ...}]"),
    "edits": Param(dict, None, "example edit grid: {seeds, latents, path_steps, targets}", nullable=True),
    "evaluation": Param(dict, None, "MDC sweep: {attributes, samples, seed, delta, threshold}", nullable=True),
    "metrics": Param(list, [], "metrics over the evaluation: [{type: NAME, ...}]"),
    "output": Param(dict, {}, "where runs and caches go: {dir, cache_dir}"),
    "executor": Param(dict, {}, "where sampling, edits and evaluation run: {type: local | ray, address, shard_size, "
                                "num_cpus_per_task, num_gpus_per_task, max_retries, runtime_env}"),
    "projector": Param(dict, None, "how 'sgfkit project' / 'sgfkit edit' find latents of photos "
                       "(default: {type: optimize})", nullable=True),
}
DATASET: dict[str, Param] = {
    "samples": Param(int, 1000, "number of (z, w, c) samples to fit manipulators on", min=1),
    "batch_size": Param(int, 256, "samples rendered and measured per batch", min=1),
}
EDITS: dict[str, Param] = {
    "seeds": Param(list, [0, 1, 2, 3], "one source image per seed", item_type=int),
    "latents": Param(str, None, "file of source latents edited beside the seeds (.npz/.npy/.pt; relative to "
                     "the recipe)", nullable=True),
    "latents_key": Param(str, None, "array to use in a latents file holding several", nullable=True),
    "video": Param(dict, None, "edit paths as videos: {format: mp4|gif, fps, frames, sources}", nullable=True),
    "path_steps": Param(int, 3, "intermediate images shown between source and result", min=0, max=16),
    "layer_probes": Param(int, 64, "probe latents of the layer map behind layers: auto (it renders and reads 4 x "
                          "this many images with coarse / middle / fine groups; lower it for a large generator on a "
                          "CPU)", min=4),
    "targets": Param(list, help="[{target: {...}, label: str, layers: spec}]"),
}
VIDEO: dict[str, Param] = {
    "format": Param(str, "mp4", "mp4 (ffmpeg from the imageio-ffmpeg wheel) or gif", choices=("mp4", "gif")),
    "fps": Param(int, 12, "frames per second", min=1, max=60),
    "frames": Param(int, 24, "frames per edit path (the path is interpolated)", min=2, max=240),
    "sources": Param(bool, True, "also write video_sources: a loop interpolating between the sources"),
    "batch_size": Param(int, 32, "latents rendered per batch", min=1),
}
TARGET: dict[str, Param] = {
    "target": Param((dict, list), help="the target conditions, e.g. {smile: 1.0} or {caption: '...'}; "
                    "a list of them is a chain applied in order (sequential edits)"),
    "label": Param(str, None, "short name shown in the grid (default: the target)", nullable=True),
    "layers": Param((str, list), None, "w+ layers the edit may change: null (all), a group, [i, ...], 'a:b' "
                    "or auto (the groups that carry what the target names, measured per run)", nullable=True),
}
EVALUATION: dict[str, Param] = {
    "attributes": Param(list, help="attribute names to sweep (each must be a condition of encoder and evaluator)",
                        item_type=str),
    "samples": Param(int, 100, "samples per attribute", min=1),
    "seed": Param(int, 1000, "seed of the evaluation samples"),
    "delta": Param(float, 0.2, "change of the attribute that counts as 'changed'", min=0.0),
    "threshold": Param(float, 0.5, "score >= threshold counts as 'has it': the edit goes towards 0"),
}
OUTPUT: dict[str, Param] = {
    "dir": Param(str, "runs", "parent folder of the run folders"),
    "cache_dir": Param(str, ".sgfkit-cache", "cache of sampled datasets and fitted manipulators"),
    "cache": Param(bool, True, "reuse cached datasets and fits"),
}
SUB_SCHEMAS = {"dataset": DATASET, "edits": EDITS, "evaluation": EVALUATION, "output": OUTPUT, "executor": EXECUTOR}


@dataclass
class Problem:
    path: KeyPath
    line: int | str | None
    message: str

    def __str__(self) -> str:
        where = format_path(self.path) or "(recipe)"
        if isinstance(self.line, int):
            where += f" (line {self.line})"
        elif self.line:
            where += f" ({self.line})"
        return f"{where}: {self.message}"


class RecipeError(SgfkitError):
    """A recipe has problems; ``problems`` lists each with its key path and line."""

    def __init__(self, problems: list[Problem] | str, origin: str = "recipe") -> None:
        if isinstance(problems, str):
            self.problems: list[Problem] = [Problem((), None, problems)]
            super().__init__(f"{origin}: {problems}")
            return
        self.problems = problems
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        super().__init__(f"{origin} has {count}:\n" + "\n".join(f"  {p}" for p in problems))


def format_path(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass
class Recipe:
    """A validated recipe.

    Attributes:
        data: the resolved recipe (defaults and component params filled in); YAML-able.
        source: the file path or dict it came from; overrides: the ``--set`` strings applied.
        base_dir: folder relative paths in the recipe are resolved against.
        classes: component class per section path (``generator``, ``manipulators[0]``, ...).
    """

    data: dict[str, Any]
    source: Any
    overrides: list[str] = field(default_factory=list)
    base_dir: Path = field(default_factory=Path.cwd)
    classes: dict[str, type] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.data["name"]

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.data, sort_keys=False, allow_unicode=True)


# -- reading ----------------------------------------------------------------------------------

#: a recipe is a few hundred values; YAML aliases may not expand it past this many nodes
MAX_RECIPE_NODES = 50_000


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Nodes the document has once every alias is expanded (memoised per node: linear in the file)."""
    key = id(node)
    if key not in sizes:
        sizes[key] = 0  # a cycle (recursive alias) counts once; PyYAML refuses those anyway
        children = ([n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode)
                    else node.value if isinstance(node, yaml.SequenceNode) else [])
        sizes[key] = 1 + sum(_expanded_size(child, sizes) for child in children)
    return sizes[key]


def _line_map(node: yaml.Node | None, path: KeyPath = (), out: dict[KeyPath, int] | None = None,
              seen: set[int] | None = None, duplicates: list[Problem] | None = None) -> dict[KeyPath, int]:
    """Key path -> 1-based line where that key (or list item) starts. An aliased node is walked once
    (its first path), so the walk is linear in the file; repeated mapping keys go to ``duplicates``."""
    out = {} if out is None else out
    seen = set() if seen is None else seen
    if node is None or id(node) in seen:
        return out
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            sub = (*path, key_node.value)
            line = key_node.start_mark.line + 1
            if duplicates is not None and isinstance(key_node, yaml.ScalarNode) and key_node.value in first_line:
                duplicates.append(Problem(sub, line, f"the key appears twice (lines {first_line[key_node.value]} "
                                                     f"and {line}); YAML would keep only the last: delete one"))
            first_line.setdefault(key_node.value, line)
            out[sub] = line
            _line_map(value_node, sub, out, seen, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            out[(*path, i)] = item.start_mark.line + 1
            _line_map(item, (*path, i), out, seen, duplicates)
    return out


def _decode_recipe(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        guess = " (it looks like UTF-16)" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
        raise RecipeError(f"the file is not UTF-8 text{guess}: byte {exc.start} is {raw[exc.start:exc.start + 1]!r}. "
                          "Save the recipe as UTF-8 (any editor's 'Save with encoding')", str(path)) from None


def read_recipe_file(path: Path) -> tuple[Any, dict[KeyPath, int]]:
    """Parse a YAML file: (data, line map). Clear errors for missing, empty, non-UTF-8, invalid and
    alias-bomb files, and for repeated keys."""
    if not path.is_file():
        hint = ""
        if path.parent.is_dir():
            hint = did_you_mean(path.name, [p.name for p in path.parent.glob("*.y*ml")])
        what = "is a folder, not a file" if path.is_dir() else "not found"
        raise RecipeError(f"recipe file {str(path)!r} {what}.{hint} Pass the path of a .yaml recipe", "recipe")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RecipeError(f"cannot read the recipe file: {exc.strerror or exc}", str(path)) from None
    text = _decode_recipe(path, raw)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None and _expanded_size(node, {}) > MAX_RECIPE_NODES:
            raise RecipeError(f"its YAML aliases expand to more than {MAX_RECIPE_NODES:,} values; a recipe is a few "
                              "hundred. Refused (an alias bomb?): write the values out", str(path))
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise RecipeError(f"invalid YAML at {where}: {problem}. Check the indentation and quoting there",
                          str(path)) from None
    except RecursionError:
        raise RecipeError("the YAML nests too deeply to be a recipe", str(path)) from None
    if data is None:
        raise RecipeError("the file is empty; a recipe needs at least 'generator:' and 'encoder:' sections "
                          "(see recipes/ for examples)", str(path))
    duplicates: list[Problem] = []
    lines = _line_map(node, duplicates=duplicates)
    if duplicates:
        raise RecipeError(duplicates, str(path))
    return data, lines


def parse_override(text: str) -> tuple[KeyPath, Any]:
    """``"a.b.0.c=value"`` -> (("a", "b", 0, "c"), YAML-typed value)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise RecipeError(f"--set {text!r} is not KEY=VALUE; e.g. --set generator.truncation=0.7", "--set")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise RecipeError(f"--set {text!r}: the value is not valid YAML ({exc})", "--set") from None
    parts: list[str | int] = [int(p) if p.isdigit() else p for p in key.strip().split(".")]
    return tuple(parts), value


def apply_override(data: dict[str, Any], path: KeyPath, value: Any) -> None:
    node: Any = data
    for i, part in enumerate(path):
        last = i == len(path) - 1
        where = format_path(path[:i + 1])
        if isinstance(node, list):
            if not isinstance(part, int) or not -len(node) <= part < len(node):
                raise RecipeError(f"--set {format_path(path)}: {where} is not an index of a list of {len(node)}",
                                  "--set")
        elif isinstance(node, dict):
            if isinstance(part, int):
                part = str(part)
            if not last and node.get(part) is None:
                node[part] = {}
            elif not last and not isinstance(node[part], (dict, list)):
                raise RecipeError(f"--set {format_path(path)}: {where} is a value ({node[part]!r}), not a section",
                                  "--set")
        else:
            raise RecipeError(f"--set {format_path(path)}: {format_path(path[:i])} is not a section", "--set")
        if last:
            node[part] = value
        else:
            node = node[part]


# -- validation -------------------------------------------------------------------------------

class _Checker:
    def __init__(self, lines: dict[KeyPath, int | str]) -> None:
        self.lines = lines
        self.problems: list[Problem] = []

    def line(self, path: KeyPath) -> int | str | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None

    def add(self, path: KeyPath, message: str) -> None:
        self.problems.append(Problem(path, self.line(path), message))

    def mapping(self, value: Any, spec: dict[str, Param], path: KeyPath) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.add(path, f"expected a mapping (key: value lines), got {type(value).__name__} {value!r}")
            return None
        try:
            return validate_params(spec, value)
        except ParamError as err:
            for key, msg in err.problems:
                self.add((*path, key), msg.replace("unknown parameter", "unknown key").replace(
                    "required parameter is missing", "required key is missing"))
            return None


def resolve_path_params(cls: type, params: dict[str, Any], base_dir: Path | None) -> dict[str, Any]:
    """``params`` with every relative file parameter (``Param(path=True)``) that exists under ``base_dir``
    (the recipe's folder) made absolute. Other values (bare file names looked up in the weights folders,
    absolute paths, missing files) are left for the component, which reports them."""
    if base_dir is None:
        return params
    out = dict(params)
    for key, param in cls.all_params().items():
        value = out.get(key)
        if param.path and isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            candidate = base_dir / value
            if candidate.exists():
                out[key] = str(candidate.resolve())
    return out


def _fill_followed_params(chk: _Checker, raw: dict[str, Any], top: dict[str, Any],
                          classes: dict[str, type]) -> None:
    """Give every component parameter declared ``Param(follows="section.key")`` that its recipe section
    leaves unset the value of that (validated) recipe setting, when the recipe has the section."""
    sections: list[tuple[KeyPath, Any, Any]] = [((key,), top.get(key), raw.get(key)) for key in COMPONENT_SECTIONS]
    for key in COMPONENT_LISTS:
        given = raw.get(key) if isinstance(raw.get(key), list) else []
        sections += [((key, i), item, given[i] if i < len(given) else None)
                     for i, item in enumerate(top.get(key) or [])]
    for path, section, given in sections:
        cls = classes.get(format_path(path))
        if not section or cls is None or not isinstance(given, dict):
            continue
        for name, param in cls.all_params().items():
            if param.follows is None or name in given:
                continue
            source, _, setting = param.follows.partition(".")
            if setting not in SUB_SCHEMAS.get(source, {}):
                chk.add((*path, name), f"{cls.__name__} declares that {name!r} follows "
                        f"{param.follows!r}, which is no recipe setting (a plugin bug); set {name!r} here")
            elif isinstance(top.get(source), dict) and setting in top[source]:
                value = top[source][setting]
                problem = check_value(param, value)
                if problem:
                    chk.add((source, setting), f"{problem} (followed by {format_path((*path, name))})")
                else:
                    section[name] = value


def _resolve_section(chk: _Checker, value: Any, kind: str, path: KeyPath, recipe: dict[str, Any],
                     classes: dict[str, type], base_dir: Path | None = None) -> dict[str, Any] | None:
    """Validate one ``{type: NAME, ...params}`` section; return it with defaults filled in."""
    from sgfkit.registry import get_registry

    if not isinstance(value, dict):
        chk.add(path, f"expected a {kind} section {{type: NAME, ...}}, got {type(value).__name__} {value!r}")
        return None
    registry = get_registry()
    name = value.get("type")
    if "type" not in value:
        names = ", ".join(registry.names(kind)) or "(none registered)"
        close = [k for k in value if did_you_mean(str(k), ["type"])]
        hint = f" (found {close[0]!r}: did you mean 'type'?)" if close else ""
        chk.add(path, f"missing 'type': name the {kind} to use{hint}. Available: {names}")
        return None
    if not isinstance(name, str):
        chk.add((*path, "type"), f"expected a {kind} name (str), got {type(name).__name__} {name!r}")
        return None
    try:
        cls = registry.resolve_declaration(kind, name)  # torch-free when the plugin declared it
    except SgfkitError as err:
        chk.add((*path, "type"), str(err))
        return None
    given = {k: v for k, v in value.items() if k != "type"}
    try:
        params = validate_params(cls.all_params(), given)
    except ParamError as err:
        for key, msg in err.problems:
            chk.add((*path, key), f"{msg} ({kind} {name!r})")
        return None
    for key, msg in cls.check_recipe(params, recipe):
        chk.add((*path, key), msg)
    classes[format_path(path)] = cls
    return {"type": name, **resolve_path_params(cls, params, base_dir)}


def _check_targets(chk: _Checker, edits: dict[str, Any]) -> None:
    targets = edits["targets"]
    for i, item in enumerate(targets):
        path = ("edits", "targets", i)
        resolved = chk.mapping(item, TARGET, path)
        if resolved is None:
            continue
        chain = resolved["target"]
        if isinstance(chain, list) and (not chain or not all(isinstance(t, dict) for t in chain)):
            chk.add((*path, "target"), "a chain of targets is a non-empty list of mappings, "
                    "e.g. [{smile: 1.0}, {bald: 1.0}]")
        layers = resolved["layers"]
        if isinstance(layers, list) and not all(isinstance(v, int) and not isinstance(v, bool) for v in layers):
            chk.add((*path, "layers"), f"expected a list of layer indices (int), got {layers!r}")
        targets[i] = resolved


def validate_recipe(data: Any, lines: dict[KeyPath, int | str], origin: str, default_name: str,
                    base_dir: Path | None = None) -> tuple[dict[str, Any], dict[str, type]]:
    """Check a recipe dict; return (resolved data, classes). Raises RecipeError with every problem.

    File parameters given relative to ``base_dir`` (the recipe's folder) come back absolute, for every
    component kind, so each component sees one path rule."""
    if not isinstance(data, dict):
        raise RecipeError(f"a recipe is a mapping of sections (generator:, encoder:, ...), "
                          f"got {type(data).__name__}", origin)
    chk = _Checker(lines)
    top = chk.mapping(data, TOP_LEVEL, ())
    if top is None:  # unknown / missing / mistyped top-level keys: report and also check what we can
        top = {key: data.get(key, param.default) for key, param in TOP_LEVEL.items()
               if check_value(param, data.get(key, param.default)) is None and not
               (param.required and key not in data)}
    top = copy.deepcopy(top)
    if top.get("name") is None:
        top["name"] = default_name
    if "name" in top and not re.fullmatch(r"[A-Za-z0-9._-]+", str(top["name"])):
        chk.add(("name",), f"{top['name']!r} cannot be part of a folder name; use letters, digits, '.', '_', '-'")
    if "device" in top and not DEVICE_PATTERN.match(str(top["device"])):
        chk.add(("device",), f"unknown device {top['device']!r}; use auto, cpu, cuda or cuda:N."
                + (" did you mean 'cuda'?" if str(top["device"]).lower() == "gpu"
                   else did_you_mean(str(top["device"]), ["auto", "cpu", "cuda"])))
    for key, schema in SUB_SCHEMAS.items():
        if top.get(key) is not None:
            resolved = chk.mapping(top[key], schema, (key,))
            top[key] = resolved if resolved is not None else None
            if resolved is None and key in ("dataset", "output", "executor"):
                top.pop(key)
    if top.get("edits"):
        _check_targets(chk, top["edits"])
        if top["edits"].get("video") is not None:
            top["edits"]["video"] = chk.mapping(top["edits"]["video"], VIDEO, ("edits", "video"))

    if isinstance(top.get("projector"), dict) and "type" not in top["projector"]:
        top["projector"] = {"type": "optimize", **top["projector"]}  # e.g. only --set projector.steps=...
    classes: dict[str, type] = {}
    for key, kind in COMPONENT_SECTIONS.items():
        if top.get(key) is not None:
            top[key] = _resolve_section(chk, top[key], kind, (key,), data, classes, base_dir)
    for key, kind in COMPONENT_LISTS.items():
        items = top.get(key) or []
        top[key] = [_resolve_section(chk, item, kind, (key, i), data, classes, base_dir)
                    for i, item in enumerate(items)]
    _fill_followed_params(chk, data, top, classes)
    labels = [m.get("label") or m["type"] for m in top.get("manipulators", []) if m]
    for label in {lab for lab in labels if labels.count(lab) > 1}:
        chk.add(("manipulators",), f"two manipulators are labelled {label!r}; give each a distinct 'label:'")
    if chk.problems:
        raise RecipeError(chk.problems, origin)
    return top, classes


def load_recipe(source: str | Path | dict[str, Any], overrides: Sequence[str] = ()) -> Recipe:
    """Read (file or dict), apply ``--set`` overrides, validate. Raises RecipeError with every problem."""
    lines: dict[KeyPath, int | str]
    if isinstance(source, dict):
        data, lines, origin = copy.deepcopy(source), {}, "recipe"
        default_name, base_dir = "run", Path.cwd()
    else:
        path = Path(source)
        data, lines = read_recipe_file(path)
        origin, default_name, base_dir = str(path), path.stem, path.parent.resolve()
    for text in overrides:
        key, value = parse_override(text)
        if not isinstance(data, dict):
            break
        apply_override(data, key, value)
        lines[key] = "--set"
    resolved, classes = validate_recipe(data, lines, origin, default_name, base_dir)
    return Recipe(resolved, source, list(overrides), base_dir, classes)
