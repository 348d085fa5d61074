"""The executor section: validation, sharded local runs, and a local Ray cluster giving identical results."""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

import sgfkit
from sgfkit.errors import SgfkitError
from sgfkit.recipe import RecipeError, load_recipe

TINY = Path(__file__).parent / "fixtures" / "core" / "recipes" / "tiny.yaml"
TINY_SITE = Path(__file__).parent / "fixtures" / "core" / "site"


def _tiny(tmp_path: Path, executor: dict, cache: str) -> Path:
    data = yaml.safe_load(TINY.read_text())
    data["executor"] = executor
    data["edits"]["targets"][1]["layers"] = "auto"  # the layer map is measured once, before the edits are sharded
    data["output"] = {"dir": str(tmp_path / "runs"), "cache_dir": str(tmp_path / cache)}
    path = tmp_path / f"tiny-{cache}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def _comparable(run_dir: Path) -> tuple[dict, dict]:
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics.pop("timings_s", None)
    with np.load(run_dir / "latents.npz") as latents:
        arrays = {key: latents[key] for key in latents.files}
    return metrics, arrays


def _dataset(cache_dir: Path):
    from sgfkit.dataset import LatentDataset

    (path,) = (cache_dir / "datasets").glob("*.safetensors")
    return LatentDataset.load(path)


def test_executor_section_is_validated_with_did_you_mean(tiny_plugins, tmp_path):
    with pytest.raises(RecipeError) as err:
        load_recipe(_tiny(tmp_path, {"type": "rayy", "shard_sise": 4, "num_gpus_per_task": -1}, "c"))
    text = str(err.value)
    assert "executor.type" in text and "did you mean 'ray'" in text
    assert "executor.shard_sise" in text and "did you mean 'shard_size'" in text
    assert "executor.num_gpus_per_task" in text and "below the minimum" in text
    recipe = load_recipe(TINY, ["executor.type=ray", "executor.address=auto"])
    assert recipe.data["executor"]["type"] == "ray" and recipe.data["executor"]["shard_size"] == 256


def test_ray_executor_without_ray_names_the_extra(tiny_plugins, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(SgfkitError, match=r'pip install "sgfkit\[ray\]"'):
        sgfkit.run(_tiny(tmp_path, {"type": "ray"}, "c"))


def test_shard_size_does_not_change_a_local_run(tiny_plugins, tmp_path):
    whole = sgfkit.run(_tiny(tmp_path, {"type": "local", "shard_size": 1000}, "whole")).run_dir
    sharded = sgfkit.run(_tiny(tmp_path, {"type": "local", "shard_size": 8}, "sharded")).run_dir
    a, b = _dataset(tmp_path / "whole"), _dataset(tmp_path / "sharded")
    assert np.array_equal(a.latents.numpy(), b.latents.numpy())
    assert np.array_equal(a.conditions.numpy(), b.conditions.numpy())
    metrics_a, arrays_a = _comparable(whole)
    metrics_b, arrays_b = _comparable(sharded)
    assert arrays_a.keys() == arrays_b.keys()
    assert all(np.array_equal(arrays_a[k], arrays_b[k]) for k in arrays_a)


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(TINY_SITE), "SGFKIT_LOAD_PLUGINS": "sgfkit-tiny",
                                       "OMP_NUM_THREADS": "1"}})
    yield ray
    ray.shutdown()


@pytest.mark.slow
@pytest.mark.integration
def test_ray_run_is_bit_identical_to_a_local_run(local_ray, tiny_plugins, tmp_path):
    executor = {"shard_size": 16, "address": "auto"}
    local = sgfkit.run(_tiny(tmp_path, {"type": "local", **executor}, "local")).run_dir
    remote = sgfkit.run(_tiny(tmp_path, {"type": "ray", **executor}, "ray")).run_dir
    a, b = _dataset(tmp_path / "local"), _dataset(tmp_path / "ray")
    assert len(a) == 128 and np.array_equal(a.conditions.numpy(), b.conditions.numpy())
    assert np.array_equal(a.latents.numpy(), b.latents.numpy())
    metrics_a, arrays_a = _comparable(local)
    metrics_b, arrays_b = _comparable(remote)
    assert metrics_a["metrics"] == metrics_b["metrics"]
    assert metrics_a["layer_map"] == metrics_b["layer_map"] and metrics_a["edits"] == metrics_b["edits"]
    assert arrays_a.keys() == arrays_b.keys() and all(np.array_equal(arrays_a[k], arrays_b[k]) for k in arrays_a)
    # the cache is shared: a Ray rerun into the local run's cache samples and fits nothing
    rerun = sgfkit.run(_tiny(tmp_path, {"type": "ray", **executor}, "local"))
    assert all(rerun.cache_hits.values())


@pytest.mark.slow
@pytest.mark.integration
def test_worker_without_the_plugin_names_plugin_and_node(local_ray, tiny_plugins, tmp_path):
    executor = {"type": "ray", "shard_size": 64, "address": "auto",
                "runtime_env": {"env_vars": {"SGFKIT_LOAD_PLUGINS": "no-such-plugin", "PYTHONPATH": str(TINY_SITE)}}}
    with pytest.raises(SgfkitError) as err:
        sgfkit.run(_tiny(tmp_path, executor, "missing"))
    text = str(err.value)
    # both shards fail; whichever Ray finishes first is the one reported
    assert re.search(r"Sampling dataset, shard [12]/2 on Ray node", text) and "sgfkit-tiny" in text
    assert "Traceback" not in text


@pytest.mark.slow
@pytest.mark.integration
def test_a_shard_whose_worker_dies_is_retried(local_ray, tiny_plugins, tmp_path):
    """The encoder kills its worker process on its first call; Ray reruns the shard and the run completes."""
    marker = tmp_path / "died"
    path = _tiny(tmp_path, {"type": "ray", "shard_size": 64, "address": "auto", "max_retries": 2}, "crash")
    data = yaml.safe_load(path.read_text())
    data["encoder"]["die_once"] = str(marker)
    data.pop("edits"), data.pop("evaluation")
    path.write_text(yaml.safe_dump(data))
    result = sgfkit.run(path)
    assert marker.exists() and int(marker.read_text()) != os.getpid()  # a worker died, not the driver
    assert len(_dataset(tmp_path / "crash")) == 128 and result.cache_hits["dataset"] is False
