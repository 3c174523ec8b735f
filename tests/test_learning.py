"""A small model learns a task that needs attention: reversing sequences."""

import keras
import numpy as np
import pytest

import kseq2seq
from kseq2seq.datasets.synthetic import reversal_task

NUM_SYMBOLS = 20
VOCAB = NUM_SYMBOLS + 4


def _train_and_decode(attention, epochs=10):
    train = reversal_task(4000, num_symbols=NUM_SYMBOLS, min_length=10, max_length=20, seed=1)
    test = reversal_task(200, num_symbols=NUM_SYMBOLS, min_length=10, max_length=20, seed=2)
    keras.utils.set_random_seed(0)  # the same initial weights on every run
    model = kseq2seq.build_model(
        source_vocab_size=VOCAB,
        target_vocab_size=VOCAB,
        embedding_dim=32,
        units=64,
        attention=attention,
    )
    kseq2seq.compile_model(model, learning_rate=3e-3)
    model.fit(
        {"source": train["source"], "target_in": train["target_in"]},
        train["target_out"],
        batch_size=64,
        epochs=epochs,
        verbose=0,
    )
    tokens, _, weights = kseq2seq.greedy_decode(model, test["source"], max_length=22)
    exact = [
        tokens.shape[1] > length
        and np.array_equal(tokens[row, : length + 1], test["target_out"][row, : length + 1])
        for row, length in enumerate(test["lengths"])
    ]
    return model, test, float(np.mean(exact)), weights


@pytest.mark.slow
@pytest.mark.parametrize("attention, exact_argmax", [("luong_general", 0.9), ("bahdanau", 0.3)])
def test_attention_learns_to_reverse_and_aligns_on_the_anti_diagonal(attention, exact_argmax):
    _, test, exact_match, weights = _train_and_decode(attention)
    assert exact_match >= 0.95, exact_match
    # Output position t copies source position n - 1 - t: the attention's
    # argmax should sit on that anti-diagonal (Bahdanau's, computed from the
    # previous state, often shares its weight with the neighbour it has just
    # copied), and nearly all the weight lies within one position of it.
    on_diagonal, near_diagonal, band_mass = [], [], []
    for row, length in enumerate(test["lengths"]):
        expected = length - 1 - np.arange(length)
        rows = weights[row, :length, :length]
        on_diagonal.append(rows.argmax(-1) == expected)
        near_diagonal.append(np.abs(rows.argmax(-1) - expected) <= 1)
        band = np.abs(np.arange(length)[None, :] - expected[:, None]) <= 1
        band_mass.append((rows * band).sum(-1))
    assert np.mean(np.concatenate(on_diagonal)) >= exact_argmax
    assert np.mean(np.concatenate(near_diagonal)) >= 0.97
    assert np.mean(np.concatenate(band_mass)) >= 0.8


@pytest.mark.slow
def test_without_attention_the_same_model_does_clearly_worse():
    _, _, exact_match, _ = _train_and_decode(None)
    assert exact_match <= 0.5, exact_match
