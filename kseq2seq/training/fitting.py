"""`model.fit` that resumes mid-epoch: the training orchestration behind `Translator.fit`.

Keras's `fit` restarts an interrupted epoch from its first batch. Here the data is a stream
that can be replayed from any batch (`make_stream(skip)`), so a run resumed from a
`TrainingCheckpoint` skips the batches already done and ends with the weights of a run that
was never interrupted. Only Keras's public API is used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import numpy as np

from kseq2seq.training.callbacks import TrainingCheckpoint
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
