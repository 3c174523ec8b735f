"""Masked loss and accuracy: padding (id 0) never counts."""

from __future__ import annotations

import keras
from keras import ops

from kseq2seq.layers.precision import compiled_on_tensorflow
from kseq2seq.special_tokens import PAD_ID
from kseq2seq.training.callbacks import build_optimizer
from kseq2seq.training.optimizers import DenseAdam


def _tokens_per_replica(tokens):
    """The real tokens of the whole global batch, divided by the replicas.

    Under a `tf.distribute` strategy each replica sees part of the batch,
    and Keras sums the replicas' gradients of `loss / replicas`. Dividing
    each replica's token sum by this (not by its own token count) makes the
    sum the token mean of the whole batch, however the tokens fall on the
    replicas. Elsewhere (JAX's DataParallel computes on the whole batch) it
    is `tokens` itself.
    """
    if keras.backend.backend() != "tensorflow":
        return tokens
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return tokens
    everywhere = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.stop_gradient(tokens))
    return everywhere / context.num_replicas_in_sync


@compiled_on_tensorflow
def token_losses(y_true, logits, label_smoothing: float):
    """Cross-entropy of each token: `logsumexp(logits) - logits[y]`, float32 (..., V) ->
    (...). With `label_smoothing` e, against (1 - e) one_hot(y) + e / V:
    `(1 - e) (lse - logits[y]) + e (lse - mean(logits))`.

    One log-sum-exp and a gather, no B x T x V one-hot or log-softmax. Under TensorFlow it
    runs as one XLA computation, compiled once per shape (about 0.1 s): at 1,920 tokens x
    8,000 words its forward and backward took 25 ms on a 2-core CPU against 71 ms for
    TensorFlow's fused kernel (`sparse_softmax_cross_entropy_with_logits`), which is what
    Keras's sparse cross-entropy runs (benchmarks/README.md, "The loss under XLA"). The ids
    must lie in [0, V): XLA's gather clamps others instead of failing (as under JAX).
    """
    lse = ops.logsumexp(logits, axis=-1)
    losses = lse - ops.take_along_axis(logits, y_true[..., None], axis=-1)[..., 0]
    if not label_smoothing:  # a Python number: no mean over the vocabulary without smoothing
        return losses
    smoothed = lse - ops.mean(logits, axis=-1)
    return (1.0 - label_smoothing) * losses + label_smoothing * smoothed


@keras.saving.register_keras_serializable(package="kseq2seq")
class MaskedSparseCategoricalCrossentropy(keras.losses.Loss):
    """Token-level cross-entropy from logits, averaged over non-padding tokens.

    Args:
        label_smoothing: mass spread uniformly over the vocabulary
            (Szegedy et al., 2016), 0 for none.
        pad_id: the target id that is ignored.

    A `sample_weight` of the same shape as the targets (for example the
    padding mask that `kseq2seq.data` yields) multiplies the per-token losses;
    the mean is still over the non-padding tokens.
    """

    def __init__(self, label_smoothing: float = 0.0, pad_id: int = PAD_ID, name=None, **kwargs):
        super().__init__(name=name or "masked_sparse_categorical_crossentropy", **kwargs)
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(
                f"label_smoothing must be in [0, 1). Received: label_smoothing={label_smoothing}"
            )
        self.label_smoothing = float(label_smoothing)
        self.pad_id = int(pad_id)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "int32")
        y_pred = ops.cast(y_pred, "float32")
        losses = token_losses(y_true, y_pred, self.label_smoothing)
        mask = ops.cast(ops.not_equal(y_true, self.pad_id), "float32")
        # The default reduction divides by B * T; rescale so that it divides
        # by the number of real tokens instead.
        total = ops.cast(ops.size(mask), "float32")
        real = ops.maximum(_tokens_per_replica(ops.sum(mask)), 1.0)
        return losses * mask * (total / real)

    def get_config(self):
        return {
            **super().get_config(),
            "label_smoothing": self.label_smoothing,
            "pad_id": self.pad_id,
        }


