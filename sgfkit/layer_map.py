"""``layers: auto``: which w+ layer groups move what a target names, measured on the run's own G and C.

StyleGAN-like generators control different things from different layers (pose and shape coarse,
colour fine), and an edit confined to the layers that carry what it asks changes less of the rest.
The paper picks the layers by hand per target. Here they are measured: for each disjoint layer group
of the generator, ``samples`` source latents get that group's layers from another sample (style
mixing), the encoder reads both, and :meth:`ConditionEncoder.aspect_changes` says how much each
*aspect* of the reading changed (an attribute, a landmark coordinate, a caption's petal colour...).
An aspect's *share* in a group is its mean change there over the sum across groups. A target takes
every group holding at least :data:`AUTO_SHARE` of some aspect it names
(:meth:`ConditionEncoder.target_aspects`). An aspect no group changed (the encoder never reads it)
cannot be placed: no edit through this encoder can follow it, so it adds no layers (the run notes it);
a target that names nothing else edits all layers. A target whose aspects fall into disjoint sets of
groups is edited in stages, finest layers first (:func:`plan_stages`, ``sgfkit.edits.edit_in_stages``).

Deterministic: the probes come from fixed seeds, so every worker of a sharded run measures the same map.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

#: a group is chosen for an aspect when it holds at least this share of the aspect's measured change
AUTO_SHARE = 0.2
#: seeds of the probe latents (sources, then donors); apart from recipe seeds and evaluation samples
LAYER_MAP_SEED = 771_000
#: probe latents per group (``edits.layer_probes``): the map renders and reads (groups + 1) x this many images
LAYER_MAP_SAMPLES = 64


def disjoint_groups(groups: dict[str, list[int]]) -> dict[str, list[int]]:
    """The generator's named groups that do not overlap (the smallest win, so ``all`` and unions drop out),
    in layer order."""
    chosen: dict[str, list[int]] = {}
    taken: set[int] = set()
    for name, layers in sorted(groups.items(), key=lambda item: (len(item[1]), item[0])):
        if layers and not taken & set(layers):
            chosen[name] = sorted(layers)
            taken |= set(layers)
    return dict(sorted(chosen.items(), key=lambda item: item[1][0]))


@dataclass
class LayerMap:
    """Measured layer control of one (generator, encoder) pair.

    Attributes:
        groups: disjoint group name -> layer indices, in layer order.
        change: aspect -> group -> mean change of that aspect when only that group's layers were swapped.
        samples: probe latents per group.
    """

    groups: dict[str, list[int]]
    change: dict[str, dict[str, float]]
    samples: int

    def shares(self, aspect: str) -> dict[str, float] | None:
        """group -> share of ``aspect``'s change (sums to 1); None when no group changed it."""
        per_group = self.change.get(aspect, {})
        total = sum(per_group.values())
        if total <= 0:
            return None
        return {group: per_group.get(group, 0.0) / total for group in self.groups}

    def groups_of(self, aspect: str) -> list[str] | None:
        """The groups holding at least :data:`AUTO_SHARE` of ``aspect``'s change; None when no group changed it."""
        shares = self.shares(aspect)
        return None if shares is None else [g for g, s in shares.items() if s >= AUTO_SHARE]

    def stages(self, aspects: list[str]) -> list[tuple[list[str], list[int]]] | None:
        """(aspects, layers) per stage, finest layers first, when the named aspects fall into disjoint sets of
        groups (colour in the fine layers, size in the coarse ones); None when one edit must do it all (one
        set, overlapping sets, or an aspect no group changed)."""
        by_groups: dict[tuple[str, ...], list[str]] = {}
        for aspect in aspects:
            groups = self.groups_of(aspect)
            if not groups:
                return None
            by_groups.setdefault(tuple(groups), []).append(aspect)
        used = [g for groups in by_groups for g in groups]
        if len(by_groups) < 2 or len(used) != len(set(used)):
            return None
        stages = [(named, sorted(i for g in groups for i in self.groups[g])) for groups, named in by_groups.items()]
        return sorted(stages, key=lambda stage: -max(stage[1]))

    def choose(self, aspects: list[str]) -> tuple[list[int] | None, str]:
        """(layer indices, or None for all layers; why) for a target naming ``aspects``."""
        picked: set[str] = set()
        reasons, unplaced = [], []
        for aspect in aspects:
            mine, shares = self.groups_of(aspect), self.shares(aspect)
            if mine is None or shares is None:
                unplaced.append(aspect)
                continue
            picked.update(mine)
            reasons.append(f"{aspect}: " + ", ".join(f"{g} {shares[g]:.2f}" for g in mine))
        unread = (f"no layer group changed the reading of {', '.join(unplaced)} in {self.samples} probes "
                  "(the encoder does not read it, so no edit can follow it)") if unplaced else ""
        if not picked:
            return None, f"all layers: {unread or 'the target names nothing'}"
        names = [g for g in self.groups if g in picked]
        layers = sorted(i for g in names for i in self.groups[g])
        return layers, f"{' + '.join(names)} {layers} ({'; '.join(reasons)})" + (f"; {unread}" if unread else "")

    def to_json(self) -> dict[str, Any]:
        return {"groups": self.groups, "samples": self.samples, "auto_share": AUTO_SHARE,
                "change": {a: {g: round(v, 4) for g, v in per.items()} for a, per in sorted(self.change.items())}}


