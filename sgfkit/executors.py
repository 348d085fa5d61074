"""Where the parallel stages run: in this process, or as shards on a Ray cluster.

The recipe's ``executor:`` section picks one. Both run the *same* shard functions
(:mod:`sgfkit.shards`) over the same shards with the same per-shard seeds, so a Ray run gives
bit-identical results to a local run (given the same torch thread count per process) and shares its
cache entries. Ray workers never receive components or checkpoints: each builds its components from
the resolved recipe through the registry (plugins must be installed on every node) and receives only
plain data (latent slices, fitted manipulator state as safetensors bytes).
"""
from __future__ import annotations

import hashlib
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sgfkit.errors import SgfkitError
from sgfkit.params import Param
from sgfkit.progress import progress_task

EXECUTOR: dict[str, Param] = {
    "type": Param(str, "local", "local (this process) | ray (shards as Ray tasks)", choices=("local", "ray")),
    "address": Param(str, None, "ray: 'auto' (the running cluster), 'ray://host:port', or null (start a local Ray)",
                     nullable=True),
    "shard_size": Param(int, 256, "samples per shard (rounded up to whole dataset batches); the same for local "
                                  "and Ray runs, so both give the same results", min=1),
    "num_cpus_per_task": Param(float, 1.0, "ray: CPUs each shard task reserves", min=0.0),
    "num_gpus_per_task": Param(float, 0.0, "ray: GPUs each shard task reserves (e.g. 1 for StyleGAN2-1024)", min=0.0),
    "max_retries": Param(int, 3, "ray: times a shard is retried when its worker dies", min=0),
    "runtime_env": Param(dict, None, "ray: runtime_env of the shard tasks (env_vars, pip, ...)", nullable=True),
}


def shard_seed(seed: int, *keys: Any) -> int:
    """A seed for one shard, derived from the recipe seed and the shard's identity (not its worker)."""
    text = "/".join(map(str, (seed, *keys)))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


class ShardError(SgfkitError):
    """A shard failed for a reason the user can fix (named with the shard and, on Ray, the node)."""


@dataclass
class ShardFailure:
    """What a Ray worker returns instead of raising for a user error (no Ray traceback reaches the user)."""

    message: str
    node: str


@dataclass
class WorkerPayload:
    """Everything a Ray worker needs to rebuild the run's components: plain data only.

    Attributes:
        recipe: the resolved recipe (``Recipe.data``); base_dir: its folder (relative paths).
        fitted: manipulator label -> its fitted state as safetensors bytes.
        providers: component name -> the plugin distribution that provides it (for error messages).
    """

    recipe: dict[str, Any]
    base_dir: str
    fitted: dict[str, bytes] = field(default_factory=dict)
    providers: dict[str, str] = field(default_factory=dict)


class LocalExecutor:
    """Runs every shard in this process, in order, with the components already built."""

    kind = "local"

    def __init__(self, config: dict[str, Any]) -> None:
        self.shard_size = int(config.get("shard_size", EXECUTOR["shard_size"].default))

    def map(self, description: str, fn: Callable[..., Any], items: Sequence[Any], *, components: Any,
            payload: Callable[[], WorkerPayload] | None = None) -> list[Any]:
        results = []
        with progress_task(description, total=len(items)) as task:
            for item in items:
                results.append(fn(components, item))
                task.advance()
        return results

    def close(self) -> None:
        pass


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise SgfkitError("executor type 'ray' needs Ray, which is not installed here: "
                          "pip install \"sgfkit[ray]\" (on the driver and on every node of the cluster)") from None
    return ray


def _node_name() -> str:
    try:
        import ray

        ip = ray.util.get_node_ip_address()
    except Exception:  # noqa: BLE001 - only a label for messages
        ip = "?"
    return f"{socket.gethostname()} ({ip})"


_WORKER_COMPONENTS: dict[str, Any] = {}


def _payload_key(payload: WorkerPayload) -> str:
    digest = hashlib.sha256(repr((payload.recipe, payload.base_dir)).encode())
    for label in sorted(payload.fitted):
        digest.update(label.encode() + hashlib.sha256(payload.fitted[label]).digest())
    return digest.hexdigest()


