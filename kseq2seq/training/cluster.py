"""The cluster of a multi-worker run, read from the environment.

Every worker runs the same program; what tells them apart is the
environment, in either of two forms:

- `TF_CONFIG` (TensorFlow's convention, read under both backends):
  `{"cluster": {"worker": ["host0:port", "host1:port"]},
  "task": {"type": "worker", "index": 0}}`; a `"chief"` job, if given, is
  worker 0 and the `"worker"` tasks follow it.
- Keras's variables (`keras.distribution.initialize`'s convention, read under
  both backends): `KERAS_DISTRIBUTION_JOB_ADDRESSES` (every worker's
  `host:port`, comma-separated, the coordinator first),
  `KERAS_DISTRIBUTION_NUM_PROCESSES` and `KERAS_DISTRIBUTION_PROCESS_ID`.

Worker 0 is the chief: it alone writes what the user sees (the translator,
the training state). Under JAX its address is the coordinator's.
"""

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
    """The workers of a run and which one this process is.

    Attributes:
        addresses: `host:port` of every worker, the chief (worker 0) first.
        index: this worker's position in `addresses`.
        source: the environment variable(s) it was read from.
    """

    addresses: tuple[str, ...]
    index: int
    source: str

    @property
    def num_workers(self) -> int:
        return len(self.addresses)

    @property
    def is_chief(self) -> bool:
        return self.index == 0

    def tf_cluster_spec(self) -> dict:
        """The `{"worker": [...]}` cluster of `tf.train.ClusterSpec`."""
        return {"worker": list(self.addresses)}


def _fail(source: str, message: str) -> ValueError:
    return ValueError(f"{source}: {message}")


def _from_tf_config(text: str) -> Cluster:
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise _fail("TF_CONFIG", f"not valid JSON ({error})") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise _fail("TF_CONFIG", 'expected {"cluster": {...}, "task": {"type": ..., "index": ...}}')
    jobs = {}
    for job in ("chief", "worker"):
        addresses = cluster.get(job, [])
        if not isinstance(addresses, list) or not all(isinstance(a, str) for a in addresses):
            raise _fail("TF_CONFIG", f'cluster["{job}"] must be a list of "host:port" strings')
        jobs[job] = addresses
    unknown = sorted(set(cluster) - set(jobs))
    if unknown:
        raise _fail("TF_CONFIG", f"only chief and worker jobs train here; found {unknown}")
    if len(jobs["chief"]) > 1:
        raise _fail("TF_CONFIG", f"at most one chief. Received: {jobs['chief']}")
    addresses = jobs["chief"] + jobs["worker"]
    task_type, task_index = task.get("type"), task.get("index", 0)
    if task_type not in ("chief", "worker") or not jobs[task_type]:
        raise _fail("TF_CONFIG", f"task type {task_type!r} is not a job of the cluster")
    if (
        isinstance(task_index, bool)
        or not isinstance(task_index, int)
        or not 0 <= task_index < len(jobs[task_type])
    ):
        raise _fail(
            "TF_CONFIG",
            f"task index must be 0 to {len(jobs[task_type]) - 1} for the {task_type} job. "
            f"Received: {task_index!r}",
        )
    index = task_index if task_type == "chief" else len(jobs["chief"]) + task_index
    return Cluster(tuple(addresses), index, "TF_CONFIG")


def _from_keras_variables(environ: Mapping[str, str]) -> Cluster:
    source = "KERAS_DISTRIBUTION_*"
    missing = [name for name in KERAS_VARIABLES if not environ.get(name)]
    if missing:
        raise _fail(source, f"set all three variables; missing {', '.join(missing)}")
    addresses = tuple(a.strip() for a in environ[KERAS_VARIABLES[0]].split(",") if a.strip())
    try:
        count = int(environ[KERAS_VARIABLES[1]])
        index = int(environ[KERAS_VARIABLES[2]])
    except ValueError:
        raise _fail(source, "the process count and id must be integers") from None
    if count != len(addresses):
        raise _fail(
            source,
            f"{len(addresses)} job addresses for {count} processes: give every worker's address",
        )
    if not 0 <= index < count:
        raise _fail(source, f"the process id must be 0 to {count - 1}. Received: {index}")
    return Cluster(addresses, index, source)


def cluster_from_environment(environ: Mapping[str, str] | None = None) -> Cluster | None:
    """The cluster the environment describes, or None when it describes none.

    Raises:
        ValueError: the variables are malformed or contradict each other
            (the message names the variable and what is wrong).
    """
    environ = os.environ if environ is None else environ
    tf_config = environ.get("TF_CONFIG", "").strip()
    keras_set = any(environ.get(name) for name in KERAS_VARIABLES)
    if tf_config and keras_set:
        raise ValueError("Both TF_CONFIG and KERAS_DISTRIBUTION_* describe a cluster: set only one")
    if tf_config:
        return _from_tf_config(tf_config)
    if keras_set:
        return _from_keras_variables(environ)
    return None
