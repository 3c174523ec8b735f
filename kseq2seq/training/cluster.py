"""The cluster of a multi-worker run, from `TF_CONFIG` or `KERAS_DISTRIBUTION_*` variables."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping

KERAS_VARIABLES = (
    "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "KERAS_DISTRIBUTION_PROCESS_ID",
)


@dataclasses.dataclass(frozen=True)
class Cluster:
    """The workers' `addresses` (the chief first), this worker's `index`, and their `source`."""

    addresses: tuple[str, ...]
    index: int
    source: str

    @property
    def num_workers(self) -> int:
        return len(self.addresses)

    @property
    def is_chief(self) -> bool:
        return self.index == 0


def _from_tf_config(text: str) -> Cluster:
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG: not valid JSON ({error})") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise ValueError(
            'TF_CONFIG: expected {"cluster": {...}, "task": {"type": ..., "index": ...}}'
        )
    jobs = {job: cluster.get(job, []) for job in ("chief", "worker")}
    for job, addresses in jobs.items():
        if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
            raise ValueError(f'TF_CONFIG: cluster["{job}"] must be a list of "host:port" strings')
    unknown = sorted(set(cluster) - set(jobs))
    if unknown:
        raise ValueError(f"TF_CONFIG: only chief and worker jobs train here; found {unknown}")
    if len(jobs["chief"]) > 1:
        raise ValueError(f"TF_CONFIG: at most one chief. Received: {jobs['chief']}")
    task_type, task_index = task.get("type"), task.get("index", 0)
    if task_type not in ("chief", "worker") or not jobs[task_type]:
        raise ValueError(f"TF_CONFIG: task type {task_type!r} is not a job of the cluster")
    if type(task_index) is not int or not 0 <= task_index < len(jobs[task_type]):
        raise ValueError(
            f"TF_CONFIG: task index must be 0 to {len(jobs[task_type]) - 1} for the {task_type} "
            f"job. Received: {task_index!r}"
        )
    index = task_index if task_type == "chief" else len(jobs["chief"]) + task_index
    return Cluster(tuple(jobs["chief"] + jobs["worker"]), index, "TF_CONFIG")


def _from_keras_variables(environ: Mapping[str, str]) -> Cluster:
    source = "KERAS_DISTRIBUTION_*"
    missing = [name for name in KERAS_VARIABLES if not environ.get(name)]
    if missing:
        raise ValueError(f"{source}: set all three variables; missing {', '.join(missing)}")
    addresses = tuple(a.strip() for a in environ[KERAS_VARIABLES[0]].split(",") if a.strip())
    try:
        count, index = (int(environ[name]) for name in KERAS_VARIABLES[1:])
    except ValueError:
        raise ValueError(f"{source}: the process count and id must be integers") from None
    if count != len(addresses):
        raise ValueError(
            f"{source}: {len(addresses)} job addresses for {count} processes: give every "
            "worker's address"
        )
    if not 0 <= index < count:
        raise ValueError(f"{source}: the process id must be 0 to {count - 1}. Received: {index}")
    return Cluster(addresses, index, source)


def cluster_from_environment(environ: Mapping[str, str] | None = None) -> Cluster | None:
    """The cluster the environment describes, or None.

    Raises:
        ValueError: the variables are malformed or contradict each other.
    """
    environ = os.environ if environ is None else environ
    tf_config = environ.get("TF_CONFIG", "").strip()
    keras_set = any(environ.get(name) for name in KERAS_VARIABLES)
    if tf_config and keras_set:
        raise ValueError("Both TF_CONFIG and KERAS_DISTRIBUTION_* describe a cluster: set only one")
    if tf_config:
        return _from_tf_config(tf_config)
    return _from_keras_variables(environ) if keras_set else None