@keras.saving.register_keras_serializable(package="kseq2seq")
class MaskedAccuracy(keras.metrics.Metric):
    """Share of non-padding target tokens whose logit is the largest (ties count as hits)."""

    def __init__(self, pad_id: int = PAD_ID, name="masked_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.pad_id = int(pad_id)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.cast(y_true, "int32")
        mask = ops.cast(ops.not_equal(y_true, self.pad_id), "float32")
        if sample_weight is not None:
            mask = mask * ops.cast(sample_weight, "float32")
        # Whether the true token's logit is the largest, by `in_top_k` (ties count as hits,
        # as in Keras's top-k accuracy): TensorFlow's kernel for it is over ten times faster
        # on CPU than an argmax over 8,000 classes and a comparison (and 4 times faster than
        # the max and comparison compiled by XLA).
        vocab = ops.shape(y_pred)[-1]
        hits = ops.in_top_k(
            ops.reshape(y_true, (-1,)), ops.reshape(ops.cast(y_pred, "float32"), (-1, vocab)), 1
        )
        hits = ops.reshape(ops.cast(hits, "float32"), ops.shape(mask)) * mask
        self.correct.assign_add(ops.sum(hits))
        self.total.assign_add(ops.sum(mask))

    def result(self):
        return ops.divide_no_nan(self.correct, self.total)

    def reset_state(self):
        self.correct.assign(0.0)
        self.total.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "pad_id": self.pad_id}


def compile_model(
    model: keras.Model,
    learning_rate: float = 1e-3,
    label_smoothing: float = 0.0,
    clipnorm: float | None = 5.0,
    optimizer: keras.optimizers.Optimizer | None = None,
    **compile_kwargs,
) -> keras.Model:
    """Compiles `model` with Adam, the masked loss and the masked accuracy.

    The Adam is `kseq2seq.training.DenseAdam`, which takes the same step under
    TensorFlow as under JAX and PyTorch (Keras's own Adam treats TensorFlow's
    sparse embedding gradients differently). Gradient-norm clipping at 5
    (of each variable's gradient) follows tensorflow/nmt's default. Under the
    `mixed_float16` policy the optimizer is wrapped in a
    `keras.optimizers.LossScaleOptimizer` (dynamic loss scaling), also for a
    loaded model, whose functional wrapper forgets its policy. Returns the
    model, so `compile_model(build_model(...)).fit(...)` reads in one line.
    """
    if optimizer is None:
        optimizer = DenseAdam(learning_rate=learning_rate, clipnorm=clipnorm)
    if _uses_float16(model) and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    model.compile(
        optimizer=optimizer,
        loss=MaskedSparseCategoricalCrossentropy(label_smoothing=label_smoothing),
        metrics=[MaskedAccuracy()],
        **compile_kwargs,
    )
    build_before_tracing(model)
    return model


def build_before_tracing(model: keras.Model) -> None:
    """Creates the optimizer's variables now, under TensorFlow, where Keras would create them
    inside the first traced train step.

    Keras's TensorFlow trainer builds an unbuilt optimizer in the first traced step when no
    distribution strategy is set (with one, and under JAX, it builds it before tracing);
    `tf.function` then traces the step a second time, without the variable creation. Built
    here, the step is traced once: the first `fit` of a small model starts about 3 s sooner
    (benchmarks/first_call.py, "fit"). A model not built yet, whose variables do not exist,
    is left to Keras.
    """
    if keras.backend.backend() == "tensorflow" and model.built:
        build_optimizer(model)


def _uses_float16(model: keras.Model) -> bool:
    """Whether `model` or one of its top-level layers computes in float16."""
    layers = [model, *getattr(model, "layers", [])]
    return any(layer.dtype_policy.name == "mixed_float16" for layer in layers)
