"""Data-parallel training on several devices, with the engine of the backend.

- JAX: `keras.distribution.DataParallel` over the visible devices: the
  variables are replicated, every batch is split along its first axis, and
  the train step is one program partitioned by XLA, so the loss and the
  gradients are those of the whole batch.
- TensorFlow: `tf.distribute.MirroredStrategy` (one machine, several GPUs or
  logical CPUs) or `tf.distribute.MultiWorkerMirroredStrategy` (several
  machines, configured by the `TF_CONFIG` environment variable of every
  worker). The model is built and compiled inside `strategy.scope()`; each
  replica computes the masked loss over its share of the batch and Keras
  averages the replicas, which equals the whole batch's token mean when the
  replicas hold equally many target tokens (nearly so with length bucketing).

Usage:

    engine = DataParallelEngine()                  # all devices
    model = engine.build_model(config)             # built and compiled in the scope
    with engine.scope():
        model.fit(dataset, epochs=10)              # global batches

    engine.fit_translator(translator, pairs, epochs=10, batch_size=256)

The global batch size must be a multiple of the number of replicas. Under
JAX every batch must be: `fit_translator` pads the others (the last, partial
batch of a length bucket) with empty rows that carry no token and no loss;
`even_batches` does it for your own `tf.data` pipelines.

Several processes (one per machine): `DataParallelEngine.from_environment()`
reads the cluster from `TF_CONFIG` or Keras's `KERAS_DISTRIBUTION_*`
variables (`kseq2seq.training.cluster`) and runs
`MultiWorkerMirroredStrategy` (TensorFlow) or `jax.distributed` with
`keras.distribution.DataParallel` over the devices of every process (JAX).
Every worker builds the same global batches; each feeds its part of them.
The loss is the token mean of the whole global batch on every engine, so a
run on several workers follows one process training on the global batch.
Collectives that wait longer than `timeout` seconds for a worker (one that
died) fail with an error instead of hanging.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Any

import keras

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
        strategy: `"auto"` (`"data_parallel"` under JAX, `"mirrored"` under
            TensorFlow), `"data_parallel"` (JAX), `"mirrored"` or
            `"multi_worker_mirrored"` (TensorFlow).
        devices: the devices to use, by default all: JAX device strings as
            `keras.distribution.list_devices()` gives them (`"gpu:0"`), or
            TensorFlow device names (`"/gpu:0"`). Without GPUs, TensorFlow
            uses all logical CPU devices. Not used by
            `"multi_worker_mirrored"`, whose workers come from `TF_CONFIG`.
        timeout: for `"multi_worker_mirrored"`: seconds a collective waits
            for the other workers before it fails.

    Raises:
        ValueError: an unknown strategy, one the backend does not run (the
            PyTorch backend runs none here), or an empty device list.
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
        if devices is not None:
            devices = list(devices)
            if not devices:
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
        else:
            import tensorflow as tf

            if strategy == "mirrored":
                if devices is None and not tf.config.list_logical_devices("GPU"):
                    devices = [device.name for device in tf.config.list_logical_devices("CPU")]
                self.engine = tf.distribute.MirroredStrategy(devices=devices)
            else:
                self.engine = _multi_worker_strategy(_cluster, timeout)

    @classmethod
    def from_environment(cls, timeout: int = 120) -> DataParallelEngine:
        """The engine of the cluster that the environment describes.

        Run the same program on every worker, each with its own `TF_CONFIG`
        (or `KERAS_DISTRIBUTION_*` variables, see
        `kseq2seq.training.cluster`). Under TensorFlow it must be called
        before any TensorFlow op runs in the process, under JAX before any
        JAX computation.

        Args:
            timeout: seconds a worker waits for the others (to join, and in
                each collective) before it fails with an error.

        Raises:
            ValueError: the environment describes no cluster, or a malformed
                one.
        """
        cluster = cluster_from_environment()
        if cluster is None:
            raise ValueError(
                "No cluster in the environment: set TF_CONFIG (or KERAS_DISTRIBUTION_JOB_"
                "ADDRESSES, _NUM_PROCESSES and _PROCESS_ID) on every worker"
            )
        backend = keras.backend.backend()
        if backend == "jax":
            _initialize_jax(cluster, timeout)
            return cls("data_parallel", _cluster=cluster)
        return cls("multi_worker_mirrored", timeout=timeout, _cluster=cluster)

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
        """Builds, compiles and trains inside this `with` block."""
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
        """`kseq2seq.build_model` inside the scope, compiled with
        `compile_model` unless `compile=False`."""
        from kseq2seq.models.builder import build_model
        from kseq2seq.training.losses import compile_model

        with self.scope():
            model = build_model(config, **overrides)
        if self.strategy == "multi_worker_mirrored":
            # Keras 3.15 reduces the first batch of a model made in a
            # MultiWorkerMirroredStrategy scope with `strategy.reduce` on a
            # nest, which that strategy does not take (keras-team/keras#20329).
            # Made outside the scope, the Model builds when the train step is
            # traced, while its variables (made above) stay distributed.
            model = _rewrap(model, _MultiWorkerModel)
        if compile:
            with self.scope():
                compile_model(model)
        self._models.add(model)
        return model

    def replicate(self, model: keras.Model, compile: bool = True) -> keras.Model:
        """A copy of a `build_model` model made inside the scope, with the
        same weights, compiled with `compile_model` unless `compile=False`
        (the optimizer state starts afresh)."""
        from kseq2seq.models.builder import model_config

        copy = self.build_model(model_config(model), compile=compile)
        copy.set_weights(model.get_weights())
        return copy

    def local_copy(self, model: keras.Model) -> keras.Model:
        """A copy of `model` outside the engine: same weights, uncompiled.

        What a worker saves or translates with after training on a cluster:
        under JAX the variables of `model` span every process, so a
        computation on them alone would wait for the others.
        """
        from kseq2seq.models.builder import build_model, model_config

        copy = build_model(model_config(model))
        copy.set_weights(model.get_weights())
        return copy

    def check_agreement(self, values: dict[str, int]) -> None:
        """Raises ValueError unless every worker holds the same `values`
        (integers by name), naming each worker's; a collective, so every
        worker must call it at the same point. Without a cluster it does
        nothing."""
        if self.num_workers == 1:
            return
        import numpy as np

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
            names = list(values)
            shown = "; ".join(
                f"worker {index}: " + ", ".join(f"{n}={v}" for n, v in zip(names, row))
                for index, row in enumerate(rows.tolist())
            )
            raise ValueError(f"The workers disagree ({shown})")

    def disconnect(self) -> None:
        """Leaves the cluster after training: under JAX a barrier of every
        worker (`jax.distributed.shutdown`), after which each computes on its
        own (`local_copy`); without it a worker that exits first would wait
        at exit for the others' later work, the chief's saving and scoring.
        Nothing to do under TensorFlow."""
        if self.backend == "jax" and self.num_workers > 1:
            import jax

            jax.distributed.shutdown()

    def even_batches(self, dataset):
        """`dataset` of `(inputs, ...)` batches, each padded with empty rows
        (all padding: no token, no loss, no gradient) to a multiple of the
        replicas, which JAX needs; nothing is dropped, and the loss and
        gradients equal those of the unpadded batch. TensorFlow splits any
        batch: the dataset is returned as it is. Under JAX with several
        processes, each process keeps its own rows of every global batch."""
        if self.strategy != "data_parallel" or self.num_replicas == 1:
            return dataset
        import tensorflow as tf

        replicas, workers = self.num_replicas, self.num_workers
        index = self.cluster.index if self.cluster else 0

        def pad_rows(tensor, extra):
            return tf.pad(tensor, [[0, extra]] + [[0, 0]] * (tensor.shape.rank - 1))

        def even_part(*batch):
            size = tf.shape(batch[0]["source"])[0]
            extra = -size % replicas
            batch = tf.nest.map_structure(lambda t: pad_rows(t, extra), batch)
            # Rows [index * n, (index + 1) * n) of the global batch: the
            # processes' parts, in process order, make up the global array.
            part = (size + extra) // workers
            return tf.nest.map_structure(lambda t: t[index * part : (index + 1) * part], batch)

        return dataset.map(even_part)

    def fit_translator(self, translator, train_pairs, *args, batch_size: int = 64, **kwargs):
        """`translator.fit(train_pairs, ...)` on this engine.

        The translator's model is first replaced by a copy made in this
        scope (same weights, fresh optimizer) unless it was made here; the
        translator keeps the copy. Returns the `History`.
        """
        self.check_batch_size(batch_size)
        if translator.model not in self._models:
            translator.model = self.replicate(translator.model)
        make_dataset = translator.dataset

        def even_dataset(*dataset_args, **dataset_kwargs):
            return self.even_batches(make_dataset(*dataset_args, **dataset_kwargs))

        # The translator builds its pipelines itself: wrap its `dataset` for
        # this call only.
        translator.dataset = even_dataset
        try:
            with self.scope():
                return translator.fit(train_pairs, *args, batch_size=batch_size, **kwargs)
        finally:
            del translator.dataset

    def __repr__(self) -> str:
        workers = f", workers={self.num_workers}" if self.cluster else ""
        return (
            f"DataParallelEngine(strategy={self.strategy!r}, replicas={self.num_replicas}{workers})"
        )


class _MultiWorkerModel(keras.Model):
    """The functional model, its step logs shaped (1,) for the all-reduce.

    Keras 3.15 averages the logs of a step over several workers with
    `strategy.reduce("MEAN", value, axis=0)`, which fails on the scalar logs
    every model returns ("Invalid reduction dimension 0"); shaped (1,) they
    reduce to the scalar mean.
    """

    def train_step(self, data):
        return {name: keras.ops.reshape(v, (1,)) for name, v in super().train_step(data).items()}

    def test_step(self, data):
        return {name: keras.ops.reshape(v, (1,)) for name, v in super().test_step(data).items()}


def _rewrap(model: keras.Model, model_class=keras.Model) -> keras.Model:
    """A functional Model over the same layers, made in the current (default) scope."""
    wrapped = model_class(inputs=model.input, outputs=model.output, name=model.name)
    wrapped.dtype_policy = model.dtype_policy
    return wrapped


def _multi_worker_strategy(cluster: Cluster | None, timeout: int):
    import tensorflow as tf

    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout)
    if cluster is None:  # TF_CONFIG, as TensorFlow reads it
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec(cluster.tf_cluster_spec()),
        task_type="worker",
        task_id=cluster.index,
        rpc_layer="grpc",
    )
    return tf.distribute.MultiWorkerMirroredStrategy(
        cluster_resolver=resolver, communication_options=options
    )


def _initialize_jax(cluster: Cluster, timeout: int) -> None:
    """Joins the JAX processes of `cluster` (once per process)."""
    import jax

    if jax.distributed.is_initialized():
        return
    # Collectives between CPU processes go through gloo (JAX has no other
    # CPU implementation); GPUs use NCCL whatever this says.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=cluster.addresses[0],
        num_processes=cluster.num_workers,
        process_id=cluster.index,
        initialization_timeout=timeout,
        heartbeat_timeout_seconds=timeout,
    )


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
