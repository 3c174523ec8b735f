"""What `Translator.translate_with_details` and `Translator.attention` make of decoded ids."""

from __future__ import annotations

import numpy as np

from kseq2seq.samplers.driver import decode
from kseq2seq.samplers.sampler import Sampler
from kseq2seq.special_tokens import EOS_ID, PAD_ID


def empty_details() -> dict:
    """`translation_details` of no text."""
    ids, nothing = np.zeros((0, 1), "int32"), np.zeros((0,), "float32")
    arrays = {"tokens": ids, "scores": nothing, "log_probs": nothing, "source_ids": ids}
    return {"translations": [], "attention": np.zeros((0, 1, 1), "float32"), **arrays}


def decode_ids(preprocessor, tokens: np.ndarray, attention=None, sources=None) -> list[str]:
    """`preprocessor.generate_postprocess` as a list of strings."""
    decoded = preprocessor.generate_postprocess(tokens, attention, sources)
    return [text.decode("utf-8") for text in np.asarray(decoded).reshape(-1)]


def translation_details(
    pieces, preprocessor, texts: list[str], source_ids: np.ndarray, sampler: Sampler, max_length
) -> dict:
    """Decodes `source_ids` (B, S) of `texts` with `sampler` over a model's `InferencePieces`.

    Returns the dict of `Translator.translate_with_details`; blank sources (no tokens)
    translate to "" with score 0.
    """
    found = decode(pieces, source_ids, sampler, max_length)
    empty = (source_ids != PAD_ID).sum(axis=1) == 0
    details = {}
    if found.tokens.ndim == 3:  # all beams, best first
        details["n_best"] = [
            ["" if blank else text for text in decode_ids(preprocessor, beams)]
            for blank, beams in zip(empty, found.tokens)
        ]
        details["n_best_scores"] = np.where(empty[:, None], 0.0, found.scores)
        found = type(found)(*(value[:, 0] for value in vars(found).values()))
    # Each <unk> of the output becomes the source word it attended to most.
    translations = decode_ids(preprocessor, found.tokens, found.attention, texts)
    return {
        "translations": ["" if blank else text for blank, text in zip(empty, translations)],
        "tokens": found.tokens,
        "scores": np.where(empty, 0.0, found.scores),
        "log_probs": np.where(empty, 0.0, found.log_probs),
        "attention": found.attention,
        "source_ids": source_ids,
        **details,
    }


def attention_results(
    source_ids, tokens, weights, translations, source_vocabulary, target_vocabulary
) -> list[dict]:
    """One dict per sentence of `Translator.attention`: its source and target tokens (up to
    `</s>`), the weights (T, S) between them and the translation."""
    results = []
    for source_row, target_row, matrix, text in zip(source_ids, tokens, weights, translations):
        source = [int(i) for i in source_row if i != PAD_ID]
        target = []
        for token in target_row:
            if token == PAD_ID:
                break
            target.append(int(token))
            if token == EOS_ID:
                break
        results.append(
            {
                "source_tokens": [source_vocabulary[i] for i in source],
                "target_tokens": [target_vocabulary[i] for i in target],
                "weights": np.asarray(matrix[: len(target), : len(source)], dtype="float32"),
                "translation": text,
            }
        )
    return results
