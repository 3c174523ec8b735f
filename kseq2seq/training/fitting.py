"""`Translator.fit`: `model.fit` on a replayable stream of batches made from pairs, so that a
run resumed from a `TrainingCheckpoint` continues mid-epoch, as if never interrupted."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf

from kseq2seq.checks import check_int
from kseq2seq.data.pairs import check_pairs
from kseq2seq.training.callbacks import TrainingCheckpoint, steps_per_execution
from kseq2seq.training.losses import compile_model
from kseq2seq.training.nan_guard import StopOnNaN


def build_compiled_state(model: keras.Model, width: int = 8) -> None:
    """Builds the compiled loss and metrics of `model` from a dummy batch: under JAX and
    PyTorch, `fit` would consume a training batch to build them, so a resumed run would see
    other batches than an uninterrupted one."""
    if keras.backend.backend() == "tensorflow":
        return
    y = np.ones((1, width), "int32")
    x, weights = {"source": y, "target_in": y}, y.astype("float32")
    outputs = getattr(model, "outputs", None) or []  # a subclassed model may have none
    if len(outputs) == 1 and outputs[0].shape[-1] is not None:
        # Zero logits suffice, and running the model eagerly took seconds.
        y_pred = keras.ops.zeros((1, width, outputs[0].shape[-1]), dtype=outputs[0].dtype)
    else:
        y_pred = model(x, training=False)
    model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=weights, training=False)
    model.compute_metrics(x, y, y_pred, sample_weight=weights)


def validation_dataset(make_dataset: Callable, pairs, batch_size: int = 64, **kwargs):
    """`make_dataset(pairs, shuffle=False, ...)` with its batch count stated (else Keras warns)."""
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
    `ceil(len(train_pairs) / batch_size)` steps over a shuffled, repeated stream of batches
    (with `steps_per_execution=N`, Keras trains its last group whole, on the stream's next
    batches: `ceil(steps / N) * N` of them an epoch).

    Args:
        make_dataset: `make_dataset(pairs, batch_size=..., shuffle=..., repeat=...,
            **dataset_kwargs)` returns the batches of `pairs` (`Translator.dataset`).
        epochs: the epoch to end at (counting the epochs a resumed run has already done).
        callbacks: Keras callbacks; with a `TrainingCheckpoint`, training resumes mid-epoch.
        stop_on_nan: add a `StopOnNaN` (unless one is given).

    Returns:
        The `History` of the epochs run; resuming mid-epoch runs `model.fit` twice (callbacks
        see two `on_train_begin`) and joins the histories.
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
    steps_per_epoch = max(1, -(-len(train_pairs) // batch_size))
    # With steps_per_execution=N Keras runs an epoch's last group whole, on the stream's next
    # batches when N does not divide the epoch's steps: an epoch takes this many batches. (A
    # run resumed with another N than the interrupted one's is not bit-exact: the checkpoint
    # warns.)
    group = steps_per_execution(model)
    batches_per_epoch = -(-steps_per_epoch // group) * group
    callbacks = list(callbacks or [])
    if stop_on_nan and not any(isinstance(c, StopOnNaN) for c in callbacks):
        callbacks.append(StopOnNaN())
    checkpoint = next((c for c in callbacks if isinstance(c, TrainingCheckpoint)), None)
    position = checkpoint.restore(model) if checkpoint is not None else None
    epoch, step = position or (0, 0)
    if step >= steps_per_epoch:
        epoch, step = epoch + 1, 0
    build_compiled_state(model)

    def run(first_epoch, last_epoch, skip, steps):
        return model.fit(
            train_stream(skip),
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
            for callback in callbacks:  # the position of the epoch's first batch
                if callback is checkpoint or isinstance(callback, StopOnNaN):
                    callback.begin_at_step(step)
            skip = epoch * batches_per_epoch + step
            history = run(epoch, epoch + 1, skip, steps_per_epoch - step)
            epoch += 1
            if model.stop_training:
                return history
        if epoch < epochs or history is None:
            later = run(epoch, epochs, epoch * batches_per_epoch, steps_per_epoch)
            if history is None:
                return later
            for key, values in later.history.items():
                history.history.setdefault(key, []).extend(values)
            history.epoch += later.epoch
    finally:
        if checkpoint is not None:
            checkpoint.remove_handlers()
    return history
