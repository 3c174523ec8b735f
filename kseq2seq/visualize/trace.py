"""A step-by-step record of decoding one sentence: every vector the article draws."""

from __future__ import annotations

import dataclasses

import numpy as np
from keras import ops

from kseq2seq.checks import check_int
from kseq2seq.layers.recurrent import states_per_layer
from kseq2seq.models.inference import InferencePieces
from kseq2seq.special_tokens import BOS_ID, EOS_ID, PAD_ID


@dataclasses.dataclass
class DecodingTrace:
    """What happened while decoding one sentence, one entry per output token.

    Attributes:
        source_tokens: the S source token strings.
        memory: float32 (S, units): the encoder hidden states, one per source token.
        initial_state: float32 (units,): the decoder's top-layer state before
            the first step (the encoder's final state after the bridge: the
            only context of the plain encoder-decoder).
        token_ids: int (T,): the token chosen at each step (`</s>` included).
        target_tokens: the T token strings.
        probabilities: float32 (T,): the softmax probability of each chosen token.
        weights: float32 (T, S): the attention weights at each step (zeros
            without attention).
        contexts: float32 (T, units): the context vectors C_t = weights @ memory
            (without attention: the initial state at every step).
        decoder_states: float32 (T, units): the top decoder layer's hidden
            state h_t after each step.
        forced: whether the tokens were given (teacher forcing) rather than chosen.
    """

    source_tokens: list[str]
    memory: np.ndarray
    initial_state: np.ndarray
    token_ids: np.ndarray
    target_tokens: list[str]
    probabilities: np.ndarray
    weights: np.ndarray
    contexts: np.ndarray
    decoder_states: np.ndarray
    forced: bool = False

    @property
    def num_steps(self) -> int:
        return len(self.target_tokens)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


def trace_decoding(
    translator,
    source: str,
    target: str | None = None,
    max_steps: int | None = None,
) -> DecodingTrace:
    """Decodes one sentence step by step with `InferencePieces`, keeping every vector.

    Args:
        translator: a `kseq2seq.Translator`.
        source: the source sentence.
        target: a target sentence to feed instead of the greedy choices
            (teacher forcing); its tokens then `</s>` are "chosen".
        max_steps: the most tokens produced; by default
            `translator.default_max_length` of the source.

    Returns:
        A `DecodingTrace`. Greedy: the argmax token at each step until
        `</s>` (kept) or `max_steps`.
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be one string. Received: {type(source).__name__}")
    if target is not None and not isinstance(target, str):
        raise TypeError(f"target must be a string or None. Received: {type(target).__name__}")
    source_ids = translator.encode_sources([source])  # 1 x S
    source_row = [int(i) for i in source_ids[0] if i != PAD_ID]
    if not source_row:
        raise ValueError("source has no tokens: there is nothing to decode")
    forced_ids = None
    if target is not None:
        _, target_out, _ = translator.preprocessor([source], [target])  # ends with </s>
        forced_ids = [int(i) for i in target_out.numpy()[0] if i != PAD_ID]
    if max_steps is None:
        max_steps = translator.default_max_length(len(source_row))
    check_int("max_steps", max_steps)
    if forced_ids is not None:
        max_steps = max(max_steps, len(forced_ids))

    config = translator.config
    top = 2 + (config.num_layers - 1) * states_per_layer(config.cell)
    pieces = InferencePieces(translator.model)
    context, carry = pieces.encode(source_ids)
    length = len(source_row)
    memory = np.asarray(ops.convert_to_numpy(context["memory"]), dtype="float32")[0, :length]
    initial_state = np.asarray(ops.convert_to_numpy(carry[top]), dtype="float32")[0]

    token_ids, probabilities, weights, contexts, states = [], [], [], [], []
    previous = np.array([BOS_ID], dtype="int32")
    for step in range(max_steps):
        logits, carry = pieces.step(previous, carry, context)
        probs = _softmax(np.asarray(ops.convert_to_numpy(logits), dtype="float64")[0])
        if forced_ids is not None:
            chosen = forced_ids[step]
        else:
            chosen = int(np.argmax(probs))
        step_weights = np.asarray(ops.convert_to_numpy(carry[1]), dtype="float32")[0, :length]
        token_ids.append(chosen)
        probabilities.append(probs[chosen])
        weights.append(step_weights)
        if config.attention is None:
            contexts.append(initial_state)
        else:
            contexts.append(step_weights @ memory)  # units
        states.append(np.asarray(ops.convert_to_numpy(carry[top]), dtype="float32")[0])
        if chosen == EOS_ID or (forced_ids is not None and step + 1 == len(forced_ids)):
            break
        previous = np.array([chosen], dtype="int32")

    vocabulary_in = translator.source_tokenizer.vocabulary
    vocabulary_out = translator.target_tokenizer.vocabulary
    return DecodingTrace(
        source_tokens=[vocabulary_in[i] for i in source_row],
        memory=memory,
        initial_state=initial_state,
        token_ids=np.asarray(token_ids, dtype="int32"),
        target_tokens=[vocabulary_out[i] for i in token_ids],
        probabilities=np.asarray(probabilities, dtype="float32"),
        weights=np.stack(weights).astype("float32"),
        contexts=np.stack(contexts).astype("float32"),
        decoder_states=np.stack(states).astype("float32"),
        forced=forced_ids is not None,
    )
