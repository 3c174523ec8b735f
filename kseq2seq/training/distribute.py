"""Data-parallel training on the engine of the Keras backend (README, "several devices")."""

from __future__ import annotations

import contextlib
import weakref
from typing import Any

import keras
import numpy as np

from kseq2seq.checks import check_choice
from kseq2seq.training.cluster import Cluster, cluster_from_environment

STRATEGIES = ("auto", "data_parallel", "mirrored", "multi_worker_mirrored")
_BACKEND_STRATEGIES = {
    "jax": ("data_parallel",),
    "tensorflow": ("mirrored", "multi_worker_mirrored"),
}


class DataParallelEngine:
    """The data-parallel engine of the current Keras backend.

    Args:
        strategy: `"auto"` (the backend's first), `"data_parallel"` (JAX), `"mirrored"` or
            `"multi_worker_mirrored"` (TensorFlow).
        devices: the devices to use (`"gpu:0"` under JAX, `"/gpu:0"` under TensorFlow), by
            default all (without GPUs, all logical CPUs). Not used by multi-worker.
        timeout: seconds a multi-worker collective waits for the others before it fails.

    Raises:
        ValueError: an unknown strategy, one the backend does not run, or no devices.
    """

    def __init__(
        self,
        strategy: str = "auto",
        devices: list[str] | None = None,
        timeout: int = 120,
        _cluster: Cluster | None = None,
    ):
        backend = keras.backend.backend()
        check_choice("strategy", strategy, STRATEGIES)
        supported = _BACKEND_STRATEGIES.get(backend, ())
        if strategy == "auto" and supported:
            strategy = supported[0]
        if strategy not in supported:
            shown = ", ".join(repr(name) for name in supported) or "none"
            raise ValueError(
                f"strategy={strategy!r} does not run on the {backend!r} backend. "
                f"Strategies of this backend: {shown}"
            )
        devices = None if devices is None else list(devices)
        if devices == []:
            raise ValueError("devices must name at least one device. Received: []")
        if strategy == "multi_worker_mirrored" and _cluster is None:
            _cluster = cluster_from_environment()
        self.strategy = strategy
        self.backend = backend
        self.cluster = _cluster
        self._models = weakref.WeakSet()  # the models made in this scope
        if strategy == "data_parallel":
            # Every process of a cluster feeds its own part of each batch.
            self.engine = keras.distribution.DataParallel(
                devices=devices, auto_shard_dataset=_cluster is None
            )
            return
        import tensorflow as tf

        if strategy == "mirrored":
            if devices is None and not tf.config.list_logical_devices("GPU"):
                devices = [device.name for device in tf.config.list_logical_devices("CPU")]
            self.engine = tf.distribute.MirroredStrategy(devices=devices)
            return
        resolver = None  # without a cluster: TF_CONFIG, as TensorFlow reads it
        if _cluster is not None:
            resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
                tf.train.ClusterSpec({"worker": list(_cluster.addresses)}),
                task_type="worker",
                task_id=_cluster.index,
                rpc_layer="grpc",
            )
        self.engine = tf.distribute.MultiWorkerMirroredStrategy(
            cluster_resolver=resolver,
            communication_options=tf.distribute.experimental.CommunicationOptions(
                timeout_seconds=timeout
            ),
        )

    @classmethod
    def from_environment(cls, timeout: int = 120) -> DataParallelEngine:
        """The engine of the cluster in the environment, made on every worker before any
        TensorFlow or JAX computation. Workers wait `timeout` seconds for each other.

        Raises:
            ValueError: the environment describes no cluster, or a malformed one.
        """
        cluster = cluster_from_environment()
        if cluster is None:
            raise ValueError(
                "No cluster in the environment: set TF_CONFIG (or KERAS_DISTRIBUTION_JOB_"
                "ADDRESSES, _NUM_PROCESSES and _PROCESS_ID) on every worker"
            )
        if keras.backend.backend() != "jax":
            return cls("multi_worker_mirrored", timeout=timeout, _cluster=cluster)
        import jax

        if not jax.distributed.is_initialized():
            # JAX's only CPU collectives are gloo's; GPUs use NCCL whatever this says.
            jax.config.update("jax_cpu_collectives_implementation", "gloo")
            jax.distributed.initialize(
                coordinator_address=cluster.addresses[0],
                num_processes=cluster.num_workers,
                process_id=cluster.index,
                initialization_timeout=timeout,
                heartbeat_timeout_seconds=timeout,
            )
        return cls("data_parallel", _cluster=cluster)

    @property
    def num_workers(self) -> int:
        """How many processes train together (1 without a cluster)."""
        return self.cluster.num_workers if self.cluster else 1

    @property
    def is_chief(self) -> bool:
        """Whether this process writes the results (worker 0, or no cluster)."""
        return self.cluster is None or self.cluster.is_chief

    @property
    def num_replicas(self) -> int:
        """How many copies of the model train side by side."""
        if self.strategy == "data_parallel":
            return int(self.engine.device_mesh.devices.size)
        return int(self.engine.num_replicas_in_sync)

    @contextlib.contextmanager
    def scope(self):
        """Builds, compiles and trains inside this `with` block (`as` binds this engine)."""
        with self.engine.scope():
            yield self

    def check_batch_size(self, batch_size: int) -> None:
        """Raises ValueError unless the replicas split `batch_size` evenly."""
        if batch_size % self.num_replicas:
            raise ValueError(
                f"batch_size={batch_size} does not split evenly over {self.num_replicas} "
                "replicas: use a multiple of the number of replicas"
            )

    def build_model(self, config=None, compile: bool = True, **overrides: Any) -> keras.Model:
        """`kseq2seq.build_model` in the scope, compiled with `compile_model` if `compile`."""
        from kseq2seq.models.builder import build_model
        from kseq2seq.training.losses import compile_model

        with self.scope():
            model = build_model(config, **overrides)
        if self.strategy == "multi_worker_mirrored":
            # Keras 3.15 fails on the first batch of a model made in this scope
            # (keras-team/keras#20329); rewrapped outside it, its variables stay distributed.
            wrapped = _MultiWorkerModel(inputs=model.input, outputs=model.output, name=model.name)
            wrapped.dtype_policy = model.dtype_policy
            model = wrapped
        if compile:
            with self.scope():
                compile_model(model)
        self._models.add(model)
        return model

    def replicate(self, model: keras.Model, compile: bool = True) -> keras.Model:
        """A copy of a `build_model` model made in the scope: same weights, fresh optimizer."""
        from kseq2seq.models.builder import model_config

        copy = self.build_model(model_config(model), compile=compile)
        copy.set_weights(model.get_weights())
        return copy

    def local_copy(self, model: keras.Model) -> keras.Model:
        """An uncompiled copy outside the engine, to save or translate with after training."""
        from kseq2seq.models.builder import build_model, model_config

        copy = build_model(model_config(model))
        copy.set_weights(model.get_weights())
        return copy

    def check_agreement(self, values: dict[str, int]) -> None:
        """Raises ValueError, naming each worker's `values` (integers by name), unless every
        worker holds the same. A collective: every worker must call it at the same point."""
        if self.num_workers == 1:
            return
        local = np.array([list(values.values())], dtype="int64")
        if self.backend == "jax":
            from jax.experimental import multihost_utils

            rows = np.asarray(multihost_utils.process_allgather(local)).reshape(-1, local.size)
        else:
            import tensorflow as tf

            shared = self.engine.experimental_distribute_values_from_function(
                lambda context: tf.constant(local)
            )
            rows = self.engine.gather(shared, axis=0).numpy()
        if (rows != rows[0]).any():
            shown = "; ".join(
                f"worker {index}: " + ", ".join(f"{n}={v}" for n, v in zip(values, row))
                for index, row in enumerate(rows.tolist())
            )
            raise ValueError(f"The workers disagree ({shown})")

    def disconnect(self) -> None:
        """Leaves the cluster (under JAX): a barrier, after which each worker computes alone."""
        if self.backend == "jax" and self.num_workers > 1:
            import jax

            jax.distributed.shutdown()

    def even_batches(self, dataset):
        """Under JAX, `dataset`'s batches padded with empty rows (no token, loss or gradient)
        to a multiple of the replicas, each process keeping its own rows."""
        if self.strategy != "data_parallel" or self.num_replicas == 1:
            return dataset
        import tensorflow as tf

        replicas, workers = self.num_replicas, self.num_workers
        index = self.cluster.index if self.cluster else 0

        def even_part(*batch):
            size = tf.shape(batch[0]["source"])[0]
            extra = -size % replicas
            # This process's rows: the processes' parts, in order, make up the global batch.
            part = (size + extra) // workers

            def pad_and_slice(tensor):
                padded = tf.pad(tensor, [[0, extra]] + [[0, 0]] * (tensor.shape.rank - 1))
                return padded[index * part : (index + 1) * part]

            return tf.nest.map_structure(pad_and_slice, batch)

        return dataset.map(even_part)

    def fit_translator(self, translator, train_pairs, *args, batch_size: int = 64, **kwargs):
        """`translator.fit` on this engine, on a copy of its model made in the scope if needed."""
        self.check_batch_size(batch_size)
        if translator.model not in self._models:
            translator.model = self.replicate(translator.model)
        make_dataset = translator.dataset
        translator.dataset = lambda *a, **k: self.even_batches(make_dataset(*a, **k))
        try:
            with self.scope():
                return translator.fit(train_pairs, *args, batch_size=batch_size, **kwargs)
        finally:
            del translator.dataset

    def __repr__(self) -> str:
        workers = f", workers={self.num_workers}" if self.cluster else ""
        replicas = f"replicas={self.num_replicas}{workers}"
        return f"DataParallelEngine(strategy={self.strategy!r}, {replicas})"


class _MultiWorkerModel(keras.Model):
    """Its step logs shaped (1,): Keras 3.15 fails to reduce scalar logs across workers."""

    def train_step(self, data):
        return {name: keras.ops.reshape(v, (1,)) for name, v in super().train_step(data).items()}

    def test_step(self, data):
        return {name: keras.ops.reshape(v, (1,)) for name, v in super().test_step(data).items()}


def as_engine(distribute) -> DataParallelEngine | None:
    """None, a strategy name or a `DataParallelEngine` -> an engine or None."""
    if distribute is None or isinstance(distribute, DataParallelEngine):
        return distribute
    if isinstance(distribute, str):
        return DataParallelEngine(distribute)
    raise TypeError(
        "distribute must be None, a strategy name or a DataParallelEngine. "
        f"Received: {type(distribute).__name__}"
    )