def worker_components(payload: WorkerPayload) -> Any:
    """Build (once per worker process and payload) the components a Ray shard runs with."""
    key = _payload_key(payload)
    if key not in _WORKER_COMPONENTS:
        from sgfkit.shards import rebuild_components

        _WORKER_COMPONENTS.clear()  # one run's components at a time per worker
        _WORKER_COMPONENTS[key] = rebuild_components(payload)
    return _WORKER_COMPONENTS[key]


def run_shard_on_worker(payload: WorkerPayload, fn: Callable[..., Any], item: Any) -> Any:
    """The body of every Ray task: rebuild components, run one shard; user errors come back as data."""
    try:
        return fn(worker_components(payload), item)
    except SgfkitError as err:
        return ShardFailure(str(err), _node_name())


class RayExecutor:
    """Runs shards as Ray tasks (one task per shard) and gathers the results in shard order."""

    kind = "ray"

    def __init__(self, config: dict[str, Any]) -> None:
        self.ray = _import_ray()
        self.config = {key: config.get(key, param.default) for key, param in EXECUTOR.items()}
        self.shard_size = int(self.config["shard_size"])
        self._started_here = False
        if not self.ray.is_initialized():
            address = self.config["address"]
            try:
                self.ray.init(address=address, ignore_reinit_error=True, log_to_driver=False,
                              include_dashboard=False, configure_logging=False)
            except ConnectionError as err:
                raise SgfkitError(f"cannot reach the Ray cluster at {address!r} ({err}); start one with "
                                  "`ray start --head` or set executor.address to null for a local Ray") from None
            self._started_here = True

    def map(self, description: str, fn: Callable[..., Any], items: Sequence[Any], *, components: Any,
            payload: Callable[[], WorkerPayload] | None = None) -> list[Any]:
        if not items:
            return []
        if payload is None:
            raise ValueError("a Ray map needs the worker payload")
        ray = self.ray
        options: dict[str, Any] = {"num_cpus": self.config["num_cpus_per_task"],
                                   "num_gpus": self.config["num_gpus_per_task"],
                                   "max_retries": self.config["max_retries"]}
        if self.config["runtime_env"]:
            options["runtime_env"] = self.config["runtime_env"]
        task = ray.remote(run_shard_on_worker).options(**options)
        payload_ref = ray.put(payload())
        refs = [task.remote(payload_ref, fn, item) for item in items]
        index = {ref: i for i, ref in enumerate(refs)}
        results: list[Any] = [None] * len(refs)
        pending = list(refs)
        try:
            with progress_task(f"{description} (Ray, {len(refs)} shards)", total=len(refs)) as bar:
                while pending:
                    done, pending = ray.wait(pending, num_returns=1)
                    for ref in done:
                        result = self._get(ref, index[ref])
                        if isinstance(result, ShardFailure):
                            raise ShardError(f"{description}, shard {index[ref] + 1}/{len(refs)} on Ray node "
                                             f"{result.node}: {result.message}")
                        results[index[ref]] = result
                        bar.advance()
        except BaseException:  # a failed shard or Ctrl-C: nothing else keeps running for this run
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
        return results

    def _get(self, ref: Any, i: int) -> Any:
        ray = self.ray
        try:
            return ray.get(ref)
        except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError,
                ray.exceptions.OutOfMemoryError) as err:
            raise ShardError(f"shard {i + 1}: its Ray worker died {self.config['max_retries'] + 1} times "
                             f"({type(err).__name__}); the node may be out of memory: use a smaller "
                             "executor.shard_size or dataset.batch_size") from None

    def close(self) -> None:
        if self._started_here:
            self.ray.shutdown()


def make_executor(config: dict[str, Any] | None) -> LocalExecutor | RayExecutor:
    """The executor a recipe's (validated) ``executor:`` section asks for."""
    config = config or {}
    if config.get("type", "local") == "ray":
        return RayExecutor(config)
    return LocalExecutor(config)
