"""`model.fit` that resumes mid-epoch, on pipelines made from pairs: `Translator.fit`.

Keras's `fit` restarts an interrupted epoch from its first batch. Here the data is a stream
that can be replayed from any batch (`make_stream(skip)`), so a run resumed from a
`TrainingCheckpoint` skips the batches already done and ends with the weights of a run that
was never interrupted. Only Keras's public API is used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from kseq2seq.checks import check_int
from kseq2seq.data.pairs import check_pairs
from kseq2seq.training.callbacks import TrainingCheckpoint
from kseq2seq.training.losses import compile_model
from kseq2seq.training.nan_guard import StopOnNaN


def build_compiled_state(model: keras.Model, width: int = 8) -> None:
    """Builds the compiled loss and metrics of `model` from a dummy batch.

    Under JAX and PyTorch, the first `fit` of a model whose metrics are not built yet takes
    one batch from the training data only to learn the shapes, and never trains on it: the
    data stream would then depend on whether the process has called `fit` before, and a
    resumed run would not see the batches an uninterrupted one sees. Computing the loss and
    the metrics once, on a dummy batch, builds them (`fit` resets the metrics before training).
    TensorFlow builds them when it traces the train step, from the real batch, without
    consuming it.
    """
    if keras.backend.backend() == "tensorflow":
        return
    x = {"source": np.ones((1, width), "int32"), "target_in": np.ones((1, width), "int32")}
    y = np.ones((1, width), "int32")
    weights = np.ones((1, width), "float32")
    outputs = getattr(model, "outputs", None) or []  # a subclassed model may have none
    if len(outputs) == 1 and outputs[0].shape[-1] is not None:
        # Logits of the output's shape and dtype: the loss and metrics need no more, and
        # running the model eagerly (op by op, each compiled for its shapes) took seconds.
        y_pred = keras.ops.zeros((1, width, outputs[0].shape[-1]), dtype=outputs[0].dtype)
    else:
        y_pred = model(x, training=False)
    model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=weights, training=False)
    model.compute_metrics(x, y, y_pred, sample_weight=weights)


def fit_resumable(
    model: keras.Model,
    make_stream: Callable[[int], object],
    steps_per_epoch: int,
    epochs: int,
    validation=None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose="auto",
    stop_on_nan: bool = True,
):
    """Runs `model.fit` for `epochs` epochs of `steps_per_epoch` steps, resuming if it can.

    Args:
        model: a compiled model.
        make_stream: `make_stream(skip)` returns the (repeated) training stream without its
            first `skip` batches; every call must replay the same batches.
        steps_per_epoch: the steps of one epoch.
        epochs: the epoch to end at (counting the epochs a resumed run has already done).
        validation: validation data for `fit`, or None.
        callbacks: Keras callbacks. With a `TrainingCheckpoint` among them, training
            resumes from its saved state, mid-epoch and on the same batches.
        verbose: as for `fit`.
        stop_on_nan: add a `StopOnNaN` (unless one is given).

    Returns:
        The `History` of the epochs run. When a resumed run finishes an interrupted epoch
        first, `model.fit` runs twice and callbacks see two `on_train_begin`/`on_train_end`;
        the two histories are joined.
    """
    callbacks = list(callbacks)
    if stop_on_nan and not any(isinstance(c, StopOnNaN) for c in callbacks):
        callbacks.append(StopOnNaN())
    checkpoint = next((c for c in callbacks if isinstance(c, TrainingCheckpoint)), None)
    epoch, step = 0, 0
    if checkpoint is not None:
        epoch, step = checkpoint.restore(model) or (0, 0)
        if step >= steps_per_epoch:
            epoch, step = epoch + 1, 0
    build_compiled_state(model)

    def run(first_epoch, last_epoch, skip, steps):
        return model.fit(
            make_stream(skip),
            validation_data=validation,
            initial_epoch=first_epoch,
            epochs=last_epoch,
            steps_per_epoch=steps,
            shuffle=False,  # the stream shuffles
            callbacks=callbacks,
            verbose=verbose,
        )

    history = None
    try:
        if step and epoch < epochs:  # finish the interrupted epoch first
            checkpoint.begin_at_step(step)
            history = run(epoch, epoch + 1, epoch * steps_per_epoch + step, steps_per_epoch - step)
            epoch += 1
            if model.stop_training:
                return history
        if epoch < epochs or history is None:
            later = run(epoch, epochs, epoch * steps_per_epoch, steps_per_epoch)
            if history is None:
                return later
            for key, values in later.history.items():
                history.history.setdefault(key, []).extend(values)
            history.epoch += later.epoch
    finally:
        if checkpoint is not None:
            checkpoint.remove_handlers()
    return history


def validation_dataset(make_dataset: Callable, pairs, batch_size: int = 64, **kwargs):
    """`make_dataset(pairs, batch_size=..., shuffle=False, **kwargs)`, its number of batches known.

    Filtering and bucketing leave the number of batches unknown to tf.data, and Keras then
    learns it by running out of data at the end of the first pass, with a warning "Your
    input ran out of data; interrupting training". Counted once here and stated, it is
    known from the start.
    """
    dataset = make_dataset(pairs, batch_size=batch_size, shuffle=False, **kwargs)
    batches = sum(1 for _ in dataset)
    return dataset.apply(tf.data.experimental.assert_cardinality(batches))


def fit_pairs(
    model: keras.Model,
    make_dataset: Callable,
    train_pairs: Sequence[tuple[str, str]],
    validation_pairs: Sequence[tuple[str, str]] | None = None,
    *,
    epochs: int = 10,
    batch_size: int = 64,
    callbacks: Sequence[keras.callbacks.Callback] | None = None,
    verbose: str | int = "auto",
    stop_on_nan: bool = True,
    **dataset_kwargs,
) -> keras.callbacks.History:
    """Trains `model` with `model.fit` on pipelines made from pairs (`Translator.fit`).

    The model is compiled with `compile_model` first if it is not yet. An epoch is
    `ceil(len(train_pairs) / batch_size)` steps over a reproducibly shuffled, repeated
    stream of batches.

    Args:
        model: a model made by `build_model`.
        make_dataset: `make_dataset(pairs, batch_size=..., shuffle=..., repeat=...,
            **dataset_kwargs)` returns the batches of `pairs` (`Translator.dataset`).
        train_pairs, validation_pairs: `(source, target)` string pairs.
        epochs: the epoch to end at (counting the epochs a resumed run has already done).
        callbacks: Keras callbacks. With a `kseq2seq.training.TrainingCheckpoint` among
            them, training resumes from its saved state, mid-epoch and on the same batches
            (the data stream is replayed up to that point), and SIGINT / SIGTERM stop it
            cleanly with the state saved.
        stop_on_nan: add a `kseq2seq.training.StopOnNaN` (unless one is given): a NaN loss
            stops training with the last good weights.
        **dataset_kwargs: more options of `make_dataset`.

    Returns:
        The `History` (of the epochs run by this call). When a resumed run finishes an
        interrupted epoch first, `model.fit` runs twice and callbacks see two
        `on_train_begin` / `on_train_end`.
    """
    check_int("epochs", epochs)
    check_int("batch_size", batch_size)
    check_pairs(train_pairs, "train_pairs")
    if validation_pairs:
        check_pairs(validation_pairs, "validation_pairs")
    if not getattr(model, "compiled", False):
        compile_model(model)

    def train_stream(skip_batches):
        # A fresh pipeline replays the same shuffles from the start.
        stream = make_dataset(train_pairs, batch_size=batch_size, repeat=True, **dataset_kwargs)
        return stream.skip(skip_batches) if skip_batches else stream

    if next(iter(train_stream(0).take(1)), None) is None:
        raise ValueError(
            f"None of the {len(train_pairs)} training pairs is left after the length "
            "limits: every source is empty or longer than max_source_length, or every "
            "target longer than max_target_length (length_policy='filter')"
        )
    validation = None
    if validation_pairs:
        validation = validation_dataset(
            make_dataset, validation_pairs, batch_size=batch_size, **dataset_kwargs
        )
    # Bucketing makes the number of batches vary from epoch to epoch, so
    # the training data repeats and an epoch is a fixed number of steps.
    return fit_resumable(
        model,
        train_stream,
        steps_per_epoch=max(1, -(-len(train_pairs) // batch_size)),
        epochs=epochs,
        validation=validation,
        callbacks=list(callbacks or []),
        verbose=verbose,
        stop_on_nan=stop_on_nan,
    )
