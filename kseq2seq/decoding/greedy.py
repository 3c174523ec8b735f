"""A simple batched greedy decoder over the inference pieces.

Each step feeds back the argmax token of the previous one. Sequences that
have produced `</s>` are padded with 0 from then on; decoding stops when
every sequence has ended or after `max_length` tokens.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kseq2seq.models.inference import InferencePieces
from kseq2seq.special_tokens import BOS_ID, EOS_ID, PAD_ID


def greedy_decode(
    model: keras.Model | InferencePieces,
    source_ids,
    max_length: int = 50,
    bos_id: int = BOS_ID,
    eos_id: int = EOS_ID,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy decoding of a batch of source ids.

    Args:
        model: a model made by `build_model`, or its `InferencePieces`.
        source_ids: int array (B, S), right-padded with 0.
        max_length: the most tokens produced per sentence (`</s>` included).
        bos_id: the start token fed at the first step.
        eos_id: the token that ends a sentence.

    Returns:
        `(tokens, scores, attention)`: tokens int32 (B, L) with `</s>` kept
        and 0 after it; scores float32 (B,), the sum of the chosen tokens'
        log-probabilities; attention float32 (B, L, S), one row per produced
        token (zero rows after the end).
    """
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1:
        raise ValueError(f"max_length must be a positive integer. Received: {max_length!r}")
    source_ids = np.asarray(source_ids)
    if source_ids.ndim != 2 or not np.issubdtype(source_ids.dtype, np.integer):
        raise ValueError(
            "source_ids must be an integer array of shape (batch, length). "
            f"Received: dtype={source_ids.dtype}, shape={source_ids.shape}"
        )
    pieces = model if isinstance(model, InferencePieces) else InferencePieces(model)
    vocab = pieces.config.source_vocab_size
    if source_ids.size and (source_ids.min() < 0 or source_ids.max() >= vocab):
        raise ValueError(
            f"source_ids must lie in [0, {vocab}) (the source vocabulary). Received "
            f"ids from {source_ids.min()} to {source_ids.max()}"
        )
    batch = source_ids.shape[0]
    context, carry = pieces.encode(source_ids.astype("int32"))
    previous = np.full((batch,), bos_id, dtype="int32")
    finished = np.zeros((batch,), dtype=bool)
    scores = np.zeros((batch,), dtype="float32")
    tokens, attention = [], []
    for _ in range(max_length):
        logits, carry = pieces.step(previous, carry, context)
        log_probs = ops.convert_to_numpy(ops.log_softmax(logits, axis=-1))
        chosen = log_probs.argmax(axis=-1).astype("int32")
        chosen = np.where(finished, PAD_ID, chosen)
        scores += np.where(finished, 0.0, log_probs[np.arange(batch), chosen])
        weights = ops.convert_to_numpy(carry[1])
        attention.append(np.where(finished[:, None], 0.0, weights))
        tokens.append(chosen)
        finished |= chosen == eos_id
        previous = chosen
        if finished.all():
            break
    return (
        np.stack(tokens, axis=1),
        scores,
        np.stack(attention, axis=1).astype("float32"),
    )
