"""Corpus BLEU and chrF on detokenised text (sacrebleu), and a BLEU callback."""

from __future__ import annotations

from collections.abc import Sequence

import keras


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU (0-100) of sacrebleu with its default 13a tokenisation."""
    import sacrebleu

    _check(hypotheses, references)
    return float(sacrebleu.corpus_bleu(list(hypotheses), [list(references)]).score)


def corpus_chrf(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus chrF (0-100) of sacrebleu."""
    import sacrebleu

    _check(hypotheses, references)
    return float(sacrebleu.corpus_chrf(list(hypotheses), [list(references)]).score)


def _check(hypotheses, references):
    if len(hypotheses) != len(references):
        raise ValueError(
            f"{len(hypotheses)} hypotheses but {len(references)} references: they must pair up"
        )


class BleuCallback(keras.callbacks.Callback):
    """Translates a fixed sample of pairs after each epoch and logs `val_bleu`.

    The value lands in the epoch's `logs`, so `EarlyStopping`,
    `ModelCheckpoint` and keras-tuner can monitor `"val_bleu"` (maximised).

    Args:
        translator: the `kseq2seq.Translator` being trained.
        pairs: `(source, reference)` pairs, e.g. the first 200 validation pairs.
        every: translate every this many epochs.
        verbose: print the score.
    """

    def __init__(self, translator, pairs: Sequence[tuple[str, str]], every: int = 1, verbose=1):
        super().__init__()
        if not pairs:
            raise ValueError("BleuCallback needs at least one (source, reference) pair")
        self.translator = translator
        self.sources = [source for source, _ in pairs]
        self.references = [reference for _, reference in pairs]
        self.every = every
        self.verbose = verbose

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or (epoch + 1) % self.every:
            return
        hypotheses = self.translator.translate(self.sources)
        logs["val_bleu"] = corpus_bleu(hypotheses, self.references)
        if self.verbose:
            print(f" - val_bleu: {logs['val_bleu']:.2f}")
