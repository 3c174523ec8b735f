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
    """What happened while decoding one sentence, one entry per output token (T of them,
    `</s>` included), all float32 but `token_ids`."""

    source_tokens: list[str]  # S
    memory: np.ndarray  # S x units: the encoder hidden states
    initial_state: np.ndarray  # units: the top decoder state before step 1 (the encoder's, bridged)
    token_ids: np.ndarray  # T, int32: the token chosen (or fed) at each step
    target_tokens: list[str]  # T
    probabilities: np.ndarray  # T: the softmax probability of each chosen token
    weights: np.ndarray  # T x S: the attention weights at each step (zeros without attention)
    contexts: np.ndarray  # T x units: C_t = weights @ memory (without attention: initial_state)
    decoder_states: np.ndarray  # T x units: the top decoder layer's state h_t after each step
    forced: bool = False  # whether the tokens were fed (teacher forcing) rather than chosen

    @property
    def num_steps(self) -> int:
        return len(self.target_tokens)


def _first_row(tensor) -> np.ndarray:
    return np.asarray(ops.convert_to_numpy(tensor), dtype="float32")[0]


def trace_decoding(
    translator,
    source: str,
    target: str | None = None,
    max_steps: int | None = None,
) -> DecodingTrace:
    """Decodes one sentence step by step with `InferencePieces`, keeping every vector.

    Greedy (the argmax token until `</s>`, kept, or `max_steps`, by default
    `translator.default_max_length`), or feeding the tokens of `target` then `</s>`.
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be one string. Received: {type(source).__name__}")
    if target is not None and not isinstance(target, str):
        raise TypeError(f"target must be a string or None. Received: {type(target).__name__}")
    source_ids = translator.encode_sources([source])  # 1 x S
    source_row = [int(i) for i in source_ids[0] if i != PAD_ID]
    length = len(source_row)
    if not length:
        raise ValueError("source has no tokens: there is nothing to decode")
    if max_steps is None:
        max_steps = translator.default_max_length(length)
    check_int("max_steps", max_steps)
    forced_ids = None
    if target is not None:
        _, target_out, _ = translator.preprocessor([source], [target])  # ends with </s>
        forced_ids = [int(i) for i in target_out.numpy()[0] if i != PAD_ID]
        max_steps = max(max_steps, len(forced_ids))

    config = translator.config
    top = 2 + (config.num_layers - 1) * states_per_layer(config.cell)
    pieces = InferencePieces(translator.model)
    context, carry = pieces.encode(source_ids)
    memory = _first_row(context["memory"])[:length]
    initial_state = _first_row(carry[top])

    token_ids, probabilities, weights, contexts, states = [], [], [], [], []
    previous = np.array([BOS_ID], dtype="int32")
    for step in range(max_steps):
        logits, carry = pieces.step(previous, carry, context)
        logits = np.asarray(ops.convert_to_numpy(logits), dtype="float64")[0]
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        chosen = int(np.argmax(probs)) if forced_ids is None else forced_ids[step]
        step_weights = _first_row(carry[1])[:length]
        token_ids.append(chosen)
        probabilities.append(probs[chosen])
        weights.append(step_weights)
        contexts.append(initial_state if config.attention is None else step_weights @ memory)
        states.append(_first_row(carry[top]))
        if chosen == EOS_ID or (forced_ids is not None and step + 1 == len(forced_ids)):
            break
        previous = np.array([chosen], dtype="int32")

    vocabulary = translator.target_tokenizer.vocabulary
    return DecodingTrace(
        source_tokens=[translator.source_tokenizer.vocabulary[i] for i in source_row],
        memory=memory,
        initial_state=initial_state,
        token_ids=np.asarray(token_ids, dtype="int32"),
        target_tokens=[vocabulary[i] for i in token_ids],
        probabilities=np.asarray(probabilities, dtype="float32"),
        weights=np.stack(weights),
        contexts=np.stack(contexts).astype("float32"),
        decoder_states=np.stack(states),
        forced=forced_ids is not None,
    )