def measure_layer_map(generator: Any, encoder: Any, samples: int = LAYER_MAP_SAMPLES) -> LayerMap:
    """Swap each disjoint layer group of ``samples`` probe latents for a donor's and read what changed."""
    import torch

    from sgfkit.latents import Latents

    groups = disjoint_groups(generator.layer_groups)
    seeds = range(LAYER_MAP_SEED, LAYER_MAP_SEED + samples)
    sources = generator.to_latents(generator.z_from_seeds(list(seeds)), "w+")
    donors = generator.to_latents(generator.z_from_seeds([s + samples for s in seeds]), "w+")
    c0 = encoder.measure(generator, sources)
    change: dict[str, dict[str, float]] = {}
    for name, layers in groups.items():
        mixed = sources.tensor.clone()
        mixed[:, layers] = donors.tensor[:, layers]
        c1 = encoder.measure(generator, Latents(mixed, "w+"))
        for aspect, amount in encoder.aspect_changes(c0, c1).items():
            change.setdefault(aspect, {})[name] = float(torch.as_tensor(amount, dtype=torch.float32).mean())
    return LayerMap(groups, change, samples)


def target_aspects(encoder: Any, target: dict[str, Any] | list[dict[str, Any]]) -> list[str]:
    """What a recipe target (or every stage of a chain) names, as the encoder's aspects."""
    stages = target if isinstance(target, list) else [target]
    aspects: list[str] = []
    for stage in stages:
        aspects += [a for a in encoder.target_aspects(stage) if a not in aspects]
    return aspects


def auto_targets(generator: Any, edits: dict[str, Any]) -> list[int]:
    """Indices of the targets that ask for ``layers: auto`` in a w+ run (elsewhere layers are ignored)."""
    if generator.space != "w+":
        return []
    return [i for i, t in enumerate(edits["targets"]) if t.get("layers") == "auto"]


def resolve_auto_layers(generator: Any, encoder: Any, edits: dict[str, Any]) -> tuple[dict[str, Any], LayerMap | None,
                                                                                       list[str]]:
    """``edits`` with every ``layers: auto`` replaced by measured indices; (edits, the map or None, notes).

    Only w+ runs have layers; elsewhere ``auto`` stays and is ignored like any layer choice.
    """
    autos = auto_targets(generator, edits)
    if not autos:
        return edits, None, []
    layer_map = measure_layer_map(generator, encoder, int(edits.get("layer_probes", LAYER_MAP_SAMPLES)))
    resolved = copy.deepcopy(edits)
    notes = []
    for i in autos:
        target = resolved["targets"][i]
        aspects = target_aspects(encoder, target["target"])
        layers, why = layer_map.choose(aspects)
        target["layers"] = layers
        staged = plan_stages(layer_map, encoder, target["target"], aspects)
        if staged:
            target["stages"] = staged
            why += "; in stages, finest layers first: " + ", then ".join(
                f"{json.dumps(s['target'], separators=(',', ':'))} on {s['layers']}" for s in staged)
        notes.append(f"edit '{target.get('label') or i}': layers auto -> {why}")
    return resolved, layer_map, notes


def plan_stages(layer_map: LayerMap, encoder: Any, spec: Any, aspects: list[str]) -> list[dict[str, Any]] | None:
    """A target whose named aspects live in disjoint layer groups, as one sub-target per group set
    (``[{"target": spec, "layers": [...]}, ...]``, finest first), or None. Edited in one go, the single step
    for the whole target is written into every chosen group, so the coarse layers also take the colour part
    of it, and what the encoder does not read there (a flower's petal count) drifts. Each stage moves only
    the group that carries what it asks. None for chains and for encoders that cannot split a target
    (:meth:`ConditionEncoder.sub_target`)."""
    if isinstance(spec, list):
        return None
    stages = layer_map.stages(aspects)
    if not stages:
        return None
    subs = [encoder.sub_target(spec, named) for named, _ in stages]
    if any(s is None for s in subs):
        return None
    return [{"target": s, "layers": layers} for s, (_, layers) in zip(subs, stages)]
