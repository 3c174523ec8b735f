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
JAX every batch must be: `fit_translator` drops the batches of other sizes
(the last, partial batch of a length bucket), `even_batches` does it for your
own `tf.data` pipelines.
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Any

import keras

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

    Raises:
        ValueError: an unknown strategy, one the backend does not run (the
            PyTorch backend runs none here), or an empty device list.
    """

    def __init__(self, strategy: str = "auto", devices: list[str] | None = None):
        backend = keras.backend.backend()
        if strategy not in STRATEGIES:
            shown = ", ".join(repr(name) for name in STRATEGIES)
            raise ValueError(f"Unknown strategy: {strategy!r}. Valid options: {shown}")
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
        self.strategy = strategy
        self.backend = backend
        self._models = weakref.WeakSet()  # the models made in this scope
        if strategy == "data_parallel":
            self.engine = keras.distribution.DataParallel(devices=devices)
        else:
            import tensorflow as tf

            if strategy == "mirrored":
                if devices is None and not tf.config.list_logical_devices("GPU"):
                    devices = [device.name for device in tf.config.list_logical_devices("CPU")]
                self.engine = tf.distribute.MirroredStrategy(devices=devices)
            else:
                self.engine = tf.distribute.MultiWorkerMirroredStrategy()

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
            if compile:
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

    def even_batches(self, dataset):
        """`dataset` of `(inputs, ...)` batches without the batches whose size
        the replicas do not split evenly (JAX needs even batches; TensorFlow
        splits any batch, and the dataset is returned as it is)."""
        if self.strategy != "data_parallel" or self.num_replicas == 1:
            return dataset
        import tensorflow as tf

        replicas = self.num_replicas

        def even(inputs, *rest):
            return tf.shape(inputs["source"])[0] % replicas == 0

        return dataset.filter(even)

    def fit_translator(self, translator, train_pairs, *args, batch_size: int = 64, **kwargs):
        """`translator.fit(train_pairs, ...)` on this engine.

        The translator's model is first replaced by a copy made in this
        scope (same weights, fresh optimizer) unless it was made here; the
        translator keeps the copy. Returns the `History`.
        """
        self.check_batch_size(batch_size)
        if translator.model not in self._models:
            translator.model = self.replicate(translator.model)
            translator._pieces = None  # the decoding pieces of the old model
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
        return f"DataParallelEngine(strategy={self.strategy!r}, replicas={self.num_replicas})"


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
