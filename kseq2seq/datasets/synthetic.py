"""Synthetic transduction tasks whose right alignments are known.

Reversing a sequence of symbols needs attention once the sequences grow longer than a
fixed-size context can hold: output position t copies source position n - 1 - t, so the ideal
attention matrix is the anti-diagonal.
"""

from __future__ import annotations

import numpy as np

from kseq2seq.special_tokens import BOS_ID, EOS_ID, PAD_ID

FIRST_SYMBOL = 4  # ids 0-3 are <pad>, <unk>, <s>, </s>


def reversal_task(
    num_examples: int,
    num_symbols: int = 20,
    min_length: int = 10,
    max_length: int = 20,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Random symbol sequences and their reversals, as padded id arrays.

    Returns:
        A dict with `source` (N, max_length), `target_in` (N, max_length + 1) starting with
        `<s>`, `target_out` (N, max_length + 1) ending with `</s>`, and `lengths` (N,); 0 pads.
        The vocabulary size of both sides is `num_symbols + 4`.
    """
    if min_length < 1 or max_length < min_length:
        raise ValueError(
            f"Need 1 <= min_length <= max_length. Received: {min_length}, {max_length}"
        )
    rng = np.random.default_rng(seed)
    lengths = rng.integers(min_length, max_length + 1, size=num_examples)
    source = np.full((num_examples, max_length), PAD_ID, dtype="int32")
    target_in = np.full((num_examples, max_length + 1), PAD_ID, dtype="int32")
    target_out = np.full((num_examples, max_length + 1), PAD_ID, dtype="int32")
    target_in[:, 0] = BOS_ID
    for row, length in enumerate(lengths):
        symbols = rng.integers(FIRST_SYMBOL, FIRST_SYMBOL + num_symbols, size=length)
        source[row, :length] = symbols
        target_in[row, 1 : length + 1] = target_out[row, :length] = symbols[::-1]
        target_out[row, length] = EOS_ID
    return {
        "source": source,
        "target_in": target_in,
        "target_out": target_out,
        "lengths": lengths.astype("int32"),
    }
